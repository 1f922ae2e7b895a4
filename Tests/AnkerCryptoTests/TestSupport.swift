import AnkerCrypto
import Testing

/// The one error every decryption failure must be: same code, same opaque message.
let authenticationFailed = CryptoError(.authenticationFailed, "authentication failed")

/// Decodes hex test data written in several pieces (to keep lines short).
func unhex(_ parts: String...) throws -> [UInt8] {
  try #require(Hex.decode(parts.joined()), "test vector is not valid hex")
}

/// Test-only secret bytes from hex.
func secret(_ parts: String...) throws -> SecureBytes {
  let bytes = try #require(Hex.decode(parts.joined()), "test vector is not valid hex")
  return SecureBytes(copying: bytes)
}

/// True when `secret` holds exactly `expected`. Returns a plain Bool so that a failing
/// `#expect` prints neither side.
func holds(_ secret: SecureBytes, _ expected: [UInt8]) -> Bool {
  ConstantTime.equals(secret.unsafeCopy(), expected)
}

/// True when two secrets hold the same bytes, without printing either.
func same(_ a: SecureBytes, _ b: SecureBytes) -> Bool {
  a.constantTimeEquals(b)
}

/// A copy of `bytes` with bit `bit` (0 = least significant of byte 0) flipped.
func flipping(_ bytes: [UInt8], bit: Int) -> [UInt8] {
  var out = bytes
  out[bit / 8] ^= 1 << UInt8(bit % 8)
  return out
}

/// Runs `body` and returns the `CryptoError` it threw, or nil if it returned. Any other error
/// is recorded as an issue.
func cryptoError<R>(_ body: () throws -> R) -> CryptoError? {
  do {
    _ = try body()
    return nil
  } catch let error as CryptoError {
    return error
  } catch {
    Issue.record("expected a CryptoError, got \(type(of: error))")
    return nil
  }
}

/// Every way a value can be turned into text by accident: `String(describing:)`,
/// `String(reflecting:)` and `dump`.
func accidentalRenderings(of value: Any) -> [String] {
  var dumped = ""
  dump(value, to: &dumped)
  return [String(describing: value), String(reflecting: value), dumped]
}

/// True when `rendering` shows `secret` in any form a stray print would: lower- or upper-case
/// hex, an array literal, or `dump`'s one-element-per-line listing.
func reveals(_ rendering: String, _ secret: [UInt8]) -> Bool {
  let hex = Hex.encode(secret)
  if rendering.contains(hex) || rendering.contains(hex.uppercased()) { return true }
  if rendering.contains(String(describing: secret)) { return true }
  // dump lists array elements as "- 17" lines at some indentation.
  let listed = rendering.split(separator: "\n").compactMap { line in
    UInt8(line.drop { $0 == " " || $0 == "-" || $0 == "▿" })
  }
  guard listed.count >= secret.count else { return false }
  for start in 0...(listed.count - secret.count)
  where Array(listed[start..<start + secret.count]) == secret {
    return true
  }
  return false
}
