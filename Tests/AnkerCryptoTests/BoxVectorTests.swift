import AnkerCrypto
import Testing

@Suite("X25519 and sealed boxes: known answers and interoperability")
struct BoxVectorTests {
  /// RFC 7748 section 6.1: a private scalar and its public key.
  struct X25519Vector: Sendable, CustomTestStringConvertible {
    let name: String
    let secretKey: String
    let publicKey: String
    var testDescription: String { name }

    static let all = [
      X25519Vector(
        name: "Alice",
        secretKey: "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
        publicKey: "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"),
      X25519Vector(
        name: "Bob",
        secretKey: "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
        publicKey: "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"),
    ]
  }

  @Test("a stored secret scalar gives the RFC 7748 public key", arguments: X25519Vector.all)
  func rfc7748(vector: X25519Vector) throws {
    let key = try Box.PrivateKey(secretKey: try secret(vector.secretKey))
    #expect(key.publicKey.description == vector.publicKey)
  }

  /// crypto_box_seed_keypair(bytes 0...31), computed with PyNaCl.
  @Test("a seed gives the same key pair as crypto_box_seed_keypair in PyNaCl")
  func seedKeyPair() {
    let key = Box.PrivateKey(seed: SecureBytes(copying: Array(0..<32)))
    #expect(
      key.publicKey.description
        == "4701d08488451f545a409fb58ae3e58581ca40ac3f7f114698cd71deac73ca01")
  }

  /// Made once with PyNaCl: `SealedBox(PrivateKey(sk).public_key).encrypt(message)`.
  @Test("a box sealed by PyNaCl opens")
  func pyNaClSealedBox() throws {
    let key = try Box.PrivateKey(
      secretKey: try secret("3ba0f39e71f52a9483f76eed2cfcf62210e388dbbf344bf9dce3f152f759a960"))
    #expect(
      key.publicKey.description
        == "a9c2b1eb911a8c5d27c8cd9c8a5ca26973d7f8569c5d040f5925da655b42600c")
    let sealed = try unhex(
      "6053a2638d29ecc59b12b727936e5be7eeeb2c16da8df6b728cb1ae6b4c26455",
      "b562d55c7d44e214812b4834d6af3d5c8db71f142a9cb8158f17e09fb9c14eb1",
      "f6dff00726344a6063a83e20813f2490")
    let opened = try Box.open(sealed, with: key)
    #expect(opened.count == 32)
    #expect(holds(opened, Array("sealed by PyNaCl for AnkerCrypto".utf8)))
    #expect(throws: authenticationFailed) {
      try Box.open(flipping(sealed, bit: 400), with: key)
    }
  }

  /// The deterministic seal, recomputed independently in Python: SeededRandom(seed: 7)'s first
  /// 32 bytes (BLAKE2b + randombytes_buf_deterministic) seed the ephemeral key pair; nonce =
  /// BLAKE2b-192(epk ‖ pk); output epk ‖ crypto_box(message); it opens with PyNaCl's
  /// crypto_box_seal_open. Recipient: the key pair of seed 0...31.
  @Test("the deterministic seal matches an independent computation")
  func deterministicSealVector() throws {
    let recipient = Box.PrivateKey(seed: SecureBytes(copying: Array(0..<32)))
    let message = SecureBytes(copying: Array("deterministic sealed box".utf8))
    var random = SeededRandom(seed: 7)
    let sealed = Box.seal(message, to: recipient.publicKey, using: &random)
    #expect(
      Hex.encode(sealed)
        == "2de7dd97da99c7a9ae4a84a97544548c320bdc1d60e0538a550cfef05678a044"
        + "77b645ea27dd3270ba5795708fcf11a9bc8903c80ac0098a5c0c9c6b4f702fa0"
        + "f9346165d410f31b")
    #expect(same(try Box.open(sealed, with: recipient), message))
  }
}
