/// Why a restore could not even be checked. Faults found while checking are not errors: they
/// are in the `RestoreReport`. Messages name files, ids and counts, never content or keys.
public struct RestoreError: Error, Hashable, Sendable, CustomStringConvertible {
  public enum Code: String, Hashable, Sendable {
    /// The backup file or the relay's answers cannot be read (damaged, truncated, not a
    /// relay store, no answer).
    case unreadableSource
    /// The journal asked for is not there, or several are and none was chosen.
    case journalNotChosen
    /// The genesis names other recovery keys: a wrong paper key, or a fake journal.
    case notThisJournal
    /// The paper key could not be read or does not parse.
    case invalidRecoveryKey
    /// The checkpoint file cannot be read or does not verify.
    case invalidCheckpoint
    /// The export directory cannot be made or written.
    case exportFailed
    /// `rebuild`: the new journal folder cannot be made, opened (a wrong passphrase) or
    /// written.
    case rebuildFailed
    /// `rebuild --finish`: the recovery enrolment does not count: its time lock still runs,
    /// or an admin vetoed it.
    case enrolmentNotInForce
  }

  public let code: Code
  public let message: String
  public let hint: String?

  public init(_ code: Code, _ message: String, hint: String? = nil) {
    self.code = code
    self.message = message
    self.hint = hint
  }

  public var description: String { "\(code.rawValue): \(message)" }
}
