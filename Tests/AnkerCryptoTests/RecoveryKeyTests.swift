import AnkerCrypto
import Testing

/// Crockford's base32 alphabet, as printed on the paper.
let crockford = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ")

/// Recovery keys from a fixed seed, for tests.
func recoveryKeys(count: Int, seed: UInt64) -> [RecoveryKey] {
  var random = SeededRandom(seed: seed)
  return (0..<count).map { _ in RecoveryKey(using: &random) }
}

/// True when two recovery keys are the same key (without printing either).
func sameKey(_ a: RecoveryKey, _ b: RecoveryKey) -> Bool {
  a.paperText == b.paperText && same(a.boxKey.secret, b.boxKey.secret)
}

@Suite("RecoveryKey: paper text and derived keys")
struct RecoveryKeyTests {
  /// Recomputed in Python from the format described in RecoveryKey's documentation, for the
  /// key whose bytes are 0...31; its derived public keys via hashlib (crypto_kdf) and PyNaCl.
  @Test("the paper text and derived keys of a fixed key match an independent computation")
  func knownAnswer() throws {
    let key = try RecoveryKey(secret: SecureBytes(copying: Array(0..<32)))
    let expected =
      "000G5-40R4N-0M30Z-E209T-185G6-R38E2-1W81D-24GK1-2GAHD-C5RRT-34D15-P70X1-3RFGD-NDPM4"
    let matches = key.paperText == expected
    #expect(matches)
    #expect(
      key.boxKey.publicKey.description
        == "e3e7456750723f276bdbe95824100ad48b86d074cf874a95619af6ec66766b23")
    #expect(
      key.authorityKey.publicKey.description
        == "875dac6c81cb5904e77e54b03c1fd1158aa520b9904d6e60f6729ce64eb133f7")
  }

  @Test("paper text is 14 dash-separated groups of 5 Crockford characters")
  func format() {
    var malformed = 0
    for key in recoveryKeys(count: 200, seed: 110) {
      let text = key.paperText
      let groups = text.split(separator: "-", omittingEmptySubsequences: false)
      let wellFormed =
        text.count == 14 * 5 + 13 && groups.count == 14 && groups.allSatisfy { $0.count == 5 }
        && groups.joined().allSatisfy { crockford.contains($0) }
      if !wellFormed { malformed += 1 }
    }
    #expect(malformed == 0)
  }

  @Test("paper text parses back to the same key, for many keys")
  func roundTrip() throws {
    var mismatches = 0
    for key in recoveryKeys(count: 200, seed: 111) {
      let parsed = try RecoveryKey(parsing: key.paperText)
      if !sameKey(parsed, key) { mismatches += 1 }
    }
    #expect(mismatches == 0)
  }

  @Test("parsing forgives case, spacing, separators and O/I/L typed for 0/1")
  func tolerantParsing() throws {
    var withZero = 0
    var withOne = 0
    var rejected = [String]()
    var wrongKey = [String]()
    for key in recoveryKeys(count: 50, seed: 112) {
      let text = key.paperText
      if text.contains("0") { withZero += 1 }
      if text.contains("1") { withOne += 1 }
      let groups = text.split(separator: "-").map(String.init)
      let variants: [(String, String)] = [
        ("lower case", text.lowercased()),
        ("spaces", groups.joined(separator: " ")),
        ("no separators", groups.joined()),
        ("lines", groups.joined(separator: "\n") + "\n"),
        ("CRLF and tabs", groups.joined(separator: "\r\n\t")),
        ("double separators", " " + groups.joined(separator: " - ") + " "),
        ("O for 0", text.replacing("0", with: "O")),
        ("o for 0", text.replacing("0", with: "o")),
        ("I for 1", text.replacing("1", with: "I")),
        ("L for 1", text.replacing("1", with: "L")),
        ("l for 1", text.replacing("1", with: "l")),
        (
          "everything",
          groups.joined().lowercased().replacing("0", with: "o").replacing("1", with: "L")
        ),
      ]
      for (name, variant) in variants {
        do {
          if !sameKey(try RecoveryKey(parsing: variant), key) { wrongKey.append(name) }
        } catch {
          rejected.append(name)
        }
      }
    }
    #expect(rejected.isEmpty)
    #expect(wrongKey.isEmpty)
    // The O and I/L cases above tested something only if the texts had 0s and 1s.
    #expect(withZero > 10)
    #expect(withOne > 10)
  }

  @Test("derived keys are deterministic for a key and differ between keys")
  func derivedKeys() throws {
    let keys = recoveryKeys(count: 20, seed: 113)
    var boxKeys = Set<Box.PublicKey>()
    var authorities = Set<Signing.PublicKey>()
    var unstable = 0
    for key in keys {
      let again = try RecoveryKey(parsing: key.paperText)
      if key.boxKey.publicKey != again.boxKey.publicKey
        || key.authorityKey.publicKey != again.authorityKey.publicKey
        || !same(key.boxKey.secret, key.boxKey.secret)
        || !same(key.authorityKey.seed, again.authorityKey.seed)
      {
        unstable += 1
      }
      boxKeys.insert(key.boxKey.publicKey)
      authorities.insert(key.authorityKey.publicKey)
    }
    #expect(unstable == 0)
    #expect(boxKeys.count == 20)
    #expect(authorities.count == 20)
  }

  @Test("the box key and the authority key are different keys, and both work")
  func derivedKeysAreSeparate() throws {
    let key = try #require(recoveryKeys(count: 1, seed: 114).first)
    #expect(!same(key.boxKey.secret, key.authorityKey.seed))
    #expect(key.boxKey.publicKey.bytes != key.authorityKey.publicKey.bytes)
    let message = SecureBytes(copying: Array("epoch key".utf8))
    let sealed = Box.seal(message, to: key.boxKey.publicKey)
    #expect(same(try Box.open(sealed, with: key.boxKey), message))
    let statement = Array("genesis".utf8)
    let signature = key.authorityKey.signature(for: statement)
    #expect(key.authorityKey.publicKey.isValidSignature(signature, for: statement))
  }

  @Test("keys from the same seed are equal; fresh keys differ")
  func generation() {
    let a = recoveryKeys(count: 2, seed: 115)
    let b = recoveryKeys(count: 2, seed: 115)
    #expect(sameKey(a[0], b[0]))
    #expect(sameKey(a[1], b[1]))
    #expect(!sameKey(a[0], a[1]))
    #expect(!sameKey(RecoveryKey(), RecoveryKey()))
  }

  @Test("a recovery key adopts exactly 32 bytes", arguments: [1, 16, 31, 33, 64])
  func wrongSecretLength(length: Int) {
    let error = cryptoError { try RecoveryKey(secret: SecureBytes(count: length)) }
    #expect(error?.code == .invalidRecoveryKey)
  }
}
