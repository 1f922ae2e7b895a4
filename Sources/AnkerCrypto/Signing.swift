internal import CSodium

/// Ed25519 signatures (RFC 8032): a device's identity.
public enum Signing {
  public static let publicKeyCount = 32
  public static let signatureCount = 64
  public static let seedCount = 32

  /// An Ed25519 public key: a device's identity on the log.
  public struct PublicKey: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let digest: Digest256

    /// Reads 32 bytes; nil for any other length. The point is checked when verifying.
    public init?(_ bytes: some Collection<UInt8>) {
      guard let digest = Digest256(bytes) else { return nil }
      self.digest = digest
    }

    public init(_ digest: Digest256) { self.digest = digest }

    public var bytes: [UInt8] { digest.bytes }

    /// Verifies a detached signature over `message`.
    public func isValidSignature(_ signature: [UInt8], for message: some ByteSource) -> Bool {
      Sodium.ensureReady()
      guard signature.count == signatureCount else { return false }
      let key = bytes
      return message.withBytes { input in
        crypto_sign_verify_detached(
          signature, input.baseAddress?.assumingMemoryBound(to: UInt8.self),
          UInt64(input.count), key) == 0
      }
    }

    public static func < (lhs: PublicKey, rhs: PublicKey) -> Bool { lhs.digest < rhs.digest }

    /// Public keys are not secret; they print as hex.
    public var description: String { digest.hex }

    /// A short fingerprint for people to compare out loud: BLAKE2b-256 of the key, first
    /// 10 bytes, as five groups of four hex digits.
    public var fingerprint: String { Fingerprint.of(bytes) }
  }

  /// An Ed25519 secret key, in secure memory.
  public final class PrivateKey: Sendable {
    private let secret: SecureBytes  // libsodium's 64-byte form: seed ‖ public key
    public let publicKey: PublicKey

    /// A fresh key from the given random source.
    public convenience init(using random: inout some RandomSource) {
      let seed = SecureBytes(randomCount: seedCount, using: &random)
      self.init(seed: seed)
    }

    /// A fresh key from the operating system's generator.
    public convenience init() {
      var random = SystemRandom()
      self.init(using: &random)
    }

    /// The key derived from a 32-byte seed (RFC 8032's secret key).
    public init(seed: SecureBytes) {
      Sodium.ensureReady()
      precondition(seed.count == seedCount, "an Ed25519 seed is 32 bytes")
      let secret = SecureBytes(count: 64)
      var publicBytes = [UInt8](repeating: 0, count: publicKeyCount)
      seed.withUnsafeBytes { seedBytes in
        secret.withUnsafeMutableBytes { secretBytes in
          _ = crypto_sign_seed_keypair(
            &publicBytes, secretBytes.baseAddress!.assumingMemoryBound(to: UInt8.self),
            seedBytes.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
      }
      self.secret = secret
      self.publicKey = PublicKey(publicBytes)!
    }

    /// The 32-byte seed, in secure memory (to wrap the key under a passphrase).
    public var seed: SecureBytes {
      let out = SecureBytes(count: seedCount)
      secret.withUnsafeBytes { source in
        out.withUnsafeMutableBytes {
          $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[0..<32]))
        }
      }
      return out
    }

    /// Signs `message` (Ed25519 is deterministic: the same message gives the same signature).
    public func signature(for message: some ByteSource) -> [UInt8] {
      var signature = [UInt8](repeating: 0, count: signatureCount)
      secret.withUnsafeBytes { secretBytes in
        message.withBytes { input in
          _ = crypto_sign_detached(
            &signature, nil, input.baseAddress?.assumingMemoryBound(to: UInt8.self),
            UInt64(input.count), secretBytes.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
      }
      return signature
    }
  }
}

/// Short fingerprints of public keys, for people to compare.
public enum Fingerprint {
  /// BLAKE2b-256 of `bytes`, its first 10 bytes as five dash-separated groups of four hex digits.
  public static func of(_ bytes: [UInt8]) -> String {
    let hex = Hex.encode(BLAKE2b.hash(bytes, outputLength: 32).prefix(10))
    var groups = [String]()
    var rest = Substring(hex)
    while !rest.isEmpty {
      groups.append(String(rest.prefix(4)))
      rest = rest.dropFirst(4)
    }
    return groups.joined(separator: "-")
  }
}
