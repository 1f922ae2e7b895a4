internal import CSodium

/// XChaCha20-Poly1305-IETF authenticated encryption with associated data.
///
/// Layout of a sealed message: ciphertext ‖ 16-byte tag; the 24-byte nonce travels beside it.
/// Random nonces are safe at this size (192 bits).
public enum AEAD {
  public static let keyCount = 32
  public static let nonceCount = 24
  public static let tagCount = 16

  /// A 32-byte symmetric key in secure memory.
  public struct Key: Sendable, CustomReflectable {
    public let secret: SecureBytes

    /// A fresh random key.
    public init(using random: inout some RandomSource) {
      secret = SecureBytes(randomCount: keyCount, using: &random)
    }

    public init() {
      var random = SystemRandom()
      self.init(using: &random)
    }

    /// Adopts 32 secret bytes.
    public init(_ secret: SecureBytes) throws(CryptoError) {
      guard secret.count == keyCount else {
        throw CryptoError(.invalidKey, "a symmetric key is 32 bytes")
      }
      self.secret = secret
    }

    /// Constant-time equality.
    public func constantTimeEquals(_ other: Key) -> Bool { secret.constantTimeEquals(other.secret) }

    public var customMirror: Mirror { Mirror(self, children: []) }
  }

  /// Encrypts `plaintext` under `key` with `nonce` (24 bytes, never reused with the same key),
  /// authenticating `associatedData` as well. Returns ciphertext ‖ tag.
  public static func seal(
    _ plaintext: some ByteSource, key: Key, nonce: [UInt8], associatedData: [UInt8] = []
  ) -> [UInt8] {
    Sodium.ensureReady()
    precondition(nonce.count == nonceCount, "an XChaCha20-Poly1305 nonce is 24 bytes")
    return plaintext.withBytes { input in
      var out = [UInt8](repeating: 0, count: input.count + tagCount)
      var written: UInt64 = 0
      key.secret.withUnsafeBytes { keyBytes in
        _ = crypto_aead_xchacha20poly1305_ietf_encrypt(
          &out, &written, input.baseAddress?.assumingMemoryBound(to: UInt8.self),
          UInt64(input.count), associatedData, UInt64(associatedData.count), nil, nonce,
          keyBytes.baseAddress!.assumingMemoryBound(to: UInt8.self))
      }
      return out
    }
  }

  /// Decrypts and authenticates. Any failure (wrong key, wrong nonce, wrong associated data,
  /// a flipped bit, a short input) is `authenticationFailed`; no plaintext is returned.
  public static func open(
    _ sealed: some ByteSource, key: Key, nonce: [UInt8], associatedData: [UInt8] = []
  ) throws(CryptoError) -> [UInt8] {
    Sodium.ensureReady()
    guard nonce.count == nonceCount else { throw CryptoError.authenticationFailed }
    let result: [UInt8]? = sealed.withBytes { input in
      guard input.count >= tagCount else { return nil }
      var out = [UInt8](repeating: 0, count: input.count - tagCount)
      var written: UInt64 = 0
      let status = key.secret.withUnsafeBytes { keyBytes in
        crypto_aead_xchacha20poly1305_ietf_decrypt(
          &out, &written, nil, input.baseAddress!.assumingMemoryBound(to: UInt8.self),
          UInt64(input.count), associatedData, UInt64(associatedData.count), nonce,
          keyBytes.baseAddress!.assumingMemoryBound(to: UInt8.self))
      }
      return status == 0 ? out : nil
    }
    guard let result else { throw CryptoError.authenticationFailed }
    return result
  }

  /// Decrypts `buffer` (ciphertext ‖ tag) in place: on success the plaintext is its first
  /// `buffer.count - tagCount` bytes and that count is returned. On any failure nothing of
  /// the plaintext remains (the buffer is zeroed) and `authenticationFailed` is thrown. For
  /// large payloads (a state snapshot), where a second buffer of the same size costs more
  /// than the decryption; disjoint buffers may be opened on several threads at once.
  public static func openInPlace(
    _ buffer: UnsafeMutableRawBufferPointer, key: Key, nonce: [UInt8],
    associatedData: [UInt8] = []
  ) throws(CryptoError) -> Int {
    Sodium.ensureReady()
    guard nonce.count == nonceCount, buffer.count >= tagCount, let base = buffer.baseAddress
    else { throw CryptoError.authenticationFailed }
    let bytes = base.assumingMemoryBound(to: UInt8.self)
    var written: UInt64 = 0
    // libsodium checks the tag over the ciphertext before it decrypts, so the output may
    // overlap the input exactly.
    let status = key.secret.withUnsafeBytes { keyBytes in
      crypto_aead_xchacha20poly1305_ietf_decrypt(
        bytes, &written, nil, bytes, UInt64(buffer.count), associatedData,
        UInt64(associatedData.count), nonce,
        keyBytes.baseAddress!.assumingMemoryBound(to: UInt8.self))
    }
    guard status == 0 else {
      sodium_memzero(base, buffer.count)
      throw CryptoError.authenticationFailed
    }
    return Int(written)
  }

