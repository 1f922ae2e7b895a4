import AnkerCrypto
import Testing

@Suite("AEAD.Key.combining")
struct CombiningTests {
  @Test("is deterministic, depends on every key and on their order")
  func combining() throws {
    var random = SeededRandom(seed: 5)
    let a = AEAD.Key(using: &random)
    let b = AEAD.Key(using: &random)
    let c = AEAD.Key(using: &random)
    let ab = AEAD.Key.combining([a, b])
    #expect(ab.constantTimeEquals(AEAD.Key.combining([a, b])))
    #expect(!ab.constantTimeEquals(AEAD.Key.combining([b, a])))
    #expect(!ab.constantTimeEquals(AEAD.Key.combining([a, c])))
    #expect(!ab.constantTimeEquals(AEAD.Key.combining([a, b, c])))
    #expect(!ab.constantTimeEquals(a) && !ab.constantTimeEquals(b))
  }

  @Test("equals keyed BLAKE2b-256 over the context and the other keys")
  func matchesDefinition() throws {
    let first = try AEAD.Key(SecureBytes(copying: [UInt8](repeating: 1, count: 32)))
    let second = try AEAD.Key(SecureBytes(copying: [UInt8](repeating: 2, count: 32)))
    let expected = BLAKE2b.hash(
      Array("anker combined key v1".utf8) + [0] + [UInt8](repeating: 2, count: 32),
      outputLength: 32, key: [UInt8](repeating: 1, count: 32))
    let combined = AEAD.Key.combining([first, second])
    let nonce = [UInt8](repeating: 0, count: 24)
    let viaCombined = AEAD.seal([7], key: combined, nonce: nonce)
    let viaExpected = AEAD.seal(
      [7], key: try AEAD.Key(SecureBytes(copying: expected)), nonce: nonce)
    #expect(viaCombined == viaExpected)
  }
}
