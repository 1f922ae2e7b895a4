import AnkerCrypto
import Testing

@Suite("Digest256")
struct Digest256Tests {
  /// Random pairs that often share a prefix, so every word of the comparison is exercised.
  static func pairs(count: Int, seed: UInt64) -> [([UInt8], [UInt8])] {
    var random = SeededRandom(seed: seed)
    var out = [([UInt8], [UInt8])]()
    for _ in 0..<count {
      let a = random.bytes(32)
      var b = random.bytes(32)
      let shared = random.next(below: 33)
      b.replaceSubrange(0..<shared, with: a[0..<shared])
      out.append((a, b))
    }
    return out
  }

  @Test("order is the lexicographic order of the bytes, over many random pairs")
  func ordering() throws {
    var mismatches = 0
    for (a, b) in Self.pairs(count: 5000, seed: 70) {
      let x = try #require(Digest256(a))
      let y = try #require(Digest256(b))
      if (x < y) != a.lexicographicallyPrecedes(b) || (y < x) != b.lexicographicallyPrecedes(a)
        || (x == y) != (a == b)
      {
        mismatches += 1
      }
    }
    #expect(mismatches == 0)
  }

  @Test("sorting digests sorts their bytes")
  func sorting() throws {
    var random = SeededRandom(seed: 71)
    var byteStrings = (0..<500).map { _ in random.bytes(32) }
    // Add near-duplicates that differ only in the last byte or in one middle byte.
    byteStrings += byteStrings.prefix(50).map { Array($0.dropLast()) + [$0[31] &+ 1] }
    byteStrings += byteStrings.prefix(50).map { bytes -> [UInt8] in
      var copy = bytes
      copy[13] ^= 0x80
      return copy
    }
    let digests = try byteStrings.map { try #require(Digest256($0)) }
    let sortedDigests = digests.sorted().map(\.bytes)
    let sortedBytes = byteStrings.sorted { $0.lexicographicallyPrecedes($1) }
    #expect(sortedDigests == sortedBytes)
  }

  @Test("high bytes compare as unsigned")
  func unsignedOrder() throws {
    let low = try #require(Digest256([0x7f] + [UInt8](repeating: 0xff, count: 31)))
    let high = try #require(Digest256([0x80] + [UInt8](repeating: 0, count: 31)))
    #expect(low < high)
    #expect(Digest256.zero < low)
    let lastWordLow = try #require(Digest256([UInt8](repeating: 0, count: 31) + [0x7f]))
    let lastWordHigh = try #require(Digest256([UInt8](repeating: 0, count: 31) + [0xff]))
    #expect(lastWordLow < lastWordHigh)
  }

  @Test("bytes, hex and raw-buffer construction agree and round-trip")
  func construction() throws {
    for (bytes, _) in Self.pairs(count: 200, seed: 72) {
      let digest = try #require(Digest256(bytes))
      #expect(digest.bytes == bytes)
      #expect(digest.hex == Hex.encode(bytes))
      #expect(digest.description == digest.hex)
      #expect(digest.short == String(digest.hex.prefix(8)))
      #expect(Digest256(hex: digest.hex) == digest)
      #expect(Digest256(hex: digest.hex.uppercased()) == digest)
      #expect(bytes.withUnsafeBytes { Digest256(unsafeBytes: $0) } == digest)
      #expect(Digest256(bytes[...]) == digest)
      // A collection without contiguous storage takes the byte-by-byte path.
      #expect(Digest256(bytes.lazy.map { $0 }) == digest)
      var out: [UInt8] = [9]
      digest.appendBytes(to: &out)
      #expect(out == [9] + bytes)
    }
  }

  @Test("wrong lengths and bad hex give nil")
  func invalid() {
    #expect(Digest256([UInt8](repeating: 0, count: 31)) == nil)
    #expect(Digest256([UInt8](repeating: 0, count: 33)) == nil)
    #expect(Digest256([UInt8]()) == nil)
    #expect(Digest256(hex: String(repeating: "0", count: 62)) == nil)
    #expect(Digest256(hex: String(repeating: "0", count: 66)) == nil)
    #expect(Digest256(hex: String(repeating: "0", count: 63) + "g") == nil)
    #expect(Digest256.zero.bytes == [UInt8](repeating: 0, count: 32))
  }

  @Test("equal digests hash equally; distinct ones are distinct in a set")
  func hashing() throws {
    let pairs = Self.pairs(count: 300, seed: 73)
    let digests = try pairs.map { try #require(Digest256($0.0)) }
    let copies = try pairs.map { try #require(Digest256($0.0)) }
    #expect(Set(digests).count == 300)
    #expect(Set(digests + copies).count == 300)
    #expect(digests.map(\.hashValue) == copies.map(\.hashValue))
  }
}
