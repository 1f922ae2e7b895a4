internal import CSodium

/// Length hiding: Padmé buckets (with a floor) and ISO/IEC 7816-4 padding (`sodium_pad`).
public enum Padding {
  /// The Padmé bucket for a length: it leaks O(log log L) bits of the length and costs at
  /// most ≈ 12% overhead. Lengths up to `floor` all map to `floor`.
  public static func padme(_ length: Int, floor: Int = 1024) -> Int {
    let value = max(length, floor)
    if value < 2 { return value }
    let e = Int.bitWidth - 1 - value.leadingZeroBitCount  // floor(log2 L)
    let s = Int.bitWidth - e.leadingZeroBitCount  // floor(log2 E) + 1
    let lastBits = e - s
    let mask = (1 << lastBits) - 1
    return (value + mask) & ~mask
  }

  /// True when `length` is a bucket `padme` can produce with `floor`.
  public static func isBucket(_ length: Int, floor: Int = 1024) -> Bool {
    length >= floor && padme(length, floor: floor) == length
  }

  /// Pads to exactly `length` bytes: the bytes, then 0x80, then zeros. `length` must exceed
  /// `bytes.count`.
  public static func pad(_ bytes: [UInt8], toLength length: Int) throws(CryptoError) -> [UInt8] {
    Sodium.ensureReady()
    guard length > bytes.count else {
      throw CryptoError(.invalidLength, "the padded length must exceed the content length")
    }
    var out = bytes + [UInt8](repeating: 0, count: length - bytes.count)
    var padded = 0
    let status = out.withUnsafeMutableBufferPointer { buffer in
      sodium_pad(&padded, buffer.baseAddress!, bytes.count, length, length)
    }
    guard status == 0, padded == length else {
      throw CryptoError(.invalidPadding, "padding failed")
    }
    return out
  }

  /// Removes padding made by `pad`. Fails if the marker is missing or bytes after it are not
  /// zero.
  ///
  /// Unlike `sodium_unpad`, which walks the whole block byte by byte, this looks at the
  /// zeros from the end eight bytes at a time: it runs on plaintext an AEAD has just
  /// authenticated, in the process that goes on to parse it, where the length it finds is
  /// no secret (DECISIONS 43). The array is shortened in place, not copied.
  public static func unpad(_ bytes: consuming [UInt8]) throws(CryptoError) -> [UInt8] {
    var bytes = bytes
    let length = bytes.withUnsafeBytes { buffer -> Int? in
      var end = buffer.count
      // Whole zero words from the end, then byte by byte.
      while end >= 8, buffer.loadUnaligned(fromByteOffset: end - 8, as: UInt64.self) == 0 {
        end -= 8
      }
      while end > 0, buffer[end - 1] == 0 { end -= 1 }
      guard end > 0, buffer[end - 1] == 0x80 else { return nil }
      return end - 1
    }
    guard let length else { throw CryptoError(.invalidPadding, "padding is malformed") }
    bytes.removeLast(bytes.count - length)
    return bytes
  }
}
