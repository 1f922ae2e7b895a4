import AnkerCrypto
import AnkerLog

/// A one-time enrolment code an admin hands a new laptop (DESIGN rule 6, DECISIONS 38).
///
/// It carries a 128-bit secret, the journal's genesis id (which names the journal), the
/// inviting admin's fingerprint, the role and an expiry. From the secret come two values the
/// relay never sees together with it:
///
/// - the **token**, `BLAKE2b-256(key: secret, "anker invite token v1")`, which the new
///   laptop presents once; the relay stores only `BLAKE2b-256("anker invite token hash v1" ‖
///   token)`, registered by the admin, and takes the token a single time before the expiry;
/// - the **MAC key**, `BLAKE2b-256(key: secret, "anker invite mac v1")`, under which the new
///   laptop authenticates the genesis id, the role and its new public keys; only the admin's
///   laptop, which kept the secret in its sealed store, can check it.
public struct InviteCode: Sendable {
  public static let prefix = "anker-invite:"
  public static let secretCount = 16
  public static let adminFingerprintCount = 10
  static let version: UInt8 = 1
  static let encodedCount = 1 + secretCount + 32 + adminFingerprintCount + 1 + 8 + 4

  public let secret: SecureBytes
  public let genesis: EntryID
  /// The first 10 bytes of the inviting admin's fingerprint (`Fingerprint.of` its signing
  /// and box keys), shown as `anker devices list` shows fingerprints.
  public let admin: [UInt8]
  public let role: Role
  /// Milliseconds since 1970.
  public let expires: UInt64

  public init(secret: SecureBytes, genesis: EntryID, admin: [UInt8], role: Role, expires: UInt64) {
    precondition(secret.count == Self.secretCount && admin.count == Self.adminFingerprintCount)
    self.secret = secret
    self.genesis = genesis
    self.admin = admin
    self.role = role
    self.expires = expires
  }

  /// A new invite with a fresh secret.
  public init(
    genesis: EntryID, adminDevice: Signing.PublicKey, adminBox: Box.PublicKey, role: Role,
    expires: UInt64, using random: inout some RandomSource
  ) {
    self.init(
      secret: SecureBytes(randomCount: Self.secretCount, using: &random), genesis: genesis,
      admin: Self.fingerprintBytes(device: adminDevice, box: adminBox), role: role,
      expires: expires)
  }

  /// The raw bytes behind a device's fingerprint (`Fingerprint.of(device ‖ box)`).
  public static func fingerprintBytes(device: Signing.PublicKey, box: Box.PublicKey) -> [UInt8] {
    Array(BLAKE2b.hash(device.bytes + box.bytes, outputLength: 32).prefix(adminFingerprintCount))
  }

  /// The admin's fingerprint as people read it: five groups of four hex digits.
  public var adminFingerprint: String {
    let hex = Hex.encode(admin)
    return stride(from: 0, to: hex.count, by: 4).map { start in
      let from = hex.index(hex.startIndex, offsetBy: start)
      return String(hex[from..<hex.index(from, offsetBy: 4)])
    }.joined(separator: "-")
  }

  // MARK: - Derived values

  /// What the new laptop presents to the relay, once.
  public var token: [UInt8] {
    BLAKE2b.keyedHash256(Array("anker invite token v1".utf8), key: secret)
  }

  /// What the relay stores and the admin registers: a hash of the token.
  public static func tokenHash(_ token: [UInt8]) -> Digest256 {
    BLAKE2b.hash256(parts: [Array("anker invite token hash v1".utf8), token])
  }

  public var tokenHash: Digest256 { Self.tokenHash(token) }

  /// The MAC over what the new laptop asks for: the genesis id (which names the journal),
  /// the role and its two public keys.
  public func mac(device: Signing.PublicKey, box: Box.PublicKey, role: Role) -> [UInt8] {
    var keyBytes = BLAKE2b.keyedHash256(Array("anker invite mac v1".utf8), key: secret)
    let key = SecureBytes(copying: keyBytes)
    ConstantTime.zero(&keyBytes)
    let message =
      Array("anker enrolment v1".utf8) + genesis.bytes + [role.rawValue] + device.bytes
      + box.bytes
    return BLAKE2b.keyedHash256(message, key: key)
  }

  /// The request a new laptop with these keys sends the relay.
  public func request(device: Signing.PublicKey, box: Box.PublicKey) -> EnrolmentRequest {
    EnrolmentRequest(
      token: token, role: role, device: device, box: box,
      mac: mac(device: device, box: box, role: role))
  }

  /// Whether `request` was made with this invite's secret, for this role (constant time).
  public func authenticates(_ request: EnrolmentRequest) -> Bool {
    let expected = mac(device: request.device, box: request.box, role: request.role)
    let macOK = ConstantTime.equals(expected, request.mac)
    let tokenOK = ConstantTime.equals(token, request.token)
    return macOK && tokenOK && request.role == role
  }

  // MARK: - Text

  /// `anker-invite:` and the code's bytes in base32, in groups of four.
  public var text: String {
    var bytes = [Self.version] + secret.unsafeCopy()
    defer { ConstantTime.zero(&bytes) }
    bytes += genesis.bytes + admin + [role.rawValue]
    withUnsafeBytes(of: expires.bigEndian) { bytes += $0 }
    bytes += Self.check(bytes)
    var encoded = Base32.encode(bytes)
    defer { encoded = "" }
    let groups = stride(from: 0, to: encoded.count, by: 4).map { start in
      let from = encoded.index(encoded.startIndex, offsetBy: start)
      return String(
        encoded[
          from..<(encoded.index(from, offsetBy: 4, limitedBy: encoded.endIndex) ?? encoded.endIndex)
        ])
    }
    return Self.prefix + groups.joined(separator: "-")
  }

