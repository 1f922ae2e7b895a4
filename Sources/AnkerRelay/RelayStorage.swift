import AnkerCrypto
import AnkerLog
import AnkerStore
import AnkerSync

/// The relay's embedded store: one SQLite file (`relay.sqlite`, WAL, `synchronous=FULL`)
/// holding, per journal, every entry exactly as signed (ciphertext), its relay sequence
/// number and the sequence log's chain value; the nonces of recent requests; the devices'
/// head attestations. Nothing here is plaintext content. Entries live in an ordinary rowid
/// table (rows of about 1 KiB append at its end); a `WITHOUT ROWID` table keyed by journal and
/// sequence made every push several times slower. There is no index on body hashes (an
/// erasure finds its entries through the relay's in-memory DAG, and the index cost a third of
/// the insert rate) and none on ids (format 4): ids are hashes, so each insert into such an
/// index landed on a random page, and a group of n entries wrote about n index pages to the
/// WAL besides the rows. The relay finds an entry's sequence number by its id in memory
/// (`JournalIndex.sequence(of:)`) and reads it by `(journal, seq)`.
///
/// Writes go through the group commit of `RelayService`: it opens one transaction
/// (`beginGroup`), every request's writes join it in a savepoint, and one `commitGroup`
/// makes them durable together.
final class RelayStorage {
  static let databaseName = "relay.sqlite"
  static let schemaVersion = 4

  let db: SQLiteDatabase
  let path: String

  init(directory: String) throws(StoreError) {
    try FileIO.makePrivateDirectory(directory)
    path = directory + "/" + Self.databaseName
    db = try SQLiteDatabase(path: path, create: true)
    FileIO.restrictToOwner(path)
    guard try db.scalarText("PRAGMA journal_mode=WAL")?.lowercased() == "wal" else {
      throw StoreError(.io, "the relay database cannot use write-ahead logging here")
    }
    try db.execute(
      """
      PRAGMA synchronous=FULL;
      PRAGMA secure_delete=ON;
      PRAGMA trusted_schema=OFF;
      PRAGMA busy_timeout=5000;
      PRAGMA cache_size=-65536;
      """)
    let version = Int(try db.scalarText("PRAGMA user_version") ?? "0") ?? 0
    guard version <= Self.schemaVersion else {
      throw StoreError(.newerFormat, "the relay store was written by a newer anker-relay")
    }
    if version == 0 {
      try db.transaction { () throws(StoreError) in
        try db.execute(
          """
          CREATE TABLE journal (
            id BLOB PRIMARY KEY, head INTEGER NOT NULL, chain BLOB NOT NULL,
            bytes INTEGER NOT NULL, created INTEGER NOT NULL);
          CREATE TABLE entry (
            row INTEGER PRIMARY KEY, journal BLOB NOT NULL, seq INTEGER NOT NULL,
            id BLOB NOT NULL, body_hash BLOB NOT NULL, chain BLOB NOT NULL, data BLOB NOT NULL);
          CREATE UNIQUE INDEX entry_seq ON entry (journal, seq);
          CREATE TABLE erased (
            journal BLOB NOT NULL, body_hash BLOB NOT NULL, PRIMARY KEY (journal, body_hash))
            WITHOUT ROWID;
          CREATE TABLE nonce (
            journal BLOB NOT NULL, device BLOB NOT NULL, nonce BLOB NOT NULL,
            time INTEGER NOT NULL, PRIMARY KEY (journal, device, nonce)) WITHOUT ROWID;
          CREATE INDEX nonce_time ON nonce (time);
          CREATE TABLE attestation (
            journal BLOB NOT NULL, device BLOB NOT NULL, time INTEGER NOT NULL,
            data BLOB NOT NULL, PRIMARY KEY (journal, device)) WITHOUT ROWID;
          """ + Self.inviteTable + "PRAGMA user_version = 4;")
      }
    } else if version < Self.schemaVersion {
      try db.transaction { () throws(StoreError) in
        // Format 1 had an index on body hashes; format 2 had no invites; formats 1 to 3 had an
        // index on ids.
        try db.execute(
          "DROP INDEX IF EXISTS entry_body; DROP INDEX IF EXISTS entry_id;" + Self.inviteTable
            + "PRAGMA user_version = 4;")
      }
    }
  }

