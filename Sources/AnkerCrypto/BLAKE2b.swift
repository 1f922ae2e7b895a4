internal import CSodium

/// BLAKE2b (RFC 7693) through libsodium's `crypto_generichash`.
public enum BLAKE2b {
  /// Hashes `data` to `outputLength` bytes (16...64), optionally keyed (16...64 key bytes).
  public static func hash(
    _ data: some ByteSource, outputLength: Int = 32, key: [UInt8] = []
  ) -> [UInt8] {
    Sodium.ensureReady()
    precondition((16...64).contains(outputLength), "BLAKE2b output must be 16...64 bytes")
    precondition(key.isEmpty || (16...64).contains(key.count), "BLAKE2b key must be 16...64 bytes")
    var out = [UInt8](repeating: 0, count: outputLength)
    data.withBytes { input in
      key.withUnsafeBufferPointer { keyPointer in
        _ = crypto_generichash(
          &out, outputLength,
          input.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(input.count),
          key.isEmpty ? nil : keyPointer.baseAddress, key.count)
      }
    }
    return out
  }

  /// BLAKE2b-256 of `data` as a digest.
  public static func hash256(_ data: some ByteSource) -> Digest256 {
    Sodium.ensureReady()
    return withUnsafeTemporaryAllocation(byteCount: 32, alignment: 8) { out in
      data.withBytes { input in
        _ = crypto_generichash(
          out.baseAddress!.assumingMemoryBound(to: UInt8.self), 32,
          input.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(input.count), nil, 0)
      }
      return Digest256(unsafeBytes: UnsafeRawBufferPointer(out))
    }
  }

  /// BLAKE2b-256 of `first ‖ second` (an entry's header and signature), without
  /// concatenating them and without a heap allocation: the state lives on the stack.
  public static func hash256(_ first: some ByteSource, _ second: some ByteSource) -> Digest256 {
    Sodium.ensureReady()
    return withUnsafeTemporaryAllocation(
      byteCount: crypto_generichash_statebytes() + 32, alignment: 64
    ) { memory in
      let state = OpaquePointer(memory.baseAddress!)
      let out = memory.baseAddress! + crypto_generichash_statebytes()
      _ = crypto_generichash_init(state, nil, 0, 32)
      first.withBytes { input in
        _ = crypto_generichash_update(
          state, input.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(input.count))
      }
      second.withBytes { input in
        _ = crypto_generichash_update(
          state, input.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(input.count))
      }
      _ = crypto_generichash_final(state, out.assumingMemoryBound(to: UInt8.self), 32)
      return Digest256(unsafeBytes: UnsafeRawBufferPointer(start: out, count: 32))
    }
  }

  /// BLAKE2b-256 of the concatenation of `parts`, without concatenating them.
  public static func hash256(parts: [any ByteSource]) -> Digest256 {
    var hasher = Hasher(outputLength: 32)
    for part in parts { hasher.update(part) }
    let out = hasher.finalize()
    return out.withUnsafeBytes { Digest256(unsafeBytes: $0) }
  }

  /// BLAKE2b-256 keyed with a secret (a MAC or a subkey derivation).
  public static func keyedHash256(_ data: some ByteSource, key: SecureBytes) -> [UInt8] {
    Sodium.ensureReady()
    precondition((16...64).contains(key.count), "BLAKE2b key must be 16...64 bytes")
    var out = [UInt8](repeating: 0, count: 32)
    key.withUnsafeBytes { keyBytes in
      data.withBytes { input in
        _ = crypto_generichash(
          &out, 32, input.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(input.count),
          keyBytes.baseAddress!.assumingMemoryBound(to: UInt8.self), key.count)
      }
    }
    return out
  }

  /// Incremental BLAKE2b.
  public struct Hasher: ~Copyable {
    // crypto_generichash_state is 64-byte aligned and does not import; keep it opaque.
    private let state: UnsafeMutableRawPointer
    private let outputLength: Int

    public init(outputLength: Int = 32) {
      Sodium.ensureReady()
      precondition((16...64).contains(outputLength), "BLAKE2b output must be 16...64 bytes")
      self.outputLength = outputLength
      state = UnsafeMutableRawPointer.allocate(
        byteCount: crypto_generichash_statebytes(), alignment: 64)
      _ = crypto_generichash_init(OpaquePointer(state), nil, 0, outputLength)
    }

    deinit { state.deallocate() }

    public mutating func update(_ data: some ByteSource) {
      data.withBytes { input in
        _ = crypto_generichash_update(
          OpaquePointer(state), input.baseAddress?.assumingMemoryBound(to: UInt8.self),
          UInt64(input.count))
      }
    }

    public consuming func finalize() -> [UInt8] {
      var out = [UInt8](repeating: 0, count: outputLength)
      _ = crypto_generichash_final(OpaquePointer(state), &out, outputLength)
      return out
    }
  }
}
