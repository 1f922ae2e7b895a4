/// The one error type of `AnkerStore`. `description` never holds content, keys or
/// passphrases: only what went wrong, what to do, and SQLite's result code where one applies.
public struct StoreError: Error, Hashable, Sendable, CustomStringConvertible {
  public struct Code: Hashable, Sendable, CustomStringConvertible {
    public let raw: String
    public init(_ raw: String) { self.raw = raw }
    public var description: String { raw }

    /// No store at that path (or no key file in it).
    public static let notFound = Code("notFound")
    /// A store is already there.
    public static let exists = Code("exists")
    /// The passphrase does not open the key file.
    public static let wrongPassphrase = Code("wrongPassphrase")
    /// Too many wrong passphrases: wait before the next try.
    public static let tooManyAttempts = Code("tooManyAttempts")
    /// A file of the store is damaged or truncated.
    public static let corrupt = Code("corrupt")
    /// The store was written by a newer version of Anker.
    public static let newerFormat = Code("newerFormat")
    /// Another process has this store open.
    public static let busy = Code("busy")
    /// The store is locked: unlock it first.
    public static let locked = Code("locked")
    /// The key material was destroyed (duress passphrase or panic).
    public static let wiped = Code("wiped")
    /// The file system refused (permissions, disk full).
    public static let io = Code("io")
  }

  public let code: Code
  public let message: String
  /// SQLite's extended result code, when SQLite reported the failure.
  public let sqliteCode: Int32?

  public init(_ code: Code, _ message: String, sqliteCode: Int32? = nil) {
    self.code = code
    self.message = message
    self.sqliteCode = sqliteCode
  }

  public var description: String {
    if let sqliteCode { return "\(code): \(message) (SQLite code \(sqliteCode))" }
    return "\(code): \(message)"
  }
}