  /// Invites (DESIGN rule 6): the hash of each single-use token, who registered it, until
  /// when it is taken, and the one enrolment request that used it.
  static let inviteTable = """
    CREATE TABLE IF NOT EXISTS invite (
      token_hash BLOB PRIMARY KEY, journal BLOB NOT NULL, creator BLOB NOT NULL,
      expires INTEGER NOT NULL, request BLOB, arrived INTEGER) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS invite_journal ON invite (journal, creator);

    """

  // MARK: - Group commit

  /// Opens the transaction the next writes join.
  func beginGroup() throws(StoreError) { try db.execute("BEGIN IMMEDIATE") }

  /// Makes every write since `beginGroup` durable (one fsync of the WAL).
  func commitGroup() throws(StoreError) { try db.execute("COMMIT") }

  func rollbackGroup() { try? db.execute("ROLLBACK") }

  // MARK: - Journals

  struct JournalRow {
    var head: UInt64
    var chain: Digest256
    var bytes: Int64
  }

  func journal(_ id: JournalID) throws(StoreError) -> JournalRow? {
    let query = try db.statement("SELECT head, chain, bytes FROM journal WHERE id = ?")
    defer { query.reset() }
    query.bind(1, id.bytes)
    guard try query.step() else { return nil }
    guard let chain = Digest256(query.blob(1)) else {
      throw StoreError(.corrupt, "a journal row of the relay store is damaged")
    }
    return JournalRow(head: UInt64(query.int(0)), chain: chain, bytes: query.int(2))
  }

  func journalIDs() throws(StoreError) -> [JournalID] {
    let query = try db.statement("SELECT id FROM journal ORDER BY id")
    defer { query.reset() }
    var out = [JournalID]()
    while try query.step() { if let id = Digest256(query.blob(0)) { out.append(id) } }
    return out
  }

  /// Every stored entry of a journal, in sequence order (at start-up, to index it).
  func entries(of journal: JournalID) throws(StoreError) -> [(sequence: UInt64, data: [UInt8])] {
    let query = try db.statement("SELECT seq, data FROM entry WHERE journal = ? ORDER BY seq")
    defer { query.reset() }
    query.bind(1, journal.bytes)
    var out = [(sequence: UInt64, data: [UInt8])]()
    while try query.step() { out.append((UInt64(query.int(0)), query.blob(1))) }
    return out
  }

  /// A new journal and its genesis entry (sequence 1), in one transaction.
  func createJournal(_ id: JournalID, now: UInt64, genesis: NewRow) throws(StoreError) {
    try db.savepoint { () throws(StoreError) in
      try db.statement(
        "INSERT INTO journal (id, head, chain, bytes, created) VALUES (?, 0, ?, 0, ?)"
      )
      .bind(1, id.bytes).bind(2, Digest256.zero.bytes).bind(3, Int64(now)).run()
      _ = try insert(
        [genesis], to: id, head: 1, chain: genesis.chain, addedBytes: Int64(genesis.data.count),
        erasing: Erasure())
    }
  }

  struct NewRow {
    let sequence: UInt64
    let id: EntryID
    let bodyHash: Digest256
    let chain: Digest256
    let data: [UInt8]
  }

  /// What an erasure does to the store: the body hashes it names (remembered, so a copy
  /// pushed later is stored without its body) and the stored entries that carry them, by
  /// relay sequence number.
  struct Erasure {
    var hashes: [Digest256] = []
    var entries: [UInt64] = []
    var isEmpty: Bool { hashes.isEmpty }
  }

