import AnkerCrypto

/// What the key file protects: the device's signing key (its identity on the log), its X25519
/// key (to open key wraps sealed to it) and the local key (which seals everything the store
/// keeps). All three live in `sodium_malloc`'d memory and are zeroed when released.
public final class DeviceSecrets: Sendable {
  public let signing: Signing.PrivateKey
  public let box: Box.PrivateKey
  public let local: AEAD.Key

  public static let byteCount = 96

  public init(signing: Signing.PrivateKey, box: Box.PrivateKey, local: AEAD.Key) {
    self.signing = signing
    self.box = box
    self.local = local
  }

  /// New random keys for a new device.
  public convenience init(using random: inout some RandomSource) {
    self.init(
      signing: Signing.PrivateKey(using: &random), box: Box.PrivateKey(using: &random),
      local: AEAD.Key(using: &random))
  }

  /// signing seed ‖ X25519 secret ‖ local key, in secure memory (what a key agent keeps).
  public var packed: SecureBytes {
    let out = SecureBytes(count: Self.byteCount)
    let seed = signing.seed
    out.withUnsafeMutableBytes { output in
      seed.withUnsafeBytes { output.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: 32) }
      box.secret.withUnsafeBytes {
        (output.baseAddress! + 32).copyMemory(from: $0.baseAddress!, byteCount: 32)
      }
      local.secret.withUnsafeBytes {
        (output.baseAddress! + 64).copyMemory(from: $0.baseAddress!, byteCount: 32)
      }
    }
    return out
  }

  public convenience init(packed: SecureBytes) throws(StoreError) {
    guard packed.count == Self.byteCount else {
      throw StoreError(.corrupt, "the key file holds keys of the wrong size")
    }
    func part(_ index: Int) -> SecureBytes {
      let out = SecureBytes(count: 32)
      out.withUnsafeMutableBytes { output in
        packed.withUnsafeBytes {
          output.baseAddress!.copyMemory(from: $0.baseAddress! + 32 * index, byteCount: 32)
        }
      }
      return out
    }
    do {
      self.init(
        signing: Signing.PrivateKey(seed: part(0)), box: try Box.PrivateKey(secretKey: part(1)),
        local: try AEAD.Key(part(2)))
    } catch {
      throw StoreError(.corrupt, "the key file holds keys that do not load")
    }
  }
}
