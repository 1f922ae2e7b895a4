/// The one error type of `AnkerModel`. `description` never holds content.
public struct ModelError: Error, Hashable, Sendable, CustomStringConvertible {
  public struct Code: Hashable, Sendable, CustomStringConvertible {
    public let raw: String
    public init(_ raw: String) { self.raw = raw }
    public var description: String { raw }

    public static let malformedRecord = Code("malformedRecord")
    public static let unknownCase = Code("unknownCase")
    public static let noAccess = Code("noAccess")
    public static let notAdmin = Code("notAdmin")
    public static let notMember = Code("notMember")
    public static let unknownNote = Code("unknownNote")
    public static let invalidValue = Code("invalidValue")
    public static let shredded = Code("shredded")
    /// A newer epoch exists that this device holds no key for yet.
    public static let staleKeys = Code("staleKeys")
    /// Only the journal's recovery authority (the paper key) may enrol a device this way.
    public static let notRecoveryAuthority = Code("notRecoveryAuthority")
    /// A recovery enrolment's veto window has closed: a veto now would not count.
    public static let vetoTooLate = Code("vetoTooLate")
  }

  public let code: Code
  public let message: String

  public init(_ code: Code, _ message: String) {
    self.code = code
    self.message = message
  }

  public var description: String { "\(code): \(message)" }
}
