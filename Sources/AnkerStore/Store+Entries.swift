import AnkerCrypto
import AnkerLog
import Dispatch

/// An entry as the store keeps it: exactly as signed and sealed, with when this device first
/// saw it (milliseconds), which only the time lock of a recovery enrolment reads.
public struct StoredEntry: Sendable {
  public let entry: Entry
  public let firstSeen: UInt64
  /// Its row: local arrival order.
  public let seq: Int64
}

extension Store {
  private static let entryContext = Array("anker.store.entry.v1".utf8)
  private static let cursorContext = Array("anker.store.cursor.v1".utf8)
  private static let readContext = Array("anker.store.read.v1".utf8)

  /// Stores `entries` in one transaction, committed with `synchronous=FULL`: when this
  /// returns, they survive a power cut. Known ids are skipped (an erased body never comes
  /// back this way). `outbox` marks them as waiting for the relay (this device's own).
  /// `clearingReadsThrough` also removes the read log up to that row in the same
  /// transaction (the reads a read-audit entry among `entries` reports).
  public func append(
    _ entries: [Entry], outbox: Bool, seen: UInt64, clearingReadsThrough reads: Int64? = nil
  ) throws(StoreError) {
    let key = try localKey
    try db.transaction { () throws(StoreError) in
      try insert(entries, outbox: outbox, seen: seen, key: key)
      if let reads { try clearReads(through: reads) }
    }
  }

  /// As `append`, except that the transaction, once every row is in, commits only if
  /// `commit()` says so; else it is rolled back and nothing is stored. Returns whether it
  /// committed. (A join writes while it still checks that the journal admits this device.)
  ///
  /// Into a store that holds no entries yet, the rows go straight into the database file
  /// under a rollback journal, so they are written once: through the write-ahead log they
  /// would be written twice, once to the log and again when it is checkpointed (DECISIONS
  /// 43). A crash in between leaves a hot journal that SQLite rolls back at the next open,
  /// which puts the store back into write-ahead logging.
  public func append(
    _ entries: [Entry], outbox: Bool, seen: UInt64, committingIf commit: () -> Bool
  ) throws(StoreError) -> Bool {
    let key = try localKey
    let bulk = try db.scalarText("SELECT NOT EXISTS (SELECT 1 FROM entry)") == "1"
    if bulk {
      guard try db.scalarText("PRAGMA journal_mode=DELETE")?.lowercased() == "delete" else {
        throw StoreError(.io, "the store could not take a first large write")
      }
    }
    defer {
      // Durable either way: FULL commits under both journals; reopening sets WAL again.
      if bulk { _ = try? db.scalarText("PRAGMA journal_mode=WAL") }
    }
    try db.execute("BEGIN IMMEDIATE")
    do {
      try insert(entries, outbox: outbox, seen: seen, key: key)
      guard commit() else {
        try db.execute("ROLLBACK")
        return false
      }
      try db.execute("COMMIT")
      return true
    } catch {
      try? db.execute("ROLLBACK")
      throw error
    }
  }

  private var localKey: AEAD.Key {
    get throws(StoreError) {
      guard let key = secrets?.local else { throw StoreError(.locked, "unlock the journal first") }
      return key
    }
  }

