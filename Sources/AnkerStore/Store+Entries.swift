import AnkerCrypto
import AnkerLog

/// An entry as the store keeps it: exactly as signed and sealed, with when this device first
/// saw it (milliseconds), which only the time lock of a recovery enrolment reads.
public struct StoredEntry: Sendable {
  public let entry: Entry
  public let firstSeen: UInt64
}

extension Store {
  private static let entryContext = Array("anker.store.entry.v1".utf8)
  private static let cursorContext = Array("anker.store.cursor.v1".utf8)
  private static let readContext = Array("anker.store.read.v1".utf8)

  /// Stores `entries` in one transaction, committed with `synchronous=FULL`: when this
  /// returns, they survive a power cut. Known ids are skipped (an erased body never comes
  /// back this way). `outbox` marks them as waiting for the relay (this device's own).
  public func append(_ entries: [Entry], outbox: Bool, seen: UInt64) throws(StoreError) {
    var time = [UInt8]()
    withUnsafeBytes(of: seen.bigEndian) { time += $0 }
    var rows = [(id: [UInt8], sealed: [UInt8])]()
    rows.reserveCapacity(entries.count)
    for entry in entries {
      let id = entry.id.bytes
      rows.append((id, try sealLocal(time + entry.encoded, context: Self.entryContext + id)))
    }
    try db.transaction { () throws(StoreError) in
      let insert = try db.statement("INSERT OR IGNORE INTO entry (id, sealed) VALUES (?, ?)")
      let queue = try db.statement("INSERT OR IGNORE INTO outbox (seq) VALUES (?)")
      for row in rows {
        try insert.bind(1, row.id).bind(2, row.sealed).run()
        // A known id inserts nothing: it is neither stored again nor queued again.
        if outbox, db.changes == 1 { try queue.bind(1, db.lastInsertRowID).run() }
      }
    }
  }

  /// Every stored entry in the order this device stored them. A row that fails to decrypt or
  /// decode is an error, never skipped: nothing is dropped silently.
  public func entries() throws(StoreError) -> [StoredEntry] {
    let query = try db.statement("SELECT id, sealed FROM entry ORDER BY seq")
    defer { query.reset() }
    var out = [StoredEntry]()
    while try query.step() {
      let id = query.blob(0)
      let plain = try openLocal(query.blob(1), context: Self.entryContext + id)
      guard plain.count > 8, let entry = try? Entry(decoding: Array(plain[8...])),
        entry.id.bytes == id
      else {
        throw StoreError(.corrupt, "a stored entry does not decode: the store was damaged")
      }
      out.append(
        StoredEntry(entry: entry, firstSeen: plain[0..<8].reduce(0) { $0 << 8 | UInt64($1) }))
    }
    return out
  }

  public var entryCount: Int {
    get throws(StoreError) {
      let query = try db.statement("SELECT count(*) FROM entry")
      defer { query.reset() }
      _ = try query.step()
      return Int(query.int(0))
    }
  }

  /// Replaces stored entries by their body-less form (a crypto-shred erased them). With
  /// `secure_delete` the old bytes are zeroed in the database file; the WAL is truncated.
  public func detachBodies(_ entries: [Entry], seen: UInt64) throws(StoreError) {
    guard !entries.isEmpty else { return }
    var time = [UInt8]()
    withUnsafeBytes(of: seen.bigEndian) { time += $0 }
    try db.transaction { () throws(StoreError) in
      let update = try db.statement("UPDATE entry SET sealed = ? WHERE id = ?")
      for entry in entries {
        let id = entry.id.bytes
        let sealed = try sealLocal(
          time + entry.detachingBody().encoded, context: Self.entryContext + id)
        try update.bind(1, sealed).bind(2, id).run()
      }
    }
    try db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
  }

  // MARK: - Outbox

  /// This device's entries the relay has not acknowledged, oldest first.
  public func outbox() throws(StoreError) -> [Entry] {
    let query = try db.statement(
      "SELECT entry.id, entry.sealed FROM outbox JOIN entry USING (seq) ORDER BY seq")
    defer { query.reset() }
    var out = [Entry]()
    while try query.step() {
      let id = query.blob(0)
      let plain = try openLocal(query.blob(1), context: Self.entryContext + id)
      guard plain.count > 8, let entry = try? Entry(decoding: Array(plain[8...])) else {
        throw StoreError(.corrupt, "a stored entry does not decode: the store was damaged")
      }
      out.append(entry)
    }
    return out
  }

  /// The relay holds these now.
  public func acknowledge(_ ids: [EntryID]) throws(StoreError) {
    try db.transaction { () throws(StoreError) in
      let delete = try db.statement(
        "DELETE FROM outbox WHERE seq = (SELECT seq FROM entry WHERE id = ?)")
      for id in ids { try delete.bind(1, id.bytes).run() }
    }
  }

  // MARK: - Cursors

  public func cursor(_ name: String) throws(StoreError) -> [UInt8]? {
    let query = try db.statement("SELECT sealed FROM cursor WHERE name = ?")
    defer { query.reset() }
    query.bind(1, name)
    guard try query.step() else { return nil }
    return try openLocal(query.blob(0), context: Self.cursorContext + Array(name.utf8))
  }

  public func setCursor(_ name: String, to value: [UInt8]) throws(StoreError) {
    let sealed = try sealLocal(value, context: Self.cursorContext + Array(name.utf8))
    try db.statement("INSERT OR REPLACE INTO cursor (name, sealed) VALUES (?, ?)")
      .bind(1, name).bind(2, sealed).run()
  }

  // MARK: - Read log

  /// Records a read (the caller's encoding), sealed under the local key, until it is written
  /// to the log as a read-audit entry.
  public func logRead(_ record: [UInt8]) throws(StoreError) {
    let sealed = try sealLocal(record, context: Self.readContext)
    try db.statement("INSERT INTO read_log (sealed) VALUES (?)").bind(1, sealed).run()
  }

  /// Reads not yet written to the log, oldest first, with their row numbers.
  public func pendingReads() throws(StoreError) -> [(seq: Int64, record: [UInt8])] {
    let query = try db.statement("SELECT seq, sealed FROM read_log ORDER BY seq")
    defer { query.reset() }
    var out = [(seq: Int64, record: [UInt8])]()
    while try query.step() {
      out.append((query.int(0), try openLocal(query.blob(1), context: Self.readContext)))
    }
    return out
  }

  public func clearReads(through seq: Int64) throws(StoreError) {
    try db.statement("DELETE FROM read_log WHERE seq <= ?").bind(1, seq).run()
  }

  /// SQLite's own check of every page and index: "ok" or a clear error.
  public func checkIntegrity() throws(StoreError) {
    let result = try db.scalarText("PRAGMA integrity_check")
    guard result == "ok" else {
      throw StoreError(
        .corrupt, "the store database failed its integrity check; restore with anker-restore")
    }
  }
}
