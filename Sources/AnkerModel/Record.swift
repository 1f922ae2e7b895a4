import AnkerCrypto
import AnkerLog

/// The plaintext inside a sealed body: one record of the journal.
///
///     0x01 ‖ kind varint ‖ time ms varint ‖ time counter varint ‖ field count varint
///          ‖ (tag varint ‖ length varint ‖ bytes)… with tags strictly ascending
///
/// Fields are tagged so new record kinds and new fields need no new log format; a reader
/// keeps what it does not understand and ignores it.
public struct Record: Hashable, Sendable {
  public static let version: UInt8 = 1

  public var kind: RecordKind
  /// When it was written (hybrid logical clock): for display and for ranking concurrent
  /// values, never for causality.
  public var time: Timestamp
  public var fields: [Tag: [UInt8]]

  public init(kind: RecordKind, time: Timestamp, fields: [Tag: [UInt8]] = [:]) {
    self.kind = kind
    self.time = time
    self.fields = fields
  }

  public var encoded: [UInt8] {
    var writer = ByteWriter()
    writer.byte(Self.version)
    writer.varint(kind.rawValue)
    writer.varint(time.milliseconds)
    writer.varint(UInt64(time.counter))
    writer.varint(UInt64(fields.count))
    for tag in fields.keys.sorted() {
      let value = fields[tag]!
      writer.varint(tag.rawValue)
      writer.varint(UInt64(value.count))
      writer.append(value)
    }
    return writer.bytes
  }

  public init(decoding bytes: [UInt8]) throws(ModelError) {
    do {
      var reader = ByteReader(bytes)
      guard try reader.byte("record version") == Self.version else {
        throw ModelError(.malformedRecord, "unknown record version")
      }
      kind = RecordKind(rawValue: try reader.varint("record kind"))
      let milliseconds = try reader.varint("record time")
      let counter = try reader.varint("record counter")
      guard counter <= UInt64(UInt32.max) else {
        throw ModelError(.malformedRecord, "record time counter out of range")
      }
      time = Timestamp(milliseconds: milliseconds, counter: UInt32(counter))
      let count = try reader.varint("field count")
      var fields: [Tag: [UInt8]] = [:]
      var last: UInt64?
      for _ in 0..<count {
        let tag = try reader.varint("field tag")
        if let last, tag <= last {
          throw ModelError(.malformedRecord, "record fields are not in ascending order")
        }
        last = tag
        let length = try reader.varint("field length")
        guard length <= UInt64(reader.remaining) else {
          throw ModelError(.malformedRecord, "record field runs past the end")
        }
        fields[Tag(rawValue: tag)] = Array(try reader.take(Int(length), "field"))
      }
      try reader.expectEnd("record")
      self.fields = fields
    } catch let error as LogError {
      throw ModelError(.malformedRecord, "record is malformed: \(error.code)")
    } catch let error as ModelError {
      throw error
    } catch {
      throw ModelError(.malformedRecord, "record is malformed")
    }
  }
}

/// A record's kind. Unknown kinds decode and are ignored, so later versions can add kinds.
public struct RecordKind: Hashable, Sendable, Comparable {
  public let rawValue: UInt64
  public init(rawValue: UInt64) { self.rawValue = rawValue }
  public static func < (lhs: RecordKind, rhs: RecordKind) -> Bool { lhs.rawValue < rhs.rawValue }

