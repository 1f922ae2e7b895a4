/// The one error type of `AnkerLog`: why an entry could not be decoded, authenticated or
/// accepted. `description` never holds content: only the failure and, at most, an entry id.
public struct LogError: Error, Hashable, Sendable, CustomStringConvertible {
  /// A stable name for the failure; test vectors name these strings.
  public struct Code: Hashable, Sendable, CustomStringConvertible, Comparable {
    public let raw: String
    public init(_ raw: String) { self.raw = raw }
    public var description: String { raw }
    public static func < (lhs: Code, rhs: Code) -> Bool { lhs.raw < rhs.raw }

    // Decoding.
    public static let truncated = Code("truncated")
    public static let trailingBytes = Code("trailingBytes")
    public static let nonCanonicalInteger = Code("nonCanonicalInteger")
    public static let unknownVersion = Code("unknownVersion")
    public static let fieldTooLarge = Code("fieldTooLarge")
    public static let parentsNotSorted = Code("parentsNotSorted")
    public static let prevNotInParents = Code("prevNotInParents")
    public static let invalidSequence = Code("invalidSequence")
    public static let invalidLamport = Code("invalidLamport")
    public static let invalidBodyFlag = Code("invalidBodyFlag")
    public static let bodyHashMismatch = Code("bodyHashMismatch")
    public static let unknownBodyKind = Code("unknownBodyKind")
    public static let unpaddedBody = Code("unpaddedBody")
    public static let malformedControl = Code("malformedControl")
    // Authentication.
    public static let badSignature = Code("badSignature")
    public static let idMismatch = Code("idMismatch")
    // Placement in the DAG.
    public static let wrongJournal = Code("wrongJournal")
    public static let lamportMismatch = Code("lamportMismatch")
    public static let prevMismatch = Code("prevMismatch")
    public static let unexpectedRoot = Code("unexpectedRoot")
    // Membership.
    public static let notMember = Code("notMember")
    public static let notAdmin = Code("notAdmin")
    public static let removedDevice = Code("removedDevice")
    public static let invalidGenesis = Code("invalidGenesis")
    public static let invalidControl = Code("invalidControl")
    public static let notRecoveryAuthority = Code("notRecoveryAuthority")
    public static let recoveryVetoed = Code("recoveryVetoed")
    // Content.
    public static let authenticationFailed = Code("authenticationFailed")
  }

  public let code: Code
  public let message: String

  public init(_ code: Code, _ message: String) {
    self.code = code
    self.message = message
  }

  public var description: String { "\(code): \(message)" }
}