  /// Inserts each entry's row: its id, and nonce ‖ XChaCha20-Poly1305(local key, seen u64 BE
  /// ‖ wire form, AD = context ‖ id), as `sealLocal` makes it. Each row is built and sealed in
  /// one buffer reused from row to row, which SQLite reads in place: a join's hundred
  /// megabytes are neither held a second time nor copied once more (DECISIONS 48).
  private func insert(
    _ entries: [Entry], outbox: Bool, seen: UInt64, key: AEAD.Key
  ) throws(StoreError) {
    let insert = try db.statement("INSERT OR IGNORE INTO entry (id, sealed) VALUES (?, ?)")
    let queue = try db.statement("INSERT OR IGNORE INTO outbox (seq) VALUES (?)")
    var random = SystemRandom()
    var time = [UInt8]()
    withUnsafeBytes(of: seen.bigEndian) { time += $0 }
    var context = Self.entryContext
    let idStart = context.count
    context += [UInt8](repeating: 0, count: Digest256.byteCount)
    let nonce = [UInt8](repeating: 0, count: AEAD.nonceCount)
    let tag = [UInt8](repeating: 0, count: AEAD.tagCount)
    var row = [UInt8]()
    for entry in entries {
      let id = entry.id.bytes
      context.replaceSubrange(idStart..., with: id)
      row.removeAll(keepingCapacity: true)
      row += nonce
      row += time
      // The entry's wire form (`Entry.encoded`), written straight into the row.
      row += entry.headerBytes
      row += entry.signature
      if let body = entry.body {
        row.append(1)
        row += body
      } else {
        row.append(0)
      }
      row += tag
      // (`withUnsafeBytes` does not carry typed throws: the outcome comes out as a Result.)
      let stored = row.withUnsafeMutableBytes { buffer in
        random.fill(UnsafeMutableRawBufferPointer(rebasing: buffer[..<AEAD.nonceCount]))
        AEAD.sealInPlace(buffer, key: key, associatedData: context)
        return id.withUnsafeBytes { id in
          Result { () throws(StoreError) in
            try insert.run(borrowing: id, UnsafeRawBufferPointer(buffer))
          }
        }
      }
      try stored.get()
      // A known id inserts nothing: it is neither stored again nor queued again.
      if outbox, db.changes == 1 { try queue.bind(1, db.lastInsertRowID).run() }
    }
  }

  /// Every stored entry in the order this device stored them. A row that fails to decrypt or
  /// decode is an error, never skipped: nothing is dropped silently.
  public func entries(after seq: Int64 = 0) throws(StoreError) -> [StoredEntry] {
    let query = try db.statement("SELECT seq, id, sealed FROM entry WHERE seq > ? ORDER BY seq")
    defer { query.reset() }
    query.bind(1, seq)
    var out = [StoredEntry]()
    while try query.step() {
      let (entry, firstSeen) = try openRow(id: query.blob(1), sealed: query.blob(2))
      out.append(StoredEntry(entry: entry, firstSeen: firstSeen, seq: query.int(0)))
    }
    return out
  }

  /// One `entry` row opened: it must authenticate, decode, and be the entry its id names.
  private func openRow(id: [UInt8], sealed: [UInt8]) throws(StoreError) -> (Entry, UInt64) {
    let plain = try openLocal(sealed, context: Self.entryContext + id)
    guard plain.count > 8, let entry = try? Entry(decoding: Array(plain[8...])),
      entry.id.bytes == id
    else {
      throw StoreError(.corrupt, "a stored entry does not decode: the store was damaged")
    }
    return (entry, plain[0..<8].reduce(0) { $0 << 8 | UInt64($1) })
  }

  /// The newest row number and the number of rows.
  public func entryPosition() throws(StoreError) -> (last: Int64, count: Int64) {
    let query = try db.statement("SELECT coalesce(max(seq), 0), count(*) FROM entry")
    defer { query.reset() }
    _ = try query.step()
    return (query.int(0), query.int(1))
  }

