internal import CSodium

/// A fixed-size buffer for secret bytes, held in `sodium_malloc`'d memory (guard pages,
/// excluded from core dumps where the platform allows) and zeroed when released.
///
/// It is a reference type so that a secret is never copied implicitly; it prints as its type
/// name only and has no reflectable children.
public final class SecureBytes: @unchecked Sendable, CustomReflectable {
  // @unchecked Sendable: the bytes are written only while the value is being built (inside
  // `init` and the package-level `withUnsafeMutableBytes` used by constructors) and are
  // read-only once it has been handed out.
  private let pointer: UnsafeMutableRawPointer
  /// The number of secret bytes.
  public let count: Int

  /// Allocates `count` zeroed secret bytes (`count` may be zero: an empty passphrase).
  public init(count: Int) {
    Sodium.ensureReady()
    precondition(count >= 0, "SecureBytes cannot have a negative size")
    // At least one byte is allocated so that the base address is never nil.
    guard let raw = sodium_malloc(max(count, 1)) else {
      fatalError("sodium_malloc failed: out of secure memory")
    }
    pointer = raw
    self.count = count
    sodium_memzero(pointer, max(count, 1))
  }

  /// Copies `bytes` into secure memory. The caller remains responsible for its own copy.
  public convenience init(copying bytes: some Collection<UInt8>) {
    self.init(count: bytes.count)
    withUnsafeMutableBytes { out in
      var index = 0
      for byte in bytes {
        out[index] = byte
        index += 1
      }
    }
  }

  /// Makes `count` random bytes from the given source.
  public convenience init(randomCount count: Int, using random: inout some RandomSource) {
    self.init(count: count)
    withUnsafeMutableBytes { random.fill($0) }
  }

  deinit {
    // sodium_free zeroes the region before releasing it.
    sodium_free(pointer)
  }

  /// Gives read access to the secret bytes for the duration of `body`.
  public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
    try body(UnsafeRawBufferPointer(start: pointer, count: count))
  }

  /// Write access, for constructors that fill a fresh buffer.
  package func withUnsafeMutableBytes<R>(
    _ body: (UnsafeMutableRawBufferPointer) throws -> R
  ) rethrows -> R {
    try body(UnsafeMutableRawBufferPointer(start: pointer, count: count))
  }

  /// Compares two secrets in constant time (for equal lengths).
  public func constantTimeEquals(_ other: SecureBytes) -> Bool {
    guard count == other.count else { return false }
    return sodium_memcmp(pointer, other.pointer, count) == 0
  }

  /// Copies the secret out into an ordinary array. Only for code that must hand the bytes to
  /// a person (the paper recovery key) or to a test vector; the caller zeroes the copy.
  package func unsafeCopy() -> [UInt8] {
    withUnsafeBytes { Array($0) }
  }

  public var customMirror: Mirror { Mirror(self, children: []) }
}

/// Constant-time comparison of byte strings.
public enum ConstantTime {
  /// True when `a` and `b` have the same length and the same bytes. The time taken depends on
  /// the length only, never on where the first difference is.
  public static func equals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    Sodium.ensureReady()
    guard a.count == b.count else { return false }
    if a.isEmpty { return true }
    return a.withUnsafeBytes { pa in
      b.withUnsafeBytes { pb in sodium_memcmp(pa.baseAddress!, pb.baseAddress!, a.count) == 0 }
    }
  }

  /// Zeroes an array in place, in a way the optimiser cannot remove.
  public static func zero(_ bytes: inout [UInt8]) {
    bytes.withUnsafeMutableBytes { buffer in
      if let base = buffer.baseAddress { sodium_memzero(base, buffer.count) }
    }
  }
}
