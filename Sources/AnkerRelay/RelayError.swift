import AnkerStore

/// Why the relay refused a request. `code` is stable and goes into the JSON error body with
/// `message`, a sentence for people; neither carries internal detail, SQL or client data.
public struct RelayError: Error, Hashable, Sendable, CustomStringConvertible {
  public struct Code: Hashable, Sendable, CustomStringConvertible {
    public let raw: String
    public let status: Int
    init(_ raw: String, _ status: Int) {
      self.raw = raw
      self.status = status
    }
    public var description: String { raw }

    public static let badRequest = Code("badRequest", 400)
    public static let malformedEntry = Code("malformedEntry", 400)
    public static let wrongJournal = Code("wrongJournal", 400)
    public static let unauthenticated = Code("unauthenticated", 401)
    public static let badSignature = Code("badSignature", 401)
    public static let unknownDevice = Code("unknownDevice", 401)
    public static let staleTime = Code("staleTime", 401)
    public static let replayed = Code("replayed", 401)
    public static let revoked = Code("revoked", 403)
    public static let pendingEnrolment = Code("pendingEnrolment", 403)
    public static let notAdmin = Code("notAdmin", 403)
    public static let journalNotAllowed = Code("journalNotAllowed", 403)
    public static let unknownInvite = Code("unknownInvite", 404)
    public static let inviteUsed = Code("inviteUsed", 409)
    public static let inviteExists = Code("inviteExists", 409)
    public static let inviteExpired = Code("inviteExpired", 410)
    public static let recoveryVetoed = Code("recoveryVetoed", 403)
    public static let notFound = Code("notFound", 404)
    public static let unknownJournal = Code("unknownJournal", 404)
    public static let journalExists = Code("journalExists", 409)
    public static let tooLarge = Code("tooLarge", 413)
    public static let quotaExceeded = Code("quotaExceeded", 507)
    public static let unavailable = Code("unavailable", 503)
    public static let `internal` = Code("internal", 500)
  }

  public let code: Code
  public let message: String
  /// With `staleTime`: the relay's clock, so the client can retry.
  public var serverTime: UInt64?

  public init(_ code: Code, _ message: String, serverTime: UInt64? = nil) {
    self.code = code
    self.message = message
    self.serverTime = serverTime
  }

  /// A storage failure: the operator's log gets the store's code, the client a plain 500/503.
  init(_ error: StoreError) {
    switch error.code {
    case .busy: self.init(.unavailable, "the relay is busy: retry shortly")
    default: self.init(.internal, "the relay could not complete the request")
    }
  }

  public var description: String { "\(code.raw): \(message)" }
}
