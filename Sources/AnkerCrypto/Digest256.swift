/// A 32-byte public digest (entry ids, body hashes, key fingerprints).
///
/// Stored as four big-endian words so it hashes and compares quickly; its order is the
/// lexicographic order of its bytes.
public struct Digest256: Hashable, Comparable, Sendable, CustomStringConvertible {
  public static let byteCount = 32

  private let w0: UInt64
  private let w1: UInt64
  private let w2: UInt64
  private let w3: UInt64

  /// The all-zero digest (never the hash of anything in practice).
  public static let zero = Digest256(words: 0, 0, 0, 0)

  private init(words w0: UInt64, _ w1: UInt64, _ w2: UInt64, _ w3: UInt64) {
    self.w0 = w0
    self.w1 = w1
    self.w2 = w2
    self.w3 = w3
  }

  /// Reads 32 bytes; returns nil for any other length.
  public init?(_ bytes: some Collection<UInt8>) {
    guard bytes.count == Self.byteCount else { return nil }
    // Arrays and slices (nearly every caller) are read in place, without an allocation.
    if let digest = bytes.withContiguousStorageIfAvailable({
      Digest256(unsafeBytes: UnsafeRawBufferPointer($0))
    }) {
      self = digest
      return
    }
    var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    for (index, byte) in bytes.enumerated() {
      switch index / 8 {
      case 0: words.0 = words.0 << 8 | UInt64(byte)
      case 1: words.1 = words.1 << 8 | UInt64(byte)
      case 2: words.2 = words.2 << 8 | UInt64(byte)
      default: words.3 = words.3 << 8 | UInt64(byte)
      }
    }
    self.init(words: words.0, words.1, words.2, words.3)
  }

  /// Reads exactly 32 bytes from a raw buffer.
  public init(unsafeBytes buffer: UnsafeRawBufferPointer) {
    precondition(buffer.count == Self.byteCount)
    func word(_ at: Int) -> UInt64 {
      UInt64(bigEndian: buffer.loadUnaligned(fromByteOffset: at, as: UInt64.self))
    }
    self.init(words: word(0), word(8), word(16), word(24))
  }

  /// Parses 64 hexadecimal digits.
  public init?(hex: String) {
    guard let bytes = Hex.decode(hex) else { return nil }
    self.init(bytes)
  }

  /// The 32 bytes.
  public var bytes: [UInt8] {
    var out = [UInt8]()
    out.reserveCapacity(32)
    appendBytes(to: &out)
    return out
  }

  /// Appends the 32 bytes to `out` without an intermediate array.
  public func appendBytes(to out: inout [UInt8]) {
    withUnsafeBytes(of: w0.bigEndian) { out.append(contentsOf: $0) }
    withUnsafeBytes(of: w1.bigEndian) { out.append(contentsOf: $0) }
    withUnsafeBytes(of: w2.bigEndian) { out.append(contentsOf: $0) }
    withUnsafeBytes(of: w3.bigEndian) { out.append(contentsOf: $0) }
  }

  public static func == (lhs: Digest256, rhs: Digest256) -> Bool {
    lhs.w0 == rhs.w0 && lhs.w1 == rhs.w1 && lhs.w2 == rhs.w2 && lhs.w3 == rhs.w3
  }

  /// One word is enough: digests are hash outputs (or keys) spread evenly over all 256
  /// bits, and equal digests have equal words.
  public func hash(into hasher: inout Hasher) { hasher.combine(w0) }

  /// What dictionaries and sets use, without running SipHash for every lookup (they are
  /// the hottest path of placing and evaluating a large log). The per-process, per-table
  /// seed goes through SplitMix64's finaliser with the first word, so which digests share a
  /// bucket cannot be known, let alone chosen, without the seed: a flood of colliding ids
  /// would also need preimages of BLAKE2b.
  public func _rawHashValue(seed: Int) -> Int {
    var z = w0 ^ UInt64(UInt(bitPattern: seed)) ^ 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return Int(truncatingIfNeeded: z ^ (z >> 31))
  }

  public static func < (lhs: Digest256, rhs: Digest256) -> Bool {
    (lhs.w0, lhs.w1, lhs.w2, lhs.w3) < (rhs.w0, rhs.w1, rhs.w2, rhs.w3)
  }

  public var hex: String { Hex.encode(bytes) }
  public var description: String { hex }
  /// The first 8 hex digits, for people and logs.
  public var short: String { String(hex.prefix(8)) }
}

/// Lower-case hexadecimal.
public enum Hex {
  private static let digits = Array("0123456789abcdef".utf8)

  public static func encode(_ bytes: some Sequence<UInt8>) -> String {
    var out = [UInt8]()
    for byte in bytes {
      out.append(digits[Int(byte >> 4)])
      out.append(digits[Int(byte & 0x0f)])
    }
    return String(decoding: out, as: UTF8.self)
  }

  /// Decodes upper- or lower-case hex; nil for odd length or a non-hex digit.
  public static func decode(_ text: String) -> [UInt8]? {
    let chars = Array(text.utf8)
    guard chars.count % 2 == 0 else { return nil }
    var out = [UInt8]()
    out.reserveCapacity(chars.count / 2)
    var index = 0
    while index < chars.count {
      guard let high = value(chars[index]), let low = value(chars[index + 1]) else { return nil }
      out.append(high << 4 | low)
      index += 2
    }
    return out
  }

  private static func value(_ char: UInt8) -> UInt8? {
    switch char {
    case 0x30...0x39: char - 0x30
    case 0x61...0x66: char - 0x61 + 10
    case 0x41...0x46: char - 0x41 + 10
    default: nil
    }
  }
}
