import AnkerCrypto
import Testing

@Suite("Signing: Ed25519 sign and verify")
struct SigningTests {
  static let message = Array("genesis entry 1".utf8)

  @Test("a signature verifies over its message, at many message lengths")
  func roundTrip() {
    var random = SeededRandom(seed: 40)
    let key = Signing.PrivateKey(using: &random)
    for length in [0, 1, 31, 32, 33, 64, 127, 128, 129, 1000, 10_000] {
      let message = random.bytes(length)
      let signature = key.signature(for: message)
      #expect(signature.count == Signing.signatureCount)
      #expect(key.publicKey.isValidSignature(signature, for: message), "length \(length)")
    }
  }

  @Test("signing is deterministic and independent of how the message is held")
  func deterministic() {
    var random = SeededRandom(seed: 41)
    let key = Signing.PrivateKey(using: &random)
    let signature = key.signature(for: Self.message)
    #expect(key.signature(for: Self.message) == signature)
    let padded = [0xAA] + Self.message + [0xBB]
    #expect(key.signature(for: padded.dropFirst().dropLast()) == signature)
    #expect(Self.message.withUnsafeBytes { key.signature(for: $0) } == signature)
    #expect(key.signature(for: Self.message + [0]) != signature)
  }

  @Test("a signature does not verify over another message")
  func wrongMessage() {
    let key = Signing.PrivateKey()
    let signature = key.signature(for: Self.message)
    var others: [[UInt8]] = [[], Self.message + [0], Array(Self.message.dropLast())]
    for bit in 0..<(Self.message.count * 8) { others.append(flipping(Self.message, bit: bit)) }
    let accepted = others.filter { key.publicKey.isValidSignature(signature, for: $0) }
    #expect(accepted.isEmpty)
  }

  @Test("every single flipped bit of the signature is rejected")
  func flippedSignature() {
    var random = SeededRandom(seed: 42)
    let key = Signing.PrivateKey(using: &random)
    let signature = key.signature(for: Self.message)
    let accepted = (0..<(signature.count * 8)).filter { bit in
      key.publicKey.isValidSignature(flipping(signature, bit: bit), for: Self.message)
    }
    #expect(accepted.isEmpty)
  }

  @Test("a malleated signature (S + L) is rejected")
  func malleability() throws {
    var random = SeededRandom(seed: 43)
    let key = Signing.PrivateKey(using: &random)
    let signature = key.signature(for: Self.message)
    // L, the order of the base point, little-endian.
    let order = try unhex("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010")
    var malleated = signature
    var carry = 0
    for index in 0..<32 {
      let sum = Int(signature[32 + index]) + Int(order[index]) + carry
      malleated[32 + index] = UInt8(sum & 0xff)
      carry = sum >> 8
    }
    #expect(carry == 0)
    #expect(malleated != signature)
    #expect(!key.publicKey.isValidSignature(malleated, for: Self.message))
  }

  @Test("another key's public key rejects the signature")
  func wrongKey() {
    var random = SeededRandom(seed: 44)
    let key = Signing.PrivateKey(using: &random)
    let other = Signing.PrivateKey(using: &random)
    let signature = key.signature(for: Self.message)
    #expect(other.publicKey != key.publicKey)
    #expect(!other.publicKey.isValidSignature(signature, for: Self.message))
    #expect(other.publicKey.isValidSignature(other.signature(for: Self.message), for: Self.message))
  }

  @Test("signatures of the wrong length are rejected", arguments: [0, 1, 63, 65, 128])
  func wrongLength(length: Int) {
    let key = Signing.PrivateKey()
    let signature = key.signature(for: Self.message)
    let resized = Array((signature + signature).prefix(length))
    #expect(!key.publicKey.isValidSignature(resized, for: Self.message))
  }

  @Test("an all-zero public key or signature verifies nothing")
  func degenerate() throws {
    let zeroKey = try #require(Signing.PublicKey([UInt8](repeating: 0, count: 32)))
    let zeroSignature = [UInt8](repeating: 0, count: 64)
    #expect(!zeroKey.isValidSignature(zeroSignature, for: Self.message))
    #expect(!zeroKey.isValidSignature(zeroSignature, for: [UInt8]()))
    let key = Signing.PrivateKey()
    #expect(!key.publicKey.isValidSignature(zeroSignature, for: Self.message))
  }

  @Test("a key rebuilt from its seed is the same key")
  func seedRoundTrip() {
    var random = SeededRandom(seed: 45)
    let key = Signing.PrivateKey(using: &random)
    let seed = key.seed
    #expect(seed.count == Signing.seedCount)
    let rebuilt = Signing.PrivateKey(seed: seed)
    #expect(rebuilt.publicKey == key.publicKey)
    #expect(rebuilt.signature(for: Self.message) == key.signature(for: Self.message))
    var again = SeededRandom(seed: 45)
    #expect(same(SecureBytes(randomCount: 32, using: &again), seed))
  }

  @Test("fresh keys differ")
  func freshKeys() {
    #expect(Signing.PrivateKey().publicKey != Signing.PrivateKey().publicKey)
  }

  @Test("public keys read exactly 32 bytes and order by their bytes")
  func publicKeys() throws {
    #expect(Signing.PublicKey([UInt8](repeating: 7, count: 31)) == nil)
    #expect(Signing.PublicKey([UInt8](repeating: 7, count: 33)) == nil)
    #expect(Signing.PublicKey([UInt8]()) == nil)
    let a = try #require(Signing.PublicKey([UInt8](repeating: 7, count: 31) + [8]))
    let b = try #require(Signing.PublicKey([UInt8](repeating: 7, count: 31) + [9]))
    #expect(a < b)
    #expect(Signing.PublicKey(a.digest) == a)
    #expect(a.description == String(repeating: "07", count: 31) + "08")
  }

  @Test("fingerprints are five groups of four lower-case hex digits")
  func fingerprintShape() {
    var random = SeededRandom(seed: 46)
    for _ in 0..<20 {
      let key = Signing.PrivateKey(using: &random).publicKey
      let groups = key.fingerprint.split(separator: "-", omittingEmptySubsequences: false)
      #expect(groups.count == 5)
      #expect(groups.allSatisfy { $0.count == 4 })
      #expect(key.fingerprint.allSatisfy { "0123456789abcdef-".contains($0) })
      let expected = Hex.encode(BLAKE2b.hash(key.bytes).prefix(10))
      #expect(key.fingerprint.replacing("-", with: "") == expected)
    }
  }
}
