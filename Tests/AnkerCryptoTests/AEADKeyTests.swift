import AnkerCrypto
import Testing

@Suite("AEAD.Key: construction and subkey derivation")
struct AEADKeyTests {
  /// crypto_kdf_derive_from_key is BLAKE2b keyed with the master key, salt = id (64-bit
  /// little-endian) ‖ 8 zero bytes, personal = context ‖ 8 zero bytes. Computed independently
  /// with Python's hashlib.blake2b(key=, salt=, person=), master key = bytes 0...31.
  static let kdfVectors: [(id: UInt64, subkey: String)] = [
    (0, "d059f5fa62c7faf3380b6a035e6f4eaba1f79ccf4e90134f50976f6f481bac6b"),
    (1, "8683d11b3026d38598a68a8ca44d51ed021074504ac89d5f55ef5772a690cefb"),
    (.max, "624bb532ec49613ce2b244089c00eee4908d98b66746b6feed815789f4c1ed15"),
  ]

  @Test("derive matches crypto_kdf_derive_from_key computed independently")
  func deriveKnownAnswers() throws {
    let master = try AEAD.Key(SecureBytes(copying: Array(0..<32)))
    for vector in Self.kdfVectors {
      let subkey = master.derive(context: "ankertst", id: vector.id)
      #expect(holds(subkey.secret, try unhex(vector.subkey)), "id \(vector.id)")
    }
  }

  @Test("equal master, context and id give equal subkeys")
  func deriveIsDeterministic() {
    var random = SeededRandom(seed: 10)
    let master = AEAD.Key(using: &random)
    let copy = try? AEAD.Key(SecureBytes(copying: master.secret.unsafeCopy()))
    for id: UInt64 in [0, 1, 2, 1 << 40, .max] {
      let a = master.derive(context: "ankerctx", id: id)
      let b = master.derive(context: "ankerctx", id: id)
      #expect(a.constantTimeEquals(b))
      if let copy { #expect(copy.derive(context: "ankerctx", id: id).constantTimeEquals(a)) }
    }
    #expect(copy != nil)
  }

  @Test("distinct ids, contexts and masters give pairwise distinct subkeys")
  func deriveSeparates() {
    var random = SeededRandom(seed: 11)
    let master = AEAD.Key(using: &random)
    let otherMaster = AEAD.Key(using: &random)
    var subkeys = [AEAD.Key]()
    for id: UInt64 in [0, 1, 2, 3, 255, 256, 1 << 32, .max] {
      subkeys.append(master.derive(context: "ankerctx", id: id))
      subkeys.append(master.derive(context: "ankerctX", id: id))
      subkeys.append(master.derive(context: "otherctx", id: id))
      subkeys.append(otherMaster.derive(context: "ankerctx", id: id))
    }
    subkeys.append(master)
    subkeys.append(otherMaster)
    var collisions = 0
    for i in subkeys.indices {
      for j in subkeys.indices where i < j && subkeys[i].constantTimeEquals(subkeys[j]) {
        collisions += 1
      }
    }
    #expect(subkeys.count == 34)
    #expect(collisions == 0)
  }

  @Test("a key adopts exactly 32 bytes", arguments: [1, 16, 31, 33, 64])
  func wrongLengthIsRejected(length: Int) {
    let error = cryptoError { try AEAD.Key(SecureBytes(count: length)) }
    #expect(error?.code == .invalidKey)
    #expect(error?.message == "a symmetric key is 32 bytes")
  }

  @Test("an adopted key encrypts like the bytes it was given")
  func adoptedKey() throws {
    let bytes: [UInt8] = Array(100..<132)
    let a = try AEAD.Key(SecureBytes(copying: bytes))
    let b = try AEAD.Key(SecureBytes(copying: bytes))
    #expect(a.constantTimeEquals(b))
    #expect(holds(a.secret, bytes))
    let nonce = [UInt8](repeating: 9, count: AEAD.nonceCount)
    let sealed = AEAD.seal([1, 2, 3], key: a, nonce: nonce)
    #expect(try AEAD.open(sealed, key: b, nonce: nonce) == [1, 2, 3])
  }

  @Test("keys from the same seeded source are equal; from different seeds or the OS, differ")
  func generation() {
    var first = SeededRandom(seed: 12)
    var second = SeededRandom(seed: 12)
    var third = SeededRandom(seed: 13)
    let a = AEAD.Key(using: &first)
    #expect(a.constantTimeEquals(AEAD.Key(using: &second)))
    #expect(!a.constantTimeEquals(AEAD.Key(using: &third)))
    #expect(!a.constantTimeEquals(AEAD.Key(using: &first)))
    #expect(!AEAD.Key().constantTimeEquals(AEAD.Key()))
    #expect(AEAD.Key().secret.count == AEAD.keyCount)
  }
}
