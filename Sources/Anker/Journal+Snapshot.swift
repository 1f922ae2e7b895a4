import AnkerCrypto
import AnkerLog
import AnkerModel
import AnkerStore

/// The evaluated state, kept sealed in the store so unlocking a large journal does not
/// evaluate every entry again (docs/DECISIONS.md, 27). Written when the journal locks;
/// read at unlock if it covers every stored row but this device's own later entries, which
/// are then applied on top. Anything else (a damaged snapshot, rows it does not know but
/// another device's) falls back to evaluating every entry.
///
/// Payload: version (1) ‖ own newest entry (flag ‖ id) ‖ first-seen times (count ‖ (id ‖
/// u64)*) ‖ heads (count ‖ ids) ‖ frontier entries (count ‖ (length ‖ entry)*) ‖ keys
/// (length ‖ bytes) ‖ the state (to the end, read in place).
extension Journal {
  static let snapshotVersion: UInt8 = 1

  /// Checks the whole store, slowly: SQLite's integrity check, every row authenticates and
  /// decodes, every entry fits the log, and the log is the one the snapshot in use was
  /// taken of. Unlocking from a snapshot reads only the snapshot and the newest rows; this
  /// reads everything (as an import or a sync does).
  public func verify() throws(JournalError) {
    try withSession { session throws(JournalError) in
      do { try store.checkIntegrity() } catch { throw JournalError(error) }
      let before = session.state?.logDigest
      try loadFully(session)
      guard before == nil || before == session.state?.logDigest else {
        try? store.dropSnapshot()
        throw JournalError(
          StoreError(
            .corrupt,
            "the stored entries are not the log the journal was using: the store was damaged or "
              + "altered; restore it with anker-restore"))
      }
    }
  }

  func saveSnapshot(_ session: Session) throws(JournalError) {
    // While a sync has taken entries the state does not show yet, the state is not the
    // store's: no snapshot (the next unlock then evaluates the whole log).
    guard !session.snapshotIsCurrent, !session.needsFullLoad, !session.evaluationPending,
      let state = session.state, let dag = session.dag
    else { return }
    // Bodies the state says are erased but the store still holds (their erasure failed):
    // no snapshot until they are gone, so the next unlock loads the whole log and erases
    // them. (A snapshot session never holds such: shreds and imports load the whole log.)
    if !session.dagIsPartial, state.erased.contains(where: { dag[$0]?.body != nil }) {
      do { try store.dropSnapshot() } catch { throw JournalError(error) }
      return
    }
    let position: (last: Int64, count: Int64)
    do { position = try store.entryPosition() } catch { throw JournalError(error) }
    var out = ByteWriter(capacity: 1 << 16)
    out.byte(Self.snapshotVersion)
    out.flag(session.writer.lastOwn != nil)
    if let own = session.writer.lastOwn { out.digest(own) }
    out.varint(UInt64(session.firstSeen.count))
    for (id, time) in session.firstSeen.sorted(by: { $0.key < $1.key }) {
      out.digest(id)
      out.varint(time)
    }
    out.digests(dag.heads)
    let frontier = dag.frontier(own: session.writer.lastOwn)
    out.varint(UInt64(frontier.count))
    for entry in frontier { out.bytes(entry.encoded) }
    var keys = state.keyBytes
    out.varint(UInt64(keys.count))
    var payload = [UInt8]()
    var stateBytes = state.snapshotBytes
    payload.reserveCapacity(out.bytes.count + keys.count + stateBytes.count)
    payload += out.bytes
    payload += keys
    ConstantTime.zero(&keys)
    payload += stateBytes
    ConstantTime.zero(&stateBytes)
    do {
      try store.saveSnapshot(&payload, last: position.last, count: position.count)
    } catch {
      ConstantTime.zero(&payload)
      throw JournalError(error)
    }
    session.snapshotIsCurrent = true
  }

  /// True when the session now holds the snapshot's state (and every later own entry).
  func loadFromSnapshot(_ session: Session) throws(JournalError) -> Bool {
    // Bound once, so the decrypted buffer has a single owner and is zeroed in place below
    // (a second reference would make the zeroing copy it instead).
    guard var snapshot = (try? store.loadSnapshot()) ?? nil else { return false }
    let loaded = try? decodeSnapshot(snapshot.plain, from: snapshot.offset, session: session)
    ConstantTime.zero(&snapshot.plain)
    guard case (var dag, var state, var writer, let firstSeen)? = loaded else { return false }
    do {
      let position = try store.entryPosition()
      let newer = try store.entries(after: snapshot.last)
      guard position.count == snapshot.count + Int64(newer.count) else { return false }
      // Time locks the snapshot saw running may have run out since: those need a full
      // evaluation at the current time.
      let now = options.clock()
      let membership = state.membership
      let lapsed =
        membership.statuses.values.contains {
          if case .pending(let until) = $0 { until <= now } else { false }
        }
        || membership.enrolments.values.contains {
          !$0.isVetoed && $0.effectiveAt <= now && membership.devices[$0.device] == nil
        }
      guard !lapsed else { return false }
      // This device's own entries stored after the snapshot (it was not locked cleanly).
      for item in newer {
        guard item.entry.author == session.secrets.signing.publicKey,
          case .placed = try dag.insert(item.entry), state.applyAppended(item.entry)
        else { return false }
        writer.lastOwn = item.entry.id
      }
      session.dag = dag
      session.state = state
      session.writer = writer
      session.firstSeen = firstSeen
      session.dagIsPartial = true
      session.snapshotIsCurrent = newer.isEmpty
      return true
    } catch {
      return false
    }
  }

  /// The snapshot's parts; keeps no reference to `plain`, which the caller zeroes.
  private func decodeSnapshot(
    _ plain: [UInt8], from offset: Int, session: Session
  ) throws -> (DAG, JournalState, JournalWriter, [EntryID: UInt64]) {
    var reader = ByteReader(plain)
    _ = try reader.take(offset, "header")
    guard try reader.byte("version") == Self.snapshotVersion else {
      throw LogError(.unknownVersion, "a snapshot of another version")
    }
    let own = try reader.flag("own") ? try reader.digest("own") : nil
    var firstSeen: [EntryID: UInt64] = [:]
    for _ in 0..<(try reader.count("first seen")) {
      firstSeen[try reader.digest("first seen")] = try reader.varint("first seen")
    }
    let heads = try reader.digests("heads")
    var frontier = [Entry]()
    for _ in 0..<(try reader.count("frontier")) {
      frontier.append(try Entry(decoding: Array(try reader.bytes("frontier"))))
    }
    var keys = Array(try reader.bytes("keys"))
    defer { ConstantTime.zero(&keys) }
    let state = try JournalState(snapshot: &reader, keys: keys, readers: [session.secrets.box])
    try reader.expectEnd("snapshot")
    let dag = try DAG(frontier: frontier, heads: heads)
    return (dag, state, JournalWriter(device: session.secrets.signing, lastOwn: own), firstSeen)
  }
}
