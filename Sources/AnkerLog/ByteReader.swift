import AnkerCrypto

/// Canonical little building blocks of the entry format: unsigned LEB128 integers that must
/// be minimal, and fixed-size byte strings.
package struct ByteReader {
  package let bytes: [UInt8]
  package private(set) var offset: Int
  /// Where reading stops: the end of `bytes`, or of the part of it being read.
  package let end: Int

  package init(_ bytes: [UInt8], offset: Int = 0) {
    self.init(bytes, range: offset..<bytes.count)
  }

  /// Reads only `range` of `bytes` (one entry of a page), without copying it out.
  package init(_ bytes: [UInt8], range: Range<Int>) {
    precondition(range.lowerBound >= 0 && range.upperBound <= bytes.count, "range outside bytes")
    self.bytes = bytes
    self.offset = range.lowerBound
    self.end = range.upperBound
  }

  package var remaining: Int { end - offset }
  package var isAtEnd: Bool { offset == end }

  package mutating func byte(_ field: String) throws(LogError) -> UInt8 {
    guard offset < end else { throw LogError(.truncated, "entry ends inside \(field)") }
    defer { offset += 1 }
    return bytes[offset]
  }

  package mutating func take(_ count: Int, _ field: String) throws(LogError) -> ArraySlice<UInt8> {
    guard count <= remaining else { throw LogError(.truncated, "entry ends inside \(field)") }
    defer { offset += count }
    return bytes[offset..<offset + count]
  }

  package mutating func digest(_ field: String) throws(LogError) -> Digest256 {
    let slice = try take(32, field)
    return slice.withUnsafeBytes { Digest256(unsafeBytes: $0) }
  }

  /// Unsigned LEB128, at most `Limits.maxInteger`, in its shortest form.
  package mutating func varint(_ field: String) throws(LogError) -> UInt64 {
    var value: UInt64 = 0
    var shift: UInt64 = 0
    for index in 0..<9 {
      let byte = try self.byte(field)
      value |= UInt64(byte & 0x7f) << shift
      if byte & 0x80 == 0 {
        if byte == 0 && index > 0 {
          throw LogError(.nonCanonicalInteger, "\(field) is not in its shortest form")
        }
        guard value <= Limits.maxInteger else {
          throw LogError(.fieldTooLarge, "\(field) exceeds 2^53 - 1")
        }
        return value
      }
      shift += 7
    }
    throw LogError(.fieldTooLarge, "\(field) exceeds 2^53 - 1")
  }

  package mutating func expectEnd(_ what: String) throws(LogError) {
    guard isAtEnd else { throw LogError(.trailingBytes, "\(remaining) bytes follow the \(what)") }
  }
}

package struct ByteWriter {
  package var bytes: [UInt8] = []

  package init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

  package mutating func byte(_ value: UInt8) { bytes.append(value) }
  package mutating func append(_ data: some Sequence<UInt8>) { bytes.append(contentsOf: data) }
  package mutating func digest(_ value: Digest256) { value.appendBytes(to: &bytes) }

  package mutating func varint(_ value: UInt64) {
    precondition(value <= Limits.maxInteger, "integer beyond the format's range")
    var rest = value
    while rest >= 0x80 {
      bytes.append(UInt8(rest & 0x7f) | 0x80)
      rest >>= 7
    }
    bytes.append(UInt8(rest))
  }

  package mutating func u32(_ value: UInt32) {
    withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
  }
}

/// The format's limits. Decoders reject anything beyond them with `fieldTooLarge`.
public enum Limits {
  /// Integers (sequence, Lamport, lengths, times) stay below 2^53 so every language and
  /// SQLite can hold them exactly.
  public static let maxInteger: UInt64 = (1 << 53) - 1
  /// At most this many parents.
  public static let maxParents = 64
  /// The largest body, in bytes (the largest Padmé bucket a sealed body may use).
  public static let maxBodyLength = 65_536
  /// Sealed bodies are at least this long (the Padmé floor).
  public static let bodyFloor = 1_024
  /// At most this many key wraps in one control entry (512 × 112 bytes fit in one body, so
  /// a journal can hold up to 511 active devices besides the recovery key).
  public static let maxWraps = 512
  /// At most this many body hashes in one erasure entry (a larger shred takes several).
  public static let maxErasures = 2_000
}
