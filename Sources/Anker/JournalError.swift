public import AnkerModel
public import AnkerStore
import AnkerSync

/// The one error type of `Anker`. `description` is safe to log: never content, names, keys
/// or passphrases.
public struct JournalError: Error, Hashable, Sendable, CustomStringConvertible {
  public struct Code: Hashable, Sendable, CustomStringConvertible {
    public let raw: String
    public init(_ raw: String) { self.raw = raw }
    public var description: String { raw }

    /// The journal is locked: unlock it with the passphrase.
    public static let locked = Code("locked")
    /// The store refused (see `cause`).
    public static let store = Code("store")
    /// The journal refused the write (see `cause`).
    public static let model = Code("model")
    /// What was given to join does not belong to this journal or does not verify.
    public static let invalidLog = Code("invalidLog")
    /// This device is not (yet) a member.
    public static let notEnrolled = Code("notEnrolled")
    /// Protected fields need a second person's approval.
    public static let approvalNeeded = Code("approvalNeeded")
    public static let invalidArgument = Code("invalidArgument")
    /// A sync stopped (the cause is a `SyncError`); everything taken before is kept.
    public static let sync = Code("sync")
  }

  public let code: Code
  public let message: String
  public let cause: (any Error & Sendable)?

  public init(_ code: Code, _ message: String, cause: (any Error & Sendable)? = nil) {
    self.code = code
    self.message = message
    self.cause = cause
  }

  init(_ error: StoreError) {
    self.init(.store, error.message, cause: error)
  }

  init(_ error: ModelError) {
    self.init(.model, error.message, cause: error)
  }

  /// Wraps whatever a store or model call threw.
  init(_ error: any Error) {
    switch error {
    case let error as JournalError: self = error
    case let error as StoreError: self.init(error)
    case let error as ModelError: self.init(error)
    case let error as SyncError: self.init(.sync, error.message, cause: error)
    default: self.init(.store, "the operation failed")
    }
  }

  /// The store's code, when the store refused.
  public var storeCode: StoreError.Code? { (cause as? StoreError)?.code }
  /// The model's code, when the journal refused a write.
  public var modelCode: ModelError.Code? { (cause as? ModelError)?.code }

  public var description: String {
    if let storeCode { return "\(code)/\(storeCode): \(message)" }
    if let modelCode { return "\(code)/\(modelCode): \(message)" }
    return "\(code): \(message)"
  }

  public static func == (lhs: JournalError, rhs: JournalError) -> Bool {
    lhs.description == rhs.description
  }

  public func hash(into hasher: inout Hasher) { hasher.combine(description) }
}