  /// Stores accepted entries and the journal's new head, and carries out `erasing`, all or
  /// nothing. Returns the bytes the erasure freed.
  func append(
    _ rows: [NewRow], to journal: JournalID, head: UInt64, chain: Digest256, addedBytes: Int64,
    erasing: Erasure
  ) throws(StoreError) -> Int64 {
    try db.savepoint { () throws(StoreError) -> Int64 in
      try insert(
        rows, to: journal, head: head, chain: chain, addedBytes: addedBytes, erasing: erasing)
    }
  }

  private func insert(
    _ rows: [NewRow], to journal: JournalID, head: UInt64, chain: Digest256, addedBytes: Int64,
    erasing: Erasure
  ) throws(StoreError) -> Int64 {
    let insert = try db.statement(
      "INSERT INTO entry (journal, seq, id, body_hash, chain, data) VALUES (?, ?, ?, ?, ?, ?)")
    let journalBytes = journal.bytes
    for row in rows {
      try insert.bind(1, journalBytes).bind(2, Int64(row.sequence)).bind(3, row.id.bytes)
        .bind(4, row.bodyHash.bytes).bind(5, row.chain.bytes).bind(6, row.data).run()
    }
    try db.statement("UPDATE journal SET head = ?, chain = ?, bytes = bytes + ? WHERE id = ?")
      .bind(1, Int64(head)).bind(2, chain.bytes).bind(3, addedBytes).bind(4, journal.bytes)
      .run()
    return erasing.isEmpty ? 0 : try erase(erasing, in: journal)
  }

  /// Detaches the erased bodies (crypto-shred reaches the relay): the rows keep header and
  /// signature, so every chain still verifies.
  private func erase(_ erasure: Erasure, in journal: JournalID) throws(StoreError) -> Int64 {
    let remember = try db.statement(
      "INSERT OR IGNORE INTO erased (journal, body_hash) VALUES (?, ?)")
    for hash in erasure.hashes { try remember.bind(1, journal.bytes).bind(2, hash.bytes).run() }
    let update = try db.statement("UPDATE entry SET data = ? WHERE journal = ? AND seq = ?")
    var saved: Int64 = 0
    for sequence in erasure.entries {
      guard let data = try entry(of: journal, sequence: sequence) else { continue }
      // Only content is ever erased: control bodies (membership) and the genesis stay.
      guard let entry = try? Entry(decoding: data), entry.body != nil, entry.bodyKind == .sealed
      else { continue }
      let detached = entry.detachingBody().encoded
      saved += Int64(data.count - detached.count)
      try update.bind(1, detached).bind(2, journal.bytes).bind(3, Int64(clamping: sequence)).run()
    }
    try db.statement("UPDATE journal SET bytes = bytes - ? WHERE id = ?")
      .bind(1, saved).bind(2, journal.bytes).run()
    return saved
  }

  func erasedHashes(of journal: JournalID) throws(StoreError) -> Set<Digest256> {
    let query = try db.statement("SELECT body_hash FROM erased WHERE journal = ?")
    defer { query.reset() }
    query.bind(1, journal.bytes)
    var out = Set<Digest256>()
    while try query.step() { if let hash = Digest256(query.blob(0)) { out.insert(hash) } }
    return out
  }

  // MARK: - Reads

  /// Entries after `sequence`, at most `limit` of them and about `maxBytes`.
  func page(of journal: JournalID, after sequence: UInt64, limit: Int, maxBytes: Int)
    throws(StoreError) -> [(sequence: UInt64, chain: Digest256, data: [UInt8])]
  {
    let query = try db.statement(
      "SELECT seq, chain, data FROM entry WHERE journal = ? AND seq > ? ORDER BY seq LIMIT ?")
    defer { query.reset() }
    query.bind(1, journal.bytes).bind(2, Int64(clamping: sequence)).bind(3, Int64(limit))
    var out = [(sequence: UInt64, chain: Digest256, data: [UInt8])]()
    var bytes = 0
    while bytes < maxBytes, try query.step() {
      let data = query.blob(2)
      bytes += data.count
      out.append((UInt64(query.int(0)), Digest256(query.blob(1)) ?? .zero, data))
    }
    return out
  }