  /// Encrypts in place a buffer laid out as nonce [24] ‖ plaintext ‖ room for the tag [16]:
  /// afterwards it is nonce ‖ ciphertext ‖ tag, what `seal` returns behind its nonce. For many
  /// small records (a store's rows), where a buffer per step costs more than the encryption.
  public static func sealInPlace(
    _ buffer: UnsafeMutableRawBufferPointer, key: Key, associatedData: [UInt8] = []
  ) {
    Sodium.ensureReady()
    precondition(buffer.count >= nonceCount + tagCount, "no room for the nonce and the tag")
    let base = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
    let message = base + nonceCount
    let count = buffer.count - nonceCount - tagCount
    var written: UInt64 = 0
    // libsodium encrypts with the stream cipher, then authenticates the ciphertext: the
    // output may overlap the input exactly.
    key.secret.withUnsafeBytes { keyBytes in
      _ = crypto_aead_xchacha20poly1305_ietf_encrypt(
        message, &written, message, UInt64(count), associatedData,
        UInt64(associatedData.count), nil, base,
        keyBytes.baseAddress!.assumingMemoryBound(to: UInt8.self))
    }
  }

  /// Encrypts secret bytes (a key being wrapped).
  public static func seal(
    secret: SecureBytes, key: Key, nonce: [UInt8], associatedData: [UInt8] = []
  ) -> [UInt8] {
    secret.withUnsafeBytes { seal($0, key: key, nonce: nonce, associatedData: associatedData) }
  }

  /// Decrypts straight into secure memory (an unwrapped key).
  public static func openSecret(
    _ sealed: [UInt8], key: Key, nonce: [UInt8], associatedData: [UInt8] = []
  ) throws(CryptoError) -> SecureBytes {
    Sodium.ensureReady()
    guard nonce.count == nonceCount, sealed.count >= tagCount else {
      throw CryptoError.authenticationFailed
    }
    let out = SecureBytes(count: sealed.count - tagCount)
    var written: UInt64 = 0
    let status = key.secret.withUnsafeBytes { keyBytes in
      out.withUnsafeMutableBytes { output in
        crypto_aead_xchacha20poly1305_ietf_decrypt(
          output.baseAddress!.assumingMemoryBound(to: UInt8.self), &written, nil, sealed,
          UInt64(sealed.count), associatedData, UInt64(associatedData.count), nonce,
          keyBytes.baseAddress!.assumingMemoryBound(to: UInt8.self))
      }
    }
    guard status == 0 else { throw CryptoError.authenticationFailed }
    return out
  }
}

extension AEAD.Key {
  /// A subkey for one purpose, derived with `crypto_kdf_derive_from_key` (BLAKE2b).
  /// `context` is exactly 8 ASCII bytes naming the purpose; `id` separates subkeys within it.
  public func derive(context: StaticString, id: UInt64) -> AEAD.Key {
    precondition(context.utf8CodeUnitCount == 8, "a KDF context is 8 bytes")
    let out = SecureBytes(count: AEAD.keyCount)
    secret.withUnsafeBytes { master in
      out.withUnsafeMutableBytes { subkey in
        context.withUTF8Buffer { ctx in
          ctx.withMemoryRebound(to: CChar.self) { name in
            _ = crypto_kdf_derive_from_key(
              subkey.baseAddress!.assumingMemoryBound(to: UInt8.self), AEAD.keyCount, id,
              name.baseAddress!, master.baseAddress!.assumingMemoryBound(to: UInt8.self))
          }
        }
      }
    }
    return try! AEAD.Key(out)  // 32 bytes by construction
  }
}

extension AEAD.Key {
  /// One key from several, for concurrent rotations (DESIGN rule 1): BLAKE2b-256 keyed with
  /// the first key over "anker combined key v1" 0x00 ‖ the other keys, in the order given
  /// (callers sort by the id of the entry that introduced each). Whoever lacks any one of
  /// them cannot derive it.
  public static func combining(_ keys: [AEAD.Key]) -> AEAD.Key {
    precondition(keys.count >= 2, "combine at least two keys")
    Sodium.ensureReady()
    let state = UnsafeMutableRawPointer.allocate(
      byteCount: crypto_generichash_statebytes(), alignment: 64)
    defer {
      sodium_memzero(state, crypto_generichash_statebytes())
      state.deallocate()
    }
    keys[0].secret.withUnsafeBytes { first in
      _ = crypto_generichash_init(
        OpaquePointer(state), first.baseAddress!.assumingMemoryBound(to: UInt8.self), first.count,
        AEAD.keyCount)
    }
    let context = Array("anker combined key v1".utf8) + [0]
    _ = crypto_generichash_update(OpaquePointer(state), context, UInt64(context.count))
    for key in keys.dropFirst() {
      key.secret.withUnsafeBytes { bytes in
        _ = crypto_generichash_update(
          OpaquePointer(state), bytes.baseAddress!.assumingMemoryBound(to: UInt8.self),
          UInt64(bytes.count))
      }
    }
    let out = SecureBytes(count: AEAD.keyCount)
    out.withUnsafeMutableBytes { output in
      _ = crypto_generichash_final(
        OpaquePointer(state), output.baseAddress!.assumingMemoryBound(to: UInt8.self),
        AEAD.keyCount)
    }
    return try! AEAD.Key(out)  // 32 bytes by construction
  }
}