  // Keys.
  public static let epochLink = RecordKind(rawValue: 1)
  public static let caseKey = RecordKind(rawValue: 2)
  // People and clients (under the epoch key).
  public static let person = RecordKind(rawValue: 3)
  public static let clientCreated = RecordKind(rawValue: 10)
  public static let clientField = RecordKind(rawValue: 11)
  /// A field of a client's identity vault, under the vault's own key.
  public static let identityField = RecordKind(rawValue: 12)
  // Cases (under the case key).
  public static let caseCreated = RecordKind(rawValue: 20)
  public static let caseField = RecordKind(rawValue: 21)
  public static let setAdd = RecordKind(rawValue: 22)
  public static let setRemove = RecordKind(rawValue: 23)
  public static let note = RecordKind(rawValue: 24)
  public static let amend = RecordKind(rawValue: 25)
  public static let strike = RecordKind(rawValue: 26)
  public static let riskAssessment = RecordKind(rawValue: 27)
  public static let safetyPlan = RecordKind(rawValue: 28)
  public static let consent = RecordKind(rawValue: 29)
  public static let consentRevoked = RecordKind(rawValue: 30)
  public static let resolve = RecordKind(rawValue: 31)
  /// Under the epoch key: this case was crypto-shredded; forget its keys, whatever arrives.
  public static let caseShredded = RecordKind(rawValue: 32)
  /// Under the case key: a second person approves exporting the case's protected fields
  /// for one named person, until an expiry.
  public static let exportApproval = RecordKind(rawValue: 33)
  /// Under the epoch key: which cases this device opened and when, sealed again to the admin
  /// devices and the recovery key only (DESIGN rule 12).
  public static let readAudit = RecordKind(rawValue: 34)
}

/// A field tag. One number per meaning across all kinds.
public struct Tag: Hashable, Sendable, Comparable {
  public let rawValue: UInt64
  public init(rawValue: UInt64) { self.rawValue = rawValue }
  public static func < (lhs: Tag, rhs: Tag) -> Bool { lhs.rawValue < rhs.rawValue }

  public static let caseID = Tag(rawValue: 1)
  public static let client = Tag(rawValue: 2)
  public static let person = Tag(rawValue: 3)
  public static let epoch = Tag(rawValue: 4)
  public static let previousEpoch = Tag(rawValue: 5)
  public static let candidate = Tag(rawValue: 6)
  public static let wrapped = Tag(rawValue: 7)
  public static let generation = Tag(rawValue: 8)
  public static let restrictedTo = Tag(rawValue: 9)
  public static let key = Tag(rawValue: 10)
  public static let sealed = Tag(rawValue: 11)
  public static let previous = Tag(rawValue: 12)
  public static let name = Tag(rawValue: 13)
  public static let alias = Tag(rawValue: 14)
  public static let code = Tag(rawValue: 15)
  public static let ageBand = Tag(rawValue: 16)
  public static let languages = Tag(rawValue: 17)
  public static let pronouns = Tag(rawValue: 18)
  public static let caseType = Tag(rawValue: 19)
  public static let field = Tag(rawValue: 20)
  public static let value = Tag(rawValue: 21)
  public static let set = Tag(rawValue: 22)
  public static let element = Tag(rawValue: 23)
  public static let replaces = Tag(rawValue: 24)
  public static let noteKind = Tag(rawValue: 25)
  public static let eventTime = Tag(rawValue: 26)
  public static let text = Tag(rawValue: 27)
  public static let note = Tag(rawValue: 28)
  public static let reason = Tag(rawValue: 29)
  public static let instrument = Tag(rawValue: 30)
  public static let instrumentVersion = Tag(rawValue: 31)
  public static let answers = Tag(rawValue: 32)
  public static let score = Tag(rawValue: 33)
  public static let judgement = Tag(rawValue: 34)
  public static let assessor = Tag(rawValue: 35)
  public static let nextReview = Tag(rawValue: 36)
  public static let purpose = Tag(rawValue: 37)
  public static let recipient = Tag(rawValue: 38)
  public static let form = Tag(rawValue: 39)
  public static let expiry = Tag(rawValue: 40)
  public static let consent = Tag(rawValue: 41)
  /// Marks a key record as a client's identity vault key (its case id is the client id).
  public static let vault = Tag(rawValue: 42)
  /// On a note: its writer saw the case closed.
  public static let late = Tag(rawValue: 43)
  /// On a safety plan: it resolves concurrent versions (it may replace several).
  public static let resolution = Tag(rawValue: 44)
  /// On a read audit: nonce ‖ XChaCha20-Poly1305(audit key, the reads).
  public static let payload = Tag(rawValue: 45)
}
