import AnkerCrypto
import Testing

/// draft-irtf-cfrg-xchacha-03, appendix A.3.1: AEAD_XChaCha20_Poly1305.
@Suite("XChaCha20-Poly1305 known answer (draft-irtf-cfrg-xchacha A.3.1)")
struct AEADVectorTests {
  static let plaintext = Array(
    ("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the "
      + "future, sunscreen would be it.").utf8)
  static let keyHex = "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
  static let nonceHex = "404142434445464748494a4b4c4d4e4f5051525354555657"
  static let aadHex = "50515253c0c1c2c3c4c5c6c7"
  static let ciphertextHex = [
    "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb",
    "731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452",
    "2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9",
    "21f9664c97637da9768812f615c68b13b52e",
  ]
  static let tagHex = "c0875924c1c7987947deafd8780acf49"

  func key() throws -> AEAD.Key { try AEAD.Key(try secret(Self.keyHex)) }

  @Test("the plaintext is the 114-byte sentence of the draft")
  func plaintextLength() throws {
    #expect(Self.plaintext.count == 114)
    #expect(try unhex(Self.ciphertextHex.joined()).count == 114)
  }

  @Test("seal gives the published ciphertext and tag")
  func seal() throws {
    let sealed = AEAD.seal(
      Self.plaintext, key: try key(), nonce: try unhex(Self.nonceHex),
      associatedData: try unhex(Self.aadHex))
    #expect(Hex.encode(sealed.dropLast(AEAD.tagCount)) == Self.ciphertextHex.joined())
    #expect(Hex.encode(sealed.suffix(AEAD.tagCount)) == Self.tagHex)
  }

  @Test("open recovers the published plaintext")
  func open() throws {
    let sealed = try unhex(Self.ciphertextHex.joined(), Self.tagHex)
    let opened = try AEAD.open(
      sealed, key: try key(), nonce: try unhex(Self.nonceHex),
      associatedData: try unhex(Self.aadHex))
    #expect(opened == Self.plaintext)
  }

  @Test("openSecret recovers the published plaintext into secure memory")
  func openSecret() throws {
    let sealed = try unhex(Self.ciphertextHex.joined(), Self.tagHex)
    let opened = try AEAD.openSecret(
      sealed, key: try key(), nonce: try unhex(Self.nonceHex),
      associatedData: try unhex(Self.aadHex))
    #expect(opened.count == Self.plaintext.count)
    #expect(holds(opened, Self.plaintext))
  }

  @Test("the published ciphertext does not open without its associated data")
  func aadIsBound() throws {
    let sealed = try unhex(Self.ciphertextHex.joined(), Self.tagHex)
    let key = try key()
    let nonce = try unhex(Self.nonceHex)
    #expect(throws: authenticationFailed) { try AEAD.open(sealed, key: key, nonce: nonce) }
  }
}