  func chain(of journal: JournalID, at sequence: UInt64) throws(StoreError) -> Digest256? {
    if sequence == 0 { return .zero }
    let query = try db.statement("SELECT chain FROM entry WHERE journal = ? AND seq = ?")
    defer { query.reset() }
    query.bind(1, journal.bytes).bind(2, Int64(clamping: sequence))
    guard try query.step() else { return nil }
    return Digest256(query.blob(0))
  }

  /// The entry stored at `sequence` (the caller finds it by id with `JournalIndex.sequence(of:)`).
  func entry(of journal: JournalID, sequence: UInt64) throws(StoreError) -> [UInt8]? {
    let query = try db.statement("SELECT data FROM entry WHERE journal = ? AND seq = ?")
    defer { query.reset() }
    query.bind(1, journal.bytes).bind(2, Int64(clamping: sequence))
    guard try query.step() else { return nil }
    return query.blob(0)
  }

  // MARK: - Nonces

  /// Records a request's nonce; false when it was seen before (a replay).
  func useNonce(
    _ nonce: [UInt8], device: Signing.PublicKey, journal: JournalID, time: UInt64
  ) throws(StoreError) -> Bool {
    try db.statement(
      "INSERT OR IGNORE INTO nonce (journal, device, nonce, time) VALUES (?, ?, ?, ?)"
    )
    .bind(1, journal.bytes).bind(2, device.bytes).bind(3, nonce).bind(4, Int64(time)).run()
    return db.changes == 1
  }

  /// Forgets nonces older than `time`: requests that old are refused as stale anyway.
  func pruneNonces(before time: UInt64) throws(StoreError) {
    try db.statement("DELETE FROM nonce WHERE time < ?").bind(1, Int64(time)).run()
  }

  // MARK: - Attestations

  /// Keeps a device's newest attestation.
  func putAttestation(_ attestation: HeadAttestation) throws(StoreError) {
    try db.statement(
      """
      INSERT INTO attestation (journal, device, time, data) VALUES (?, ?, ?, ?)
      ON CONFLICT (journal, device) DO UPDATE SET time = excluded.time, data = excluded.data
      WHERE excluded.time > attestation.time
      """
    ).bind(1, attestation.journal.bytes).bind(2, attestation.device.bytes)
      .bind(3, Int64(clamping: attestation.time)).bind(4, attestation.encoded).run()
  }

  func attestations(of journal: JournalID) throws(StoreError) -> [[UInt8]] {
    let query = try db.statement("SELECT data FROM attestation WHERE journal = ? ORDER BY device")
    defer { query.reset() }
    query.bind(1, journal.bytes)
    var out = [[UInt8]]()
    while try query.step() { out.append(query.blob(0)) }
    return out
  }

  // MARK: - Invites

  struct InviteRow {
    var journal: JournalID
    var creator: Signing.PublicKey
    var expires: UInt64
    /// The enrolment request that used it, if one did.
    var request: [UInt8]?
  }

  /// Registers an invite's token hash; registering the same one again (same journal and
  /// admin) changes nothing. Returns false when the hash is taken by another journal or admin.
  func addInvite(
    _ tokenHash: Digest256, journal: JournalID, creator: Signing.PublicKey, expires: UInt64
  ) throws(StoreError) -> Bool {
    if let existing = try invite(tokenHash) {
      return existing.journal == journal && existing.creator == creator
    }
    try db.savepoint { () throws(StoreError) in
      try db.statement(
        "INSERT INTO invite (token_hash, journal, creator, expires) VALUES (?, ?, ?, ?)"
      ).bind(1, tokenHash.bytes).bind(2, journal.bytes).bind(3, creator.bytes)
        .bind(4, Int64(clamping: expires)).run()
    }
    return true
  }

