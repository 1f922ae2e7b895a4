import AnkerCrypto
import AnkerLog

/// How a device signs a request to the relay (DESIGN rule 8). The signed message is
///
///     "anker request v1" ‖ 0x00 ‖ text(origin) ‖ journal [32] ‖ text(method)
///       ‖ text(path with query) ‖ BLAKE2b-256(body) [32] ‖ u64 BE time ‖ nonce [16]
///
/// where text(s) is u32 BE length ‖ UTF-8. It travels in four headers.
public enum RequestSignature {
  public static let context = Array("anker request v1".utf8) + [0]
  public static let deviceHeader = "anker-device"
  public static let timeHeader = "anker-time"
  public static let nonceHeader = "anker-nonce"
  public static let signatureHeader = "anker-signature"
  public static let nonceCount = 16
  /// How far a request's time may be from the relay's (milliseconds).
  public static let allowedSkew: UInt64 = 5 * 60 * 1000

  public static func message(
    origin: String, journal: JournalID, method: String, pathWithQuery: String,
    body: some ByteSource, time: UInt64, nonce: [UInt8]
  ) -> [UInt8] {
    var out = context
    Wire.appendText(origin, to: &out)
    journal.appendBytes(to: &out)
    Wire.appendText(method.uppercased(), to: &out)
    Wire.appendText(pathWithQuery, to: &out)
    BLAKE2b.hash256(body).appendBytes(to: &out)
    Wire.appendU64(time, to: &out)
    out += nonce
    return out
  }

  /// The four headers for a request.
  public static func headers(
    signedBy key: Signing.PrivateKey, origin: String, journal: JournalID, method: String,
    pathWithQuery: String, body: [UInt8], time: UInt64, nonce: [UInt8]
  ) -> [(String, String)] {
    let signature = key.signature(
      for: message(
        origin: origin, journal: journal, method: method, pathWithQuery: pathWithQuery,
        body: body, time: time, nonce: nonce))
    return [
      (deviceHeader, key.publicKey.digest.hex),
      (timeHeader, String(time)),
      (nonceHeader, Hex.encode(nonce)),
      (signatureHeader, Hex.encode(signature)),
    ]
  }
}

/// The relay's JSON error body: a stable code and a sentence for people. `serverTime` comes
/// with `staleTime`, so a client whose clock drifts can retry.
public struct RelayErrorBody: Codable, Sendable, Equatable {
  public var error: String
  public var message: String
  public var serverTime: UInt64?

  public init(error: String, message: String, serverTime: UInt64? = nil) {
    self.error = error
    self.message = message
    self.serverTime = serverTime
  }
}

/// The relay's answer to a push.
public struct PushResult: Codable, Sendable, Equatable {
  /// Entries stored by this push.
  public var accepted: Int
  /// Entries the relay already held (a no-op).
  public var known: Int
  /// Parents the relay lacks (hex ids): send them, then the entries that cite them again.
  public var missing: [String]
  /// Entries refused, with why.
  public var refused: [Refusal]
  /// The relay's signed checkpoint after this push (hex of `RelayCheckpoint.encoded`).
  public var checkpoint: String

  public struct Refusal: Codable, Sendable, Equatable {
    public var id: String
    public var reason: String
    public init(id: String, reason: String) {
      self.id = id
      self.reason = reason
    }
  }

  public init(
    accepted: Int, known: Int, missing: [String], refused: [Refusal], checkpoint: String
  ) {
    self.accepted = accepted
    self.known = known
    self.missing = missing
    self.refused = refused
    self.checkpoint = checkpoint
  }
}

/// `GET /v1/relay`: who the relay is.
public struct RelayInfo: Codable, Sendable, Equatable {
  /// The relay's Ed25519 key (hex): it signs checkpoints.
  public var key: String
  public var origin: String
  public var time: UInt64
  public var version: String

  public init(key: String, origin: String, time: UInt64, version: String) {
    self.key = key
    self.origin = origin
    self.time = time
    self.version = version
  }
}

/// The response headers of a page.
public enum PageHeaders {
  /// Hex of the relay's checkpoint at the page's last entry (or at the cursor for an empty page).
  public static let checkpoint = "anker-checkpoint"
  /// The relay's newest sequence number.
  public static let head = "anker-head"
}
