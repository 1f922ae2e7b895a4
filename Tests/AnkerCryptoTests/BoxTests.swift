import AnkerCrypto
import Testing

@Suite("Box: sealed boxes to X25519 keys")
struct BoxTests {
  @Test("seal then open round-trips at many lengths; the overhead is 48 bytes")
  func roundTrip() throws {
    var random = SeededRandom(seed: 30)
    let recipient = Box.PrivateKey(using: &random)
    #expect(Box.sealOverhead == 48)
    for length in [1, 2, 15, 16, 17, 31, 32, 33, 64, 100, 1000] {
      let message = SecureBytes(randomCount: length, using: &random)
      let sealed = Box.seal(message, to: recipient.publicKey)
      #expect(sealed.count == length + Box.sealOverhead)
      #expect(same(try Box.open(sealed, with: recipient), message), "length \(length)")
    }
  }

  @Test("an empty message seals to 48 bytes and opens to an empty message")
  func emptyMessage() throws {
    var random = SeededRandom(seed: 38)
    let recipient = Box.PrivateKey(using: &random)
    let empty = SecureBytes(copying: [UInt8]())
    let sealed = Box.seal(empty, to: recipient.publicKey)
    #expect(sealed.count == Box.sealOverhead)
    #expect(try Box.open(sealed, with: recipient).count == 0)
    var seeded = SeededRandom(seed: 39)
    let deterministic = Box.seal(empty, to: recipient.publicKey, using: &seeded)
    #expect(try Box.open(deterministic, with: recipient).count == 0)
    #expect(throws: authenticationFailed) {
      try Box.open(Array(sealed.dropLast()), with: recipient)
    }
  }

  @Test("sealing twice gives different boxes (a fresh ephemeral key each time)")
  func sealIsRandomised() throws {
    let recipient = Box.PrivateKey()
    let message = SecureBytes(copying: Array("same message".utf8))
    let first = Box.seal(message, to: recipient.publicKey)
    let second = Box.seal(message, to: recipient.publicKey)
    #expect(first != second)
    #expect(Array(first.prefix(32)) != Array(second.prefix(32)))
    #expect(same(try Box.open(second, with: recipient), message))
  }

  @Test("the wrong recipient key fails opaquely")
  func wrongKey() {
    var random = SeededRandom(seed: 31)
    let recipient = Box.PrivateKey(using: &random)
    let other = Box.PrivateKey(using: &random)
    let sealed = Box.seal(SecureBytes(randomCount: 32, using: &random), to: recipient.publicKey)
    #expect(throws: authenticationFailed) { try Box.open(sealed, with: other) }
  }

  @Test("every flipped bit, every truncation and an extension fail opaquely")
  func tampering() {
    var random = SeededRandom(seed: 32)
    let recipient = Box.PrivateKey(using: &random)
    let sealed = Box.seal(SecureBytes(randomCount: 16, using: &random), to: recipient.publicKey)
    var accepted = [String]()
    var otherErrors = 0
    func attempt(_ label: String, _ bytes: [UInt8]) {
      let error = cryptoError { try Box.open(bytes, with: recipient) }
      if error == nil {
        accepted.append(label)
      } else if error != authenticationFailed {
        otherErrors += 1
      }
    }
    for bit in 0..<(sealed.count * 8) { attempt("bit \(bit)", flipping(sealed, bit: bit)) }
    for length in 0..<sealed.count { attempt("length \(length)", Array(sealed.prefix(length))) }
    attempt("extended", sealed + [0])
    attempt("ephemeral key zeroed", [UInt8](repeating: 0, count: 32) + sealed.dropFirst(32))
    #expect(accepted.isEmpty)
    #expect(otherErrors == 0)
  }

  @Test("the deterministic seal opens, repeats for the same seed and differs for another")
  func deterministicSeal() throws {
    var random = SeededRandom(seed: 33)
    let recipient = Box.PrivateKey(using: &random)
    let message = SecureBytes(randomCount: 40, using: &random)
    var first = SeededRandom(seed: 34)
    var again = SeededRandom(seed: 34)
    var other = SeededRandom(seed: 35)
    let a = Box.seal(message, to: recipient.publicKey, using: &first)
    let b = Box.seal(message, to: recipient.publicKey, using: &again)
    let c = Box.seal(message, to: recipient.publicKey, using: &other)
    let d = Box.seal(message, to: recipient.publicKey, using: &first)
    #expect(a.count == message.count + Box.sealOverhead)
    #expect(a == b)
    #expect(a != c)
    #expect(a != d)
    for sealed in [a, c, d] {
      #expect(same(try Box.open(sealed, with: recipient), message))
    }
    let stranger = Box.PrivateKey(using: &random)
    #expect(throws: authenticationFailed) { try Box.open(a, with: stranger) }
  }

  @Test("a key pair rebuilt from its secret scalar opens what was sealed to the original")
  func rebuiltKey() throws {
    var random = SeededRandom(seed: 36)
    let original = Box.PrivateKey(using: &random)
    let rebuilt = try Box.PrivateKey(secretKey: original.secret)
    #expect(rebuilt.publicKey == original.publicKey)
    let message = SecureBytes(randomCount: 32, using: &random)
    let sealed = Box.seal(message, to: original.publicKey)
    #expect(same(try Box.open(sealed, with: rebuilt), message))
  }

  @Test("key pairs are deterministic in their seed and differ between seeds")
  func keyGeneration() {
    var a = SeededRandom(seed: 37)
    var b = SeededRandom(seed: 37)
    let first = Box.PrivateKey(using: &a)
    #expect(first.publicKey == Box.PrivateKey(using: &b).publicKey)
    #expect(first.publicKey != Box.PrivateKey(using: &a).publicKey)
    #expect(Box.PrivateKey().publicKey != Box.PrivateKey().publicKey)
  }

  @Test("a secret scalar must be 32 bytes", arguments: [1, 31, 33, 64])
  func wrongSecretLength(length: Int) {
    let error = cryptoError { try Box.PrivateKey(secretKey: SecureBytes(count: length)) }
    #expect(error?.code == .invalidKey)
  }

  @Test("public keys read exactly 32 bytes, print as hex and order by their bytes")
  func publicKeys() throws {
    #expect(Box.PublicKey([UInt8](repeating: 1, count: 31)) == nil)
    #expect(Box.PublicKey([UInt8](repeating: 1, count: 33)) == nil)
    let low = try #require(Box.PublicKey([0] + [UInt8](repeating: 0xff, count: 31)))
    let high = try #require(Box.PublicKey([1] + [UInt8](repeating: 0, count: 31)))
    #expect(low < high)
    #expect(high.description == "01" + String(repeating: "00", count: 31))
    #expect(Box.PublicKey(high.digest) == high)
    #expect(high.bytes == [1] + [UInt8](repeating: 0, count: 31))
  }
}