  func invite(_ tokenHash: Digest256) throws(StoreError) -> InviteRow? {
    let query = try db.statement(
      "SELECT journal, creator, expires, request FROM invite WHERE token_hash = ?")
    defer { query.reset() }
    query.bind(1, tokenHash.bytes)
    guard try query.step() else { return nil }
    guard let journal = Digest256(query.blob(0)), let creator = Signing.PublicKey(query.blob(1))
    else { throw StoreError(.corrupt, "an invite row of the relay store is damaged") }
    return InviteRow(
      journal: journal, creator: creator, expires: UInt64(max(0, query.int(2))),
      request: query.isNull(3) ? nil : query.blob(3))
  }

  /// How many invites a journal holds that have not run out.
  func openInvites(of journal: JournalID, now: UInt64) throws(StoreError) -> Int {
    let query = try db.statement("SELECT count(*) FROM invite WHERE journal = ? AND expires > ?")
    defer { query.reset() }
    query.bind(1, journal.bytes).bind(2, Int64(clamping: now))
    _ = try query.step()
    return Int(query.int(0))
  }

  /// Takes an invite's single use: stores the request unless one is there already.
  func useInvite(_ tokenHash: Digest256, request: [UInt8], arrived: UInt64) throws(StoreError)
    -> Bool
  {
    try db.savepoint { () throws(StoreError) -> Bool in
      try db.statement(
        "UPDATE invite SET request = ?, arrived = ? WHERE token_hash = ? AND request IS NULL"
      ).bind(1, request).bind(2, Int64(clamping: arrived)).bind(3, tokenHash.bytes).run()
      return db.changes == 1
    }
  }

  /// The requests that used the invites `creator` registered in `journal`.
  func enrolments(of journal: JournalID, creator: Signing.PublicKey) throws(StoreError)
    -> [(tokenHash: [UInt8], arrived: UInt64, request: [UInt8])]
  {
    let query = try db.statement(
      """
      SELECT token_hash, arrived, request FROM invite
      WHERE journal = ? AND creator = ? AND request IS NOT NULL ORDER BY arrived, token_hash
      """)
    defer { query.reset() }
    query.bind(1, journal.bytes).bind(2, creator.bytes)
    var out = [(tokenHash: [UInt8], arrived: UInt64, request: [UInt8])]()
    while try query.step() {
      out.append((query.blob(0), UInt64(max(0, query.int(1))), query.blob(2)))
    }
    return out
  }

  func removeInvite(_ tokenHash: Digest256) throws(StoreError) {
    try db.savepoint { () throws(StoreError) in
      try db.statement("DELETE FROM invite WHERE token_hash = ?").bind(1, tokenHash.bytes).run()
    }
  }

  /// Forgets invites that ran out before `time`.
  func pruneInvites(before time: UInt64) throws(StoreError) {
    try db.savepoint { () throws(StoreError) in
      try db.statement("DELETE FROM invite WHERE expires < ?").bind(1, Int64(clamping: time))
        .run()
    }
  }

  // MARK: - Backup

  /// A consistent copy of the whole store, taken while the relay runs (`VACUUM INTO`).
  func backup(to path: String) throws(StoreError) {
    guard !FileIO.exists(path) else {
      throw StoreError(.exists, "the backup file exists already: choose a new name")
    }
    try db.statement("VACUUM INTO ?").bind(1, path).run()
    FileIO.restrictToOwner(path)
  }

  /// Checks a backup file before it is restored: SQLite's integrity check and the schema.
  static func checkBackup(at path: String) throws(StoreError) {
    guard FileIO.exists(path) else { throw StoreError(.notFound, "no backup file there") }
    let db = try SQLiteDatabase(path: path, create: false)
    guard try db.scalarText("PRAGMA quick_check") == "ok" else {
      throw StoreError(.corrupt, "the backup file is damaged")
    }
    guard let version = try? db.scalarText("PRAGMA user_version"),
      ["1", "2", "3", "4"].contains(version),
      (try? db.scalarText("SELECT count(*) FROM journal")) != nil
    else { throw StoreError(.corrupt, "the file is not an anker-relay backup") }
  }
}