  public var entryCount: Int {
    get throws(StoreError) { Int(try entryPosition().count) }
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

  // MARK: - Snapshot

  private static let snapshotMagic = Array("ANKERSNP".utf8)
  private static let snapshotContext = Array("anker.store.snapshot.v1".utf8)
  /// Chunks sealed separately, so that unlocking opens them on every core at once.
  private static let snapshotChunks = 4
  private static let snapshotKeyContext = Array("anker.store.snapshot-key.v1".utf8)
  private var snapshotPath: String { directory + "/snapshot" }
  /// The snapshot's own key, sealed under the local key, in a 72-byte file rewritten in
  /// place: replacing or dropping a snapshot overwrites it, so the blocks of an earlier
  /// snapshot file left on the disk can never be opened again (a crypto-shred's leftovers).
  private var snapshotKeyPath: String { directory + "/snapshot-key" }

  private static func snapshotAD(_ index: Int, of count: Int) -> [UInt8] {
    snapshotContext + [UInt8(index), UInt8(count)]
  }

  /// Keeps `payload` (the evaluated state, keys included) in the file `snapshot`, sealed under
  /// the local key, as of the row `last` with `count` rows; replaces the one before
  /// atomically. Zeroes `payload`. Layout: "ANKERSNP" ‖ chunk count u8 ‖ per chunk: sealed
  /// length u64 ‖ nonce [24] ‖ XChaCha20-Poly1305(local key, part, AD = context ‖ index ‖
  /// count); the parts joined are last u64 ‖ count u64 ‖ payload.
  public func saveSnapshot(
    _ payload: inout [UInt8], last: Int64, count: Int64
  ) throws(StoreError) {
    guard let local = secrets?.local else { throw StoreError(.locked, "unlock the journal first") }
    var random = SystemRandom()
    let key = AEAD.Key(using: &random)
    let keyNonce = random.bytes(AEAD.nonceCount)
    let sealedKey =
      keyNonce
      + AEAD.seal(
        secret: key.secret, key: local, nonce: keyNonce, associatedData: Self.snapshotKeyContext)
    var header = [UInt8]()
    withUnsafeBytes(of: UInt64(last).bigEndian) { header += $0 }
    withUnsafeBytes(of: UInt64(count).bigEndian) { header += $0 }
    let total = 16 + payload.count
    let chunks = Self.snapshotChunks
    let size = (total + chunks - 1) / chunks
    var file = Self.snapshotMagic + [UInt8(chunks)]
    file.reserveCapacity(9 + total + chunks * (8 + AEAD.nonceCount + AEAD.tagCount))
    for index in 0..<chunks {
      let start = min(index * size, total)
      let end = min(start + size, total)
      // The part's bytes: the header lives in the first 16 bytes of the joined plaintext.
      var part = [UInt8]()
      part.reserveCapacity(end - start)
      for position in stride(from: start, to: min(end, 16), by: 1) { part.append(header[position]) }
      if end > 16 { part += payload[max(start, 16) - 16..<end - 16] }
      let nonce = random.bytes(AEAD.nonceCount)
      let sealed = AEAD.seal(
        part, key: key, nonce: nonce, associatedData: Self.snapshotAD(index, of: chunks))
      ConstantTime.zero(&part)
      withUnsafeBytes(of: UInt64(sealed.count).bigEndian) { file += $0 }
      file += nonce
      file += sealed
    }
    ConstantTime.zero(&payload)
    // The new file first, then its key over the old key: a crash between the two leaves a
    // snapshot that does not open (the entries are evaluated instead), never an old one
    // that does.
    try FileIO.replace(snapshotPath, with: file)
    try FileIO.overwrite(snapshotKeyPath, at: 0, with: sealedKey)
  }

  /// The snapshot, if there is one: as of which row, with how many rows, and a buffer whose
  /// bytes from `offset` on are the payload (zero it after use). The chunks are opened in
  /// place, on every core. Throws `corrupt` when it fails authentication.
  public func loadSnapshot() throws(StoreError) -> (
    last: Int64, count: Int64, plain: [UInt8], offset: Int
  )? {
    guard FileIO.exists(snapshotPath), FileIO.exists(snapshotKeyPath) else { return nil }
    guard let local = secrets?.local else {
      throw StoreError(.locked, "unlock the journal first")
    }
    let damaged = StoreError(.corrupt, "the stored snapshot is damaged")
    let sealedKey = try FileIO.read(snapshotKeyPath)
    guard sealedKey.count == AEAD.nonceCount + AEAD.keyCount + AEAD.tagCount,
      let secret = try? AEAD.openSecret(
        Array(sealedKey[AEAD.nonceCount...]), key: local,
        nonce: Array(sealedKey[..<AEAD.nonceCount]), associatedData: Self.snapshotKeyContext),
      let key = try? AEAD.Key(secret)
    else { throw damaged }
    var file = try FileIO.read(snapshotPath)
    guard file.count >= 9, Array(file[0..<8]) == Self.snapshotMagic else { throw damaged }
    let chunks = Int(file[8])
    var ranges = [Range<Int>]()
    var nonces = [[UInt8]]()
    var offset = 9
    for _ in 0..<chunks {
      guard offset + 8 + AEAD.nonceCount <= file.count else { throw damaged }
      let length = file[offset..<offset + 8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
      offset += 8
      nonces.append(Array(file[offset..<offset + AEAD.nonceCount]))
      offset += AEAD.nonceCount
      guard length >= UInt64(AEAD.tagCount), length <= UInt64(file.count - offset) else {
        throw damaged
      }
      ranges.append(offset..<offset + Int(length))
      offset += Int(length)
    }
    guard chunks > 0, offset == file.count else { throw damaged }
    let opened = UnsafeMutableBufferPointer<Bool>.allocate(capacity: chunks)
    opened.initialize(repeating: false)
    defer { opened.deallocate() }
    let (chunkRanges, chunkNonces) = (ranges, nonces)
    file.withUnsafeMutableBytes { buffer in
      let shared = SharedBuffers(bytes: buffer, opened: opened)
      DispatchQueue.concurrentPerform(iterations: chunks) { index in
        let slice = UnsafeMutableRawBufferPointer(rebasing: shared.bytes[chunkRanges[index]])
        let count = try? AEAD.openInPlace(
          slice, key: key, nonce: chunkNonces[index],
          associatedData: Self.snapshotAD(index, of: chunks))
        shared.opened[index] = count != nil
      }
    }
    let failed = !opened.allSatisfy { $0 }
    guard !failed else {
      ConstantTime.zero(&file)
      throw StoreError(
        .corrupt, "the stored snapshot failed authentication: it was damaged or altered")
    }
    // Joins the parts: each moves down to follow the previous one.
    var end = ranges[0].lowerBound
    file.withUnsafeMutableBytes { buffer in
      for range in ranges {
        let count = range.count - AEAD.tagCount
        if end != range.lowerBound {
          (buffer.baseAddress! + end).copyMemory(
            from: buffer.baseAddress! + range.lowerBound, byteCount: count)
        }
        end += count
      }
      zeroTail(buffer, from: end)
    }
    let start = ranges[0].lowerBound
    guard end - start >= 16 else {
      ConstantTime.zero(&file)
      throw damaged
    }
    let last = Int64(file[start..<start + 8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
    let count = Int64(file[start + 8..<start + 16].reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
    file.removeLast(file.count - end)
    return (last, count, file, start + 16)
  }

  /// Forgets the snapshot (the state is then evaluated from the entries): its key is
  /// overwritten in place, then the file removed. Throws when the key could not be
  /// overwritten (the file is then left, and still needs the key to be read).
  public func dropSnapshot() throws(StoreError) {
    if FileIO.exists(snapshotKeyPath) {
      try FileIO.overwrite(
        snapshotKeyPath, at: 0,
        with: [UInt8](repeating: 0, count: AEAD.nonceCount + AEAD.keyCount + AEAD.tagCount))
    }
    FileIO.remove(snapshotPath)
  }

  // MARK: - Outbox

  /// How many entries wait for the relay (nothing decrypted).
  public func outboxCount() throws(StoreError) -> Int {
    Int(try db.scalarText("SELECT count(*) FROM outbox") ?? "0") ?? 0
  }

  /// This device's entries the relay has not acknowledged, oldest first.
  public func outbox() throws(StoreError) -> [Entry] {
    let query = try db.statement(
      "SELECT entry.id, entry.sealed FROM outbox JOIN entry USING (seq) ORDER BY seq")
    defer { query.reset() }
    var out = [Entry]()
    while try query.step() {
      out.append(try openRow(id: query.blob(0), sealed: query.blob(1)).0)
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

  /// The names of the cursors starting with `prefix` (names are not secret; values are).
  public func cursorNames(prefix: String) throws(StoreError) -> [String] {
    let query = try db.statement("SELECT name FROM cursor ORDER BY name")
    defer { query.reset() }
    var out = [String]()
    while try query.step() {
      if let name = query.text(0), name.hasPrefix(prefix) { out.append(name) }
    }
    return out
  }

  public func removeCursor(_ name: String) throws(StoreError) {
    try db.statement("DELETE FROM cursor WHERE name = ?").bind(1, name).run()
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

/// The buffers the threads that open the snapshot's chunks share: each writes its own
/// disjoint byte range and its own slot of `opened`, and the caller reads them only after
/// `concurrentPerform` has returned.
private struct SharedBuffers: @unchecked Sendable {
  // @unchecked: disjoint writes only, joined by concurrentPerform before any read.
  let bytes: UnsafeMutableRawBufferPointer
  let opened: UnsafeMutableBufferPointer<Bool>
}

/// Zeroes the bytes from `start` on: tags and gaps left behind by joining the parts.
private func zeroTail(_ buffer: UnsafeMutableRawBufferPointer, from start: Int) {
  guard start < buffer.count else { return }
  UnsafeMutableRawBufferPointer(rebasing: buffer[start...]).initializeMemory(
    as: UInt8.self, repeating: 0)
}