  public enum DecodingError: Error, Equatable {
    /// Not an invite code at all.
    case notAnInvite
    /// An invite code with a typo or a missing part (its check digits do not match).
    case damaged
  }

  /// Reads a code, forgiving case, spaces, line breaks and dashes.
  public init(text: String) throws(DecodingError) {
    let cleaned = text.filter { !$0.isWhitespace }
    guard cleaned.lowercased().hasPrefix(Self.prefix) else { throw .notAnInvite }
    let body = cleaned.dropFirst(Self.prefix.count).filter { $0 != "-" }.uppercased()
    guard var bytes = Base32.decode(body) else { throw .damaged }
    defer { ConstantTime.zero(&bytes) }
    guard bytes.count == Self.encodedCount, bytes[0] == Self.version else { throw .damaged }
    let payload = Array(bytes[0..<(bytes.count - 4)])
    guard ConstantTime.equals(Self.check(payload), Array(bytes.suffix(4))) else {
      throw .damaged
    }
    var offset = 1
    let secret = SecureBytes(copying: bytes[offset..<(offset + Self.secretCount)])
    offset += Self.secretCount
    guard let genesis = Digest256(bytes[offset..<(offset + 32)]) else { throw .damaged }
    offset += 32
    let admin = Array(bytes[offset..<(offset + Self.adminFingerprintCount)])
    offset += Self.adminFingerprintCount
    guard let role = Role(rawValue: bytes[offset]) else { throw .damaged }
    offset += 1
    let expires = bytes[offset..<(offset + 8)].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    self.init(secret: secret, genesis: genesis, admin: admin, role: role, expires: expires)
  }

  /// Four check bytes against typos: not a security measure (the MAC and the token are).
  private static func check(_ bytes: [UInt8]) -> [UInt8] {
    Array(BLAKE2b.hash(Array("anker invite check".utf8) + bytes, outputLength: 32).prefix(4))
  }
}

/// What a new laptop sends the relay with an invite (`POST /v1/enrolments`), 130 bytes:
/// version 1 ‖ token (32) ‖ role (1) ‖ signing key (32) ‖ box key (32) ‖ MAC (32).
public struct EnrolmentRequest: Hashable, Sendable {
  public static let encodedCount = 130
  public let token: [UInt8]
  public let role: Role
  public let device: Signing.PublicKey
  public let box: Box.PublicKey
  public let mac: [UInt8]

  public init(
    token: [UInt8], role: Role, device: Signing.PublicKey, box: Box.PublicKey, mac: [UInt8]
  ) {
    self.token = token
    self.role = role
    self.device = device
    self.box = box
    self.mac = mac
  }

  public var encoded: [UInt8] {
    [1] + token + [role.rawValue] + device.bytes + box.bytes + mac
  }

  public init?(decoding bytes: some Collection<UInt8>) {
    let bytes = Array(bytes)
    guard bytes.count == Self.encodedCount, bytes[0] == 1,
      let role = Role(rawValue: bytes[33]), let device = Signing.PublicKey(bytes[34..<66]),
      let box = Box.PublicKey(bytes[66..<98])
    else { return nil }
    self.init(
      token: Array(bytes[1..<33]), role: role, device: device, box: box,
      mac: Array(bytes[98..<130]))
  }

  /// The fingerprint both screens show: the same as `DeviceRequest.fingerprint`.
  public var fingerprint: String { Fingerprint.of(device.bytes + box.bytes) }
}

/// One enrolment request as the relay hands it to the inviting admin: the invite's token hash
/// (32) ‖ arrival time in ms (8) ‖ the request (130).
public struct PendingEnrolment: Hashable, Sendable {
  public static let encodedCount = 32 + 8 + EnrolmentRequest.encodedCount
  public let invite: Digest256
  public let arrived: UInt64
  public let request: EnrolmentRequest

  public init(invite: Digest256, arrived: UInt64, request: EnrolmentRequest) {
    self.invite = invite
    self.arrived = arrived
    self.request = request
  }

  public var encoded: [UInt8] {
    var out = invite.bytes
    withUnsafeBytes(of: arrived.bigEndian) { out += $0 }
    return out + request.encoded
  }

  /// A list of them, back to back; nil when the bytes are not whole records.
  public static func decodeList(_ bytes: [UInt8]) -> [PendingEnrolment]? {
    guard bytes.count % encodedCount == 0 else { return nil }
    var out = [PendingEnrolment]()
    var offset = 0
    while offset < bytes.count {
      guard let invite = Digest256(bytes[offset..<(offset + 32)]),
        let request = EnrolmentRequest(decoding: bytes[(offset + 40)..<(offset + encodedCount)])
      else { return nil }
      let arrived = bytes[(offset + 32)..<(offset + 40)].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
      out.append(PendingEnrolment(invite: invite, arrived: arrived, request: request))
      offset += encodedCount
    }
    return out
  }
}

/// RFC 4648 base32 without padding (upper case): codes people may have to read or type. The
/// bits are packed as the paper key packs them (`RecoveryKey.toBase32`); only the alphabet
/// differs.
enum Base32 {
  static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)

  static func encode(_ bytes: [UInt8]) -> String {
    String(decoding: RecoveryKey.toBase32(bytes).map { alphabet[Int($0)] }, as: UTF8.self)
  }

  static func decode(_ text: String) -> [UInt8]? {
    var symbols = [UInt8]()
    for character in text.utf8 {
      guard let value = alphabet.firstIndex(of: character) else { return nil }
      symbols.append(UInt8(value))
    }
    // Leftover bits must be padding zeros.
    return RecoveryKey.fromBase32(symbols)
  }
}
