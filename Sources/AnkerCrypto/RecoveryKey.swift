/// The organisation's paper recovery key: 32 random bytes, printed once, never stored.
///
/// Written for people as 14 groups of 5 characters from Crockford's base32 alphabet
/// (no I, L, O, U): 13 groups carry the 256 bits (4 characters each, the last 4 bits zero)
/// plus one check character that depends on the group's position, and a final group carries
/// 20 bits of BLAKE2b over the whole key plus its own check character. A mistyped character
/// is caught by its group (31 in 32) and by the whole-key check (all but 1 in 2^20); two
/// swapped groups fail both their position checks. Parsing ignores case, spaces and dashes
/// and reads O as 0 and I/L as 1.
///
/// From the 32 bytes derive (`crypto_kdf_derive_from_key`, context "ankerrec"): id 1, the
/// seed of the X25519 key every epoch key and restricted case key is sealed to; id 2, the
/// seed of the Ed25519 recovery authority.
public final class RecoveryKey: Sendable {
  public static let byteCount = 32
  static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)
  static let dataGroups = 13
  static let groupCount = 14
  static let groupLength = 5

  private let key: AEAD.Key

  /// A fresh recovery key.
  public convenience init(using random: inout some RandomSource) {
    try! self.init(secret: SecureBytes(randomCount: Self.byteCount, using: &random))
  }

  public convenience init() {
    var random = SystemRandom()
    self.init(using: &random)
  }

  /// Adopts 32 secret bytes.
  public init(secret: SecureBytes) throws(CryptoError) {
    guard secret.count == Self.byteCount else {
      throw CryptoError(.invalidRecoveryKey, "a recovery key is 32 bytes")
    }
    key = try AEAD.Key(secret)
  }

  /// Parses what a person typed back from paper.
  public convenience init(parsing text: String) throws(CryptoError) {
    try self.init(secret: try Self.decode(text))
  }

  /// The X25519 key that epoch keys and restricted case keys are also sealed to.
  public var boxKey: Box.PrivateKey {
    Box.PrivateKey(seed: key.derive(context: "ankerrec", id: 1).secret)
  }

  /// The Ed25519 recovery authority named in the genesis.
  public var authorityKey: Signing.PrivateKey {
    Signing.PrivateKey(seed: key.derive(context: "ankerrec", id: 2).secret)
  }

  /// The text to print on paper, e.g. `7K3QD-...` (14 dash-separated groups). It is the secret
  /// itself: show it once, never log it.
  public var paperText: String {
    var bits = key.secret.unsafeCopy()
    defer { ConstantTime.zero(&bits) }
    var symbols = Self.toBase32(bits)
    defer { ConstantTime.zero(&symbols) }
    var groups = [String]()
    for group in 0..<Self.dataGroups {
      let chunk = Array(symbols[group * 4..<group * 4 + 4])
      groups.append(Self.render(chunk + [Self.check(chunk, group: group)]))
    }
    let sum = Self.wholeKeyChecksum(bits)
    groups.append(Self.render(sum + [Self.check(sum, group: Self.dataGroups)]))
    return groups.joined(separator: "-")
  }

  // MARK: - Encoding

  private static func render(_ symbols: [UInt8]) -> String {
    String(decoding: symbols.map { alphabet[Int($0)] }, as: UTF8.self)
  }

  /// 5-bit symbols, most significant first; 256 bits + 4 zero bits = 52 symbols. (Invite
  /// codes use the same packing with the RFC 4648 alphabet.)
  package static func toBase32(_ bytes: [UInt8]) -> [UInt8] {
    var out = [UInt8]()
    var buffer: UInt32 = 0
    var bits = 0
    for byte in bytes {
      buffer = buffer << 8 | UInt32(byte)
      bits += 8
      while bits >= 5 {
        out.append(UInt8((buffer >> UInt32(bits - 5)) & 31))
        bits -= 5
      }
    }
    if bits > 0 { out.append(UInt8((buffer << UInt32(5 - bits)) & 31)) }
    buffer = 0
    return out
  }

  package static func fromBase32(_ symbols: [UInt8]) -> [UInt8]? {
    var out = [UInt8]()
    var buffer: UInt32 = 0
    var bits = 0
    for symbol in symbols {
      buffer = buffer << 5 | UInt32(symbol)
      bits += 5
      if bits >= 8 {
        out.append(UInt8((buffer >> UInt32(bits - 8)) & 0xff))
        bits -= 8
      }
    }
    // The leftover bits must be zero, so every value has exactly one spelling.
    guard buffer & ((1 << UInt32(bits)) - 1) == 0 else { return nil }
    return out
  }

  static func check(_ symbols: [UInt8], group: Int) -> UInt8 {
    let input = Array("anker-recovery-group".utf8) + [UInt8(group)] + symbols
    return BLAKE2b.hash(input, outputLength: 16)[0] & 31
  }

  static func wholeKeyChecksum(_ bytes: [UInt8]) -> [UInt8] {
    let digest = BLAKE2b.hash(Array("anker-recovery-key".utf8) + bytes, outputLength: 16)
    let value = UInt32(digest[0]) << 12 | UInt32(digest[1]) << 4 | UInt32(digest[2] >> 4)
    return (0..<4).map { UInt8((value >> UInt32(15 - 5 * $0)) & 31) }
  }

  static func symbol(_ char: UInt8) -> UInt8? {
    var upper = char
    if (0x61...0x7a).contains(upper) { upper -= 0x20 }
    switch upper {
    case UInt8(ascii: "O"): upper = UInt8(ascii: "0")
    case UInt8(ascii: "I"), UInt8(ascii: "L"): upper = UInt8(ascii: "1")
    default: break
    }
    return alphabet.firstIndex(of: upper).map(UInt8.init)
  }

  static func decode(_ text: String) throws(CryptoError) -> SecureBytes {
    var symbols = [UInt8]()
    defer { ConstantTime.zero(&symbols) }
    // Separators people type or paste: spaces of any kind, ASCII and typographic dashes.
    let separators: Set<UInt32> = [0x2d, 0x2010, 0x2011, 0x2012, 0x2013, 0x2014, 0x2015, 0x2212]
    for (position, scalar) in text.unicodeScalars.enumerated() {
      if scalar.properties.isWhitespace || separators.contains(scalar.value) { continue }
      guard scalar.isASCII, let value = symbol(UInt8(scalar.value)) else {
        throw CryptoError(
          .invalidRecoveryKey,
          "character \(position + 1) is not one a recovery key uses (0-9 and A-Z without I, L, O, U)"
        )
      }
      symbols.append(value)
    }
    let expected = groupCount * groupLength
    guard symbols.count == expected else {
      throw CryptoError(
        .invalidRecoveryKey,
        "a recovery key has \(groupCount) groups of \(groupLength) characters (\(expected) in all); \(symbols.count) were given"
      )
    }
    for group in 0..<groupCount {
      let start = group * groupLength
      let chunk = Array(symbols[start..<start + 4])
      guard check(chunk, group: group) == symbols[start + 4] else {
        throw CryptoError(
          .invalidRecoveryKey,
          "group \(group + 1) does not check: compare it with the paper again (groups may also be out of order)"
        )
      }
    }
    var data = [UInt8]()
    for group in 0..<dataGroups {
      data.append(contentsOf: symbols[group * groupLength..<group * groupLength + 4])
    }
    defer { ConstantTime.zero(&data) }
    guard var bytes = fromBase32(data), bytes.count == byteCount else {
      throw CryptoError(
        .invalidRecoveryKey, "group 13 is not valid: compare it with the paper again")
    }
    defer { ConstantTime.zero(&bytes) }
    let sumStart = dataGroups * groupLength
    guard wholeKeyChecksum(bytes) == Array(symbols[sumStart..<sumStart + 4]) else {
      throw CryptoError(
        .invalidRecoveryKey,
        "every group checks but the key as a whole does not: a group may be mistyped or two groups swapped"
      )
    }
    return SecureBytes(copying: bytes)
  }
}
