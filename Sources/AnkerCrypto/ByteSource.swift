/// Anything that can lend its bytes as one contiguous buffer (arrays, slices, raw buffers),
/// so the primitives need no Foundation.
public protocol ByteSource {
  func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R
}

extension Array: ByteSource where Element == UInt8 {
  public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
    try withUnsafeBytes { try body($0) }
  }
}

extension ArraySlice: ByteSource where Element == UInt8 {
  public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
    try withUnsafeBytes { try body($0) }
  }
}

extension UnsafeRawBufferPointer: ByteSource {
  public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
    try body(self)
  }
}
