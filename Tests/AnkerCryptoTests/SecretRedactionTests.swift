import AnkerCrypto
import Testing

/// Secrets must not appear in text made by accident: `print`, string interpolation, `dump`,
/// a debugger's `po`, or a failing `#expect` that shows a value.
@Suite("Secret types do not reveal their bytes")
struct SecretRedactionTests {
  /// A check that can fail: the detector must see secrets shown in every form it looks for.
  @Test("the leak detector sees hex, array literals and dump listings")
  func detectorWorks() {
    struct Leaky { let inner = [UInt8](0..<20) }
    let secret = [UInt8](0..<20)
    #expect(reveals("key=" + Hex.encode(secret), secret))
    #expect(reveals(Hex.encode(secret).uppercased(), secret))
    #expect(reveals(String(describing: secret), secret))
    var dumped = ""
    dump(Leaky(), to: &dumped)
    #expect(reveals(dumped, secret))
    #expect(accidentalRenderings(of: Leaky()).allSatisfy { reveals($0, secret) })
    #expect(!reveals(Hex.encode(secret.dropLast()), secret))
  }

  @Test("SecureBytes")
  func secureBytes() {
    var random = SeededRandom(seed: 100)
    let bytes = random.bytes(32)
    let secret = SecureBytes(copying: bytes)
    let leaks = accidentalRenderings(of: secret).count(where: { reveals($0, bytes) })
    #expect(leaks == 0)
    #expect(Mirror(reflecting: secret).children.isEmpty)
  }

  @Test("AEAD.Key")
  func aeadKey() {
    var random = SeededRandom(seed: 101)
    let key = AEAD.Key(using: &random)
    let bytes = key.secret.unsafeCopy()
    let leaks = accidentalRenderings(of: key).count(where: { reveals($0, bytes) })
    #expect(leaks == 0)
    #expect(Mirror(reflecting: key).children.isEmpty)
    let derived = key.derive(context: "redacted", id: 1)
    let derivedLeaks = accidentalRenderings(of: derived).count {
      reveals($0, derived.secret.unsafeCopy())
    }
    #expect(derivedLeaks == 0)
  }

  @Test("Signing.PrivateKey shows its public key at most, never its seed")
  func signingKey() {
    var random = SeededRandom(seed: 102)
    let key = Signing.PrivateKey(using: &random)
    let seed = key.seed.unsafeCopy()
    let expanded = seed + key.publicKey.bytes  // libsodium's 64-byte secret key
    let leaks = accidentalRenderings(of: key).count {
      reveals($0, seed) || reveals($0, expanded)
    }
    #expect(leaks == 0)
  }

  @Test("Box.PrivateKey shows its public key at most, never its secret scalar")
  func boxKey() {
    var random = SeededRandom(seed: 103)
    let seed = random.bytes(32)
    let key = Box.PrivateKey(seed: SecureBytes(copying: seed))
    let scalar = key.secret.unsafeCopy()
    let leaks = accidentalRenderings(of: key).count {
      reveals($0, scalar) || reveals($0, seed)
    }
    #expect(leaks == 0)
  }

  @Test("RecoveryKey shows neither its bytes nor any group of its paper text")
  func recoveryKey() throws {
    var random = SeededRandom(seed: 104)
    let bytes = random.bytes(32)
    let key = try RecoveryKey(secret: SecureBytes(copying: bytes))
    let groups = key.paperText.split(separator: "-").map(String.init)
    #expect(groups.count == 14)
    let boxSecret = key.boxKey.secret.unsafeCopy()
    let authoritySeed = key.authorityKey.seed.unsafeCopy()
    let leaks = accidentalRenderings(of: key).count { text in
      reveals(text, bytes) || reveals(text, boxSecret) || reveals(text, authoritySeed)
        || groups.contains { text.contains($0) }
    }
    #expect(leaks == 0)
  }

  @Test("errors print only their code and message")
  func errors() {
    let error = CryptoError(.invalidKey, "a symmetric key is 32 bytes")
    #expect(String(describing: error) == "invalidKey: a symmetric key is 32 bytes")
    #expect("\(CryptoError.Code.invalidPadding)" == "invalidPadding")
  }
}
