/// The one error type of `AnkerCrypto`.
///
/// `description` is always safe to log: it never holds key bytes, plaintext or passphrases.
/// Decryption failures are deliberately opaque ("authentication failed"): they never say why
/// and never return partial plaintext.
public struct CryptoError: Error, Hashable, Sendable, CustomStringConvertible {
  public struct Code: Hashable, Sendable, CustomStringConvertible {
    let raw: String
    private init(_ raw: String) { self.raw = raw }
    public var description: String { raw }

    /// A MAC, tag or signature did not verify. Nothing more is said.
    public static let authenticationFailed = Code("authenticationFailed")
    /// A key, nonce, salt or signature had the wrong length or was not a valid point.
    public static let invalidKey = Code("invalidKey")
    /// An input was too long or too short for the operation.
    public static let invalidLength = Code("invalidLength")
    /// Padding was malformed.
    public static let invalidPadding = Code("invalidPadding")
    /// A typed recovery key did not parse or did not check.
    public static let invalidRecoveryKey = Code("invalidRecoveryKey")
    /// Argon2id parameters were unsupported or the derivation ran out of memory.
    public static let derivationFailed = Code("derivationFailed")
    /// Secure memory could not be allocated.
    public static let outOfMemory = Code("outOfMemory")
  }

  public let code: Code
  public let message: String

  public init(_ code: Code, _ message: String) {
    self.code = code
    self.message = message
  }

  public var description: String { "\(code): \(message)" }

  static let authenticationFailed = CryptoError(.authenticationFailed, "authentication failed")
}
