import AnkerCrypto
import Testing

@Suite("Random sources")
struct RandomSourceTests {
  /// Recomputed in Python from the documented construction: seed' = BLAKE2b-256(seed bytes);
  /// call n fills from randombytes_buf_deterministic(BLAKE2b-256(seed' ‖ n as u64 BE)).
  @Test("SeededRandom follows its documented construction")
  func knownAnswers() {
    var zero = SeededRandom(seed: 0)
    #expect(Hex.encode(zero.bytes(16)) == "a4f2ebe22d75fcf5481644c61d75154d")
    #expect(Hex.encode(zero.bytes(16)) == "2ecc81cd99ae9921cb4f2d7d61f44d37")
    var named = SeededRandom(seed: Array("anker".utf8))
    #expect(
      Hex.encode(named.bytes(32))
        == "bcaabf0a4d24e28a4f832fecd0b7aab3a5f74b4ddba41b75ea37a41c70f7238a")
  }

  @Test("the same seed gives the same bytes, call for call")
  func sameSeed() {
    for seed: UInt64 in [0, 1, 42, .max] {
      var a = SeededRandom(seed: seed)
      var b = SeededRandom(seed: seed)
      for length in [1, 7, 32, 100, 1000] {
        #expect(a.bytes(length) == b.bytes(length))
      }
      #expect(a.next(below: 1000) == b.next(below: 1000))
    }
  }

  @Test("a numeric seed is its eight big-endian bytes")
  func numericSeed() {
    var number = SeededRandom(seed: 0x0102_0304_0506_0708)
    var bytes = SeededRandom(seed: [1, 2, 3, 4, 5, 6, 7, 8])
    #expect(number.bytes(32) == bytes.bytes(32))
  }

  @Test("different seeds give different bytes")
  func differentSeeds() {
    let streams = (0..<200).map { seed -> [UInt8] in
      var random = SeededRandom(seed: UInt64(seed))
      return random.bytes(16)
    }
    #expect(Set(streams.map(Hex.encode)).count == 200)
    var empty = SeededRandom(seed: [UInt8]())
    var one = SeededRandom(seed: [0])
    #expect(empty.bytes(32) != one.bytes(32))
  }

  @Test("successive fills differ, and the output is not trivially structured")
  func successiveFills() {
    var random = SeededRandom(seed: 90)
    let first = random.bytes(64)
    let second = random.bytes(64)
    #expect(first != second)
    let big = random.bytes(4096)
    let distinct = Set(big).count
    #expect(distinct > 240)
    let ones = big.reduce(0) { $0 + $1.nonzeroBitCount }
    #expect(abs(ones - 4096 * 4) < 600)
  }

  @Test("next(below:) stays in range and reaches every value")
  func nextBelow() {
    var random = SeededRandom(seed: 91)
    var seen = Set<Int>()
    var outOfRange = 0
    for _ in 0..<2000 {
      let value = random.next(below: 10)
      if !(0..<10).contains(value) { outOfRange += 1 }
      seen.insert(value)
    }
    #expect(outOfRange == 0)
    #expect(seen.count == 10)
    #expect(random.next(below: 1) == 0)
  }

  @Test("empty fills are harmless and do not disturb determinism of later fills")
  func emptyFill() {
    var a = SeededRandom(seed: 92)
    var b = SeededRandom(seed: 92)
    #expect(a.bytes(0).isEmpty)
    #expect(b.bytes(0).isEmpty)
    #expect(a.bytes(8) == b.bytes(8))
  }

  @Test("the system generator does not repeat itself")
  func systemRandom() {
    var random = SystemRandom()
    let a = random.bytes(32)
    let b = random.bytes(32)
    #expect(a != b)
    #expect(a != [UInt8](repeating: 0, count: 32))
    #expect(random.bytes(0).isEmpty)
  }
}

@Suite("SecureBytes")
struct SecureBytesTests {
  @Test("a new buffer is zeroed and has the requested size")
  func zeroed() {
    let bytes = SecureBytes(count: 48)
    #expect(bytes.count == 48)
    #expect(holds(bytes, [UInt8](repeating: 0, count: 48)))
  }

  @Test("copying keeps the bytes and the length")
  func copying() {
    let source: [UInt8] = [3, 1, 4, 1, 5, 9, 2, 6]
    let bytes = SecureBytes(copying: source)
    #expect(bytes.count == source.count)
    #expect(holds(bytes, source))
    #expect(holds(SecureBytes(copying: source[2..<5]), [4, 1, 5]))
  }

  /// An empty passphrase is legal; the copy must not grow a byte it was never given.
  @Test("an empty collection copies to an empty secret")
  func copyingEmpty() {
    let empty = SecureBytes(copying: [UInt8]())
    #expect(empty.count == 0)
    #expect(holds(empty, []))
    #expect(empty.constantTimeEquals(SecureBytes(copying: [UInt8]())))
    #expect(!empty.constantTimeEquals(SecureBytes(copying: [0])))
  }

  @Test("random secrets follow their source")
  func random() {
    var a = SeededRandom(seed: 93)
    var b = SeededRandom(seed: 93)
    var c = SeededRandom(seed: 94)
    let first = SecureBytes(randomCount: 32, using: &a)
    #expect(same(first, SecureBytes(randomCount: 32, using: &b)))
    #expect(!same(first, SecureBytes(randomCount: 32, using: &c)))
  }

  @Test("constant-time equality sees every byte and the length")
  func equality() {
    let base: [UInt8] = Array(0..<32)
    let secret = SecureBytes(copying: base)
    #expect(secret.constantTimeEquals(SecureBytes(copying: base)))
    let missed = (0..<32).filter { index in
      var changed = base
      changed[index] ^= 0x01
      return secret.constantTimeEquals(SecureBytes(copying: changed))
    }
    #expect(missed.isEmpty)
    #expect(!secret.constantTimeEquals(SecureBytes(copying: base.dropLast())))
    #expect(!secret.constantTimeEquals(SecureBytes(copying: base + [0])))
  }
}
