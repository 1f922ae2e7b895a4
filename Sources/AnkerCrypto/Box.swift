internal import CSodium

/// X25519 keys and anonymous sealed boxes (`crypto_box_seal`): how an epoch or case key is
/// wrapped to one device or to the recovery key.
public enum Box {
  public static let publicKeyCount = 32
  public static let secretKeyCount = 32
  /// Bytes a sealed box adds to its message (ephemeral public key + MAC): 48.
  public static var sealOverhead: Int { Int(anker_box_sealbytes()) }

  /// An X25519 public key.
  public struct PublicKey: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let digest: Digest256

    public init?(_ bytes: some Collection<UInt8>) {
      guard let digest = Digest256(bytes) else { return nil }
      self.digest = digest
    }

    public init(_ digest: Digest256) { self.digest = digest }

    public var bytes: [UInt8] { digest.bytes }
    public var description: String { digest.hex }
    public static func < (lhs: PublicKey, rhs: PublicKey) -> Bool { lhs.digest < rhs.digest }
  }

  /// An X25519 secret key, in secure memory.
  public final class PrivateKey: Sendable {
    package let secret: SecureBytes
    public let publicKey: PublicKey

    public convenience init(using random: inout some RandomSource) {
      self.init(seed: SecureBytes(randomCount: 32, using: &random))
    }

    public convenience init() {
      var random = SystemRandom()
      self.init(using: &random)
    }

    /// The key pair derived from a 32-byte seed (`crypto_box_seed_keypair`).
    public init(seed: SecureBytes) {
      Sodium.ensureReady()
      precondition(seed.count == 32, "an X25519 seed is 32 bytes")
      let secret = SecureBytes(count: secretKeyCount)
      var publicBytes = [UInt8](repeating: 0, count: publicKeyCount)
      seed.withUnsafeBytes { seedBytes in
        secret.withUnsafeMutableBytes { secretBytes in
          _ = crypto_box_seed_keypair(
            &publicBytes, secretBytes.baseAddress!.assumingMemoryBound(to: UInt8.self),
            seedBytes.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
      }
      self.secret = secret
      self.publicKey = PublicKey(publicBytes)!
    }

    /// Rebuilds a key pair from its stored secret scalar.
    public init(secretKey: SecureBytes) throws(CryptoError) {
      Sodium.ensureReady()
      guard secretKey.count == secretKeyCount else {
        throw CryptoError(.invalidKey, "an X25519 secret key is 32 bytes")
      }
      var publicBytes = [UInt8](repeating: 0, count: publicKeyCount)
      secretKey.withUnsafeBytes { secretBytes in
        _ = crypto_scalarmult_base(
          &publicBytes, secretBytes.baseAddress!.assumingMemoryBound(to: UInt8.self))
      }
      let copy = SecureBytes(count: secretKeyCount)
      secretKey.withUnsafeBytes { source in
        copy.withUnsafeMutableBytes { $0.copyMemory(from: source) }
      }
      self.secret = copy
      self.publicKey = PublicKey(publicBytes)!
    }
  }

  /// Seals `message` to `recipient` anonymously: only the holder of the matching secret key
  /// can open it, and nobody can tell who sealed it.
  public static func seal(_ message: SecureBytes, to recipient: PublicKey) -> [UInt8] {
    Sodium.ensureReady()
    var out = [UInt8](repeating: 0, count: message.count + sealOverhead)
    let key = recipient.bytes
    message.withUnsafeBytes { input in
      _ = crypto_box_seal(
        &out, input.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(input.count), key)
    }
    return out
  }

  /// The same construction as `crypto_box_seal` (ephemeral key pair, nonce =
  /// BLAKE2b-192(ephemeral pk ‖ recipient pk), `crypto_box_easy`), but with the ephemeral key
  /// drawn from `random`, so that test vectors are reproducible. The output opens with
  /// `crypto_box_seal_open`. Only the vector generator and tests use it.
  package static func seal(
    _ message: SecureBytes, to recipient: PublicKey, using random: inout some RandomSource
  ) -> [UInt8] {
    let ephemeral = PrivateKey(using: &random)
    let ephemeralPublic = ephemeral.publicKey.bytes
    let nonce = BLAKE2b.hash(ephemeralPublic + recipient.bytes, outputLength: 24)
    var out = ephemeralPublic + [UInt8](repeating: 0, count: message.count + 16)
    let key = recipient.bytes
    message.withUnsafeBytes { input in
      ephemeral.secret.withUnsafeBytes { secretBytes in
        out.withUnsafeMutableBufferPointer { buffer in
          _ = crypto_box_easy(
            buffer.baseAddress! + 32, input.baseAddress!.assumingMemoryBound(to: UInt8.self),
            UInt64(input.count), nonce, key,
            secretBytes.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
      }
    }
    return out
  }

  /// Opens a sealed box. Any failure is reported as `authenticationFailed`, nothing more.
  public static func open(_ sealed: [UInt8], with key: PrivateKey) throws(CryptoError)
    -> SecureBytes
  {
    Sodium.ensureReady()
    guard sealed.count >= sealOverhead else { throw CryptoError.authenticationFailed }
    let out = SecureBytes(count: sealed.count - sealOverhead)
    let publicBytes = key.publicKey.bytes
    let status = key.secret.withUnsafeBytes { secretBytes in
      out.withUnsafeMutableBytes { output in
        crypto_box_seal_open(
          output.baseAddress!.assumingMemoryBound(to: UInt8.self), sealed, UInt64(sealed.count),
          publicBytes, secretBytes.baseAddress!.assumingMemoryBound(to: UInt8.self))
      }
    }
    guard status == 0 else { throw CryptoError.authenticationFailed }
    return out
  }
}
