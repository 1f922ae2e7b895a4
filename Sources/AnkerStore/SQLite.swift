internal import CSQLite

/// A thin wrapper over one SQLite connection: prepared statements, blobs in and out,
/// transactions. Every error becomes a `StoreError`; SQL text and bound values never appear
/// in one (they may hold ciphertext sizes, never content, but stay out anyway).
package final class SQLiteDatabase {
  private var handle: OpaquePointer?
  private var cache: [String: SQLiteStatement] = [:]

  /// `readOnly` opens a file that must not change (a backup being checked); it wins over
  /// `create`.
  package init(path: String, create: Bool, readOnly: Bool = false) throws(StoreError) {
    var flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX
    if create { flags |= SQLITE_OPEN_CREATE }
    if readOnly { flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX }
    let status = sqlite3_open_v2(path, &handle, flags, nil)
    guard status == SQLITE_OK else {
      let code = handle.map { sqlite3_extended_errcode($0) } ?? status
      sqlite3_close_v2(handle)
      handle = nil
      throw Self.error(code, "cannot open the store database")
    }
    sqlite3_extended_result_codes(handle, 1)
  }

  deinit { close() }

  package func close() {
    cache.removeAll()
    if let handle { sqlite3_close_v2(handle) }
    handle = nil
  }

  /// Runs statements that return no rows (schema, pragmas).
  package func execute(_ sql: String) throws(StoreError) {
    let status = sqlite3_exec(handle, sql, nil, nil, nil)
    guard status == SQLITE_OK else { throw failure(status, "a store statement failed") }
  }

  /// A prepared statement, cached by its SQL.
  package func statement(_ sql: String) throws(StoreError) -> SQLiteStatement {
    if let cached = cache[sql] {
      cached.reset()
      return cached
    }
    var raw: OpaquePointer?
    let status = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &raw, nil)
    guard status == SQLITE_OK, let raw else {
      throw failure(status, "the store's schema is not what this version expects")
    }
    let statement = SQLiteStatement(raw, database: self)
    cache[sql] = statement
    return statement
  }

  /// One value from a single-row query (a pragma).
  package func scalarText(_ sql: String) throws(StoreError) -> String? {
    let statement = try statement(sql)
    defer { statement.reset() }
    guard try statement.step() else { return nil }
    return statement.text(0)
  }

  package func transaction<R>(_ body: () throws(StoreError) -> R) throws(StoreError) -> R {
    try execute("BEGIN IMMEDIATE")
    do {
      let result = try body()
      try execute("COMMIT")
      return result
    } catch {
      try? execute("ROLLBACK")
      throw error
    }
  }

  /// Runs `body` in a savepoint: inside an open transaction its writes join it (and a
  /// failure undoes only them); outside one it is a transaction of its own.
  package func savepoint<R>(_ body: () throws(StoreError) -> R) throws(StoreError) -> R {
    try execute("SAVEPOINT work")
    do {
      let result = try body()
      try execute("RELEASE work")
      return result
    } catch {
      try? execute("ROLLBACK TO work")
      try? execute("RELEASE work")
      throw error
    }
  }

  package var isInTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

  package var changes: Int { Int(sqlite3_changes(handle)) }
  package var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

  package func failure(_ status: Int32, _ message: String) -> StoreError {
    Self.error(handle.map { sqlite3_extended_errcode($0) } ?? status, message)
  }

  package static func error(_ code: Int32, _ message: String) -> StoreError {
    switch code & 0xff {
    case SQLITE_CORRUPT, SQLITE_NOTADB:
      return StoreError(
        .corrupt,
        "the store database is damaged; restore it from the relay or a backup with anker-restore",
        sqliteCode: code)
    case SQLITE_BUSY, SQLITE_LOCKED:
      return StoreError(.busy, "the store is in use by another process", sqliteCode: code)
    case SQLITE_FULL:
      return StoreError(.io, "the disk is full: free some space and try again", sqliteCode: code)
    case SQLITE_CANTOPEN, SQLITE_PERM, SQLITE_READONLY, SQLITE_IOERR:
      return StoreError(
        .io, "\(message): the file system refused (check permissions and free space)",
        sqliteCode: code)
    default:
      return StoreError(.io, message, sqliteCode: code)
    }
  }
}

/// A prepared statement. Bind with 1-based indexes, read columns with 0-based ones.
package final class SQLiteStatement {
  private let raw: OpaquePointer
  private unowned let database: SQLiteDatabase

  package init(_ raw: OpaquePointer, database: SQLiteDatabase) {
    self.raw = raw
    self.database = database
  }

  deinit { sqlite3_finalize(raw) }

  package func reset() {
    sqlite3_reset(raw)
    sqlite3_clear_bindings(raw)
  }

  @discardableResult
  package func bind(_ index: Int32, _ bytes: [UInt8]) -> Self {
    bytes.withUnsafeBytes {
      _ = anker_sqlite_bind_blob_transient(
        raw, index, $0.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32($0.count))
    }
    return self
  }

  @discardableResult
  package func bind(_ index: Int32, _ value: Int64) -> Self {
    sqlite3_bind_int64(raw, index, value)
    return self
  }

  @discardableResult
  package func bind(_ index: Int32, _ text: String) -> Self {
    var text = text
    text.withUTF8 { utf8 in
      utf8.withMemoryRebound(to: CChar.self) {
        _ = anker_sqlite_bind_text_transient(raw, index, $0.baseAddress, Int32($0.count))
      }
    }
    return self
  }

  /// Runs a statement that returns no rows with two blob parameters SQLite reads where they
  /// are, without a copy: both buffers must stay valid until this returns.
  package func run(
    borrowing first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer
  ) throws(StoreError) {
    bindInPlace(1, first)
    bindInPlace(2, second)
    try run()
  }

  private func bindInPlace(_ index: Int32, _ blob: UnsafeRawBufferPointer) {
    _ = anker_sqlite_bind_blob_static(
      raw, index, blob.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(blob.count))
  }

  /// Steps once: true while a row is there.
  package func step() throws(StoreError) -> Bool {
    let status = sqlite3_step(raw)
    switch status {
    case SQLITE_ROW: return true
    case SQLITE_DONE: return false
    default: throw database.failure(status, "reading or writing the store failed")
    }
  }

  /// Runs a statement that returns no rows.
  package func run() throws(StoreError) {
    defer { reset() }
    while try step() {}
  }

  package func blob(_ column: Int32) -> [UInt8] {
    let count = Int(sqlite3_column_bytes(raw, column))
    guard count > 0, let pointer = sqlite3_column_blob(raw, column) else { return [] }
    return [UInt8](UnsafeRawBufferPointer(start: pointer, count: count))
  }

  package func int(_ column: Int32) -> Int64 { sqlite3_column_int64(raw, column) }

  package func text(_ column: Int32) -> String? {
    guard let pointer = sqlite3_column_text(raw, column) else { return nil }
    return String(cString: pointer)
  }

  package func isNull(_ column: Int32) -> Bool { sqlite3_column_type(raw, column) == SQLITE_NULL }
}
