internal import CSodium

/// Argon2id key derivation from a passphrase (`crypto_pwhash`).
///
/// The parameters travel with the salt (`Parameters.encoded`), so they can be raised later and
/// the key re-wrapped on the next unlock.
public enum PasswordHash {
  public static let saltCount = 16

  /// Argon2id cost and salt. Encoded as: 0x01 (Argon2id v1.3) ‖ opsLimit u32 BE ‖
  /// memLimit in KiB u32 BE ‖ salt (16 bytes): 25 bytes.
  public struct Parameters: Hashable, Sendable {
    public let opsLimit: UInt32
    /// Memory in bytes (a multiple of 1 KiB).
    public let memLimit: UInt64
    public let salt: [UInt8]

    public static let encodedCount = 25

    public init(opsLimit: UInt32, memLimit: UInt64, salt: [UInt8]) throws(CryptoError) {
      Sodium.ensureReady()
      guard salt.count == PasswordHash.saltCount else {
        throw CryptoError(.invalidLength, "an Argon2id salt is 16 bytes")
      }
      guard opsLimit >= UInt32(crypto_pwhash_opslimit_min()),
        memLimit >= UInt64(crypto_pwhash_memlimit_min()), memLimit % 1024 == 0,
        memLimit / 1024 <= UInt64(UInt32.max)
      else {
        throw CryptoError(.derivationFailed, "Argon2id parameters are outside what is supported")
      }
      self.opsLimit = opsLimit
      self.memLimit = memLimit
      self.salt = salt
    }

    /// libsodium's INTERACTIVE cost (≈ 0.1 s here): for tests and fast unlocks.
    public static func interactive(using random: inout some RandomSource) -> Parameters {
      try! Parameters(
        opsLimit: UInt32(crypto_pwhash_opslimit_interactive()),
        memLimit: UInt64(crypto_pwhash_memlimit_interactive()), salt: random.bytes(saltCount))
    }

    /// libsodium's MODERATE cost (≈ 0.8 s here): the default for a worker's passphrase.
    public static func moderate(using random: inout some RandomSource) -> Parameters {
      try! Parameters(
        opsLimit: UInt32(crypto_pwhash_opslimit_moderate()),
        memLimit: UInt64(crypto_pwhash_memlimit_moderate()), salt: random.bytes(saltCount))
    }

    public var encoded: [UInt8] {
      var out: [UInt8] = [1]
      withUnsafeBytes(of: opsLimit.bigEndian) { out.append(contentsOf: $0) }
      withUnsafeBytes(of: UInt32(memLimit / 1024).bigEndian) { out.append(contentsOf: $0) }
      return out + salt
    }

    public init(encoded bytes: [UInt8]) throws(CryptoError) {
      guard bytes.count == Self.encodedCount, bytes[0] == 1 else {
        throw CryptoError(.derivationFailed, "unknown Argon2id parameter encoding")
      }
      func u32(_ at: Int) -> UInt32 { bytes[at..<at + 4].reduce(0) { $0 << 8 | UInt32($1) } }
      try self.init(
        opsLimit: u32(1), memLimit: UInt64(u32(5)) * 1024, salt: Array(bytes[9..<25]))
    }
  }

  /// Derives `length` secret bytes from `passphrase`. Deliberately slow and memory-hard.
  public static func deriveKey(
    from passphrase: SecureBytes, parameters: Parameters, length: Int = 32
  ) throws(CryptoError) -> SecureBytes {
    Sodium.ensureReady()
    let out = SecureBytes(count: length)
    let status = passphrase.withUnsafeBytes { pass in
      out.withUnsafeMutableBytes { key in
        parameters.salt.withUnsafeBufferPointer { salt in
          crypto_pwhash(
            key.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(length),
            pass.baseAddress!.assumingMemoryBound(to: CChar.self), UInt64(pass.count),
            salt.baseAddress!, UInt64(parameters.opsLimit), Int(parameters.memLimit),
            crypto_pwhash_ALG_ARGON2ID13)
        }
      }
    }
    guard status == 0 else {
      throw CryptoError(
        .derivationFailed, "Argon2id ran out of memory; close other programs and try again")
    }
    return out
  }
}
