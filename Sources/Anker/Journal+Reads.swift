public import AnkerCrypto
public import AnkerLog
public import AnkerModel
import Foundation

/// Reads. Listing and searching show what a worker needs to find a case; opening one (or
/// exporting it) is recorded in the read audit.
extension Journal {
  /// The journal as this device sees it now (every query of `JournalState`), without its
  /// keys: a copy a caller keeps holds no key after `lock`.
  public var state: JournalState {
    get throws(JournalError) {
      try withSession { session throws(JournalError) in
        guard let state = session.state else {
          throw JournalError(.notEnrolled, "this laptop is not a member of a journal yet")
        }
        return state.withoutKeys()
      }
    }
  }

  /// This device's signing key (its identity on the log) and its X25519 key.
  public var device: (key: Signing.PublicKey, box: Box.PublicKey) {
    get throws(JournalError) {
      try withSession { session throws(JournalError) in
        (session.secrets.signing.publicKey, session.secrets.box.publicKey)
      }
    }
  }

  /// The person this device belongs to.
  public var me: PersonID? {
    get throws(JournalError) { try state.person(of: try device.key) }
  }

  /// Readable cases by status, worker in charge and tag: what a list shows, no notes (not
  /// audited; opening one is).
  public func cases(
    status: String? = nil, worker: String? = nil, tag: String? = nil
  ) throws(JournalError) -> [CaseSummary] {
    let state = try state
    return state.cases(status: status, workerInCharge: worker, tag: tag).map { found in
      let client = found.client.flatMap { state.clients[$0] }
      return CaseSummary(
        id: found.id, type: found.type, status: found.status,
        workerInCharge: found.fields[CaseField.workerInCharge]?.shown?.value,
        clientAlias: client?.alias, clientCode: client?.code,
        created: found.created?.milliseconds ?? 0, tags: found.sets["tags"]?.elements ?? [],
        notes: found.notes.count, hasConflict: found.fields.values.contains(where: \.isConflict),
        isRestricted: !found.restrictedTo.isEmpty)
    }
  }

  /// Opens a case: its whole state. Records the read (who, which case, when) in the local
  /// read log, which becomes an admin-readable read-audit entry (`flushReadAudit`).
  public func openCase(_ caseID: CaseID) throws(JournalError) -> CaseState {
    let state = try state
    guard let found = state.cases[caseID], found.readable else {
      throw JournalError(
        .model, "no such case, or this device cannot read it",
        cause: ModelError(.noAccess, "no such case, or this device cannot read it"))
    }
    try recordRead(caseID)
    return found
  }

  /// The case's notes, assessments, plans and consents in causal order (audited).
  public func timeline(_ caseID: CaseID) throws(JournalError) -> [JournalState.TimelineItem] {
    _ = try openCase(caseID)
    return try state.timeline(caseID)
  }

  func recordRead(_ caseID: CaseID) throws(JournalError) {
    // A random id per read: a row copied on the disk is written to the log once.
    var random = SystemRandom()
    var record = random.bytes(16) + caseID.bytes
    withUnsafeBytes(of: options.clock().bigEndian) { record += $0 }
    try withSession { _ throws(JournalError) in
      do { try store.logRead(record) } catch { throw JournalError(error) }
    }
  }

  /// Reads recorded here and not yet written to the log.
  public var pendingReads: Int {
    get throws(JournalError) {
      try withSession { _ throws(JournalError) in
        do { return try store.pendingReads().count } catch { throw JournalError(error) }
      }
    }
  }

  /// Writes the reads recorded here into one read-audit entry (sealed to the admin devices
  /// and the recovery key), then clears them. Sync calls it; so does `lock` when it can.
  public func flushReadAudit() throws(JournalError) {
    try withSession { session throws(JournalError) in
      let pending: [(seq: Int64, record: [UInt8])]
      do { pending = try store.pendingReads() } catch { throw JournalError(error) }
      guard let last = pending.last else { return }
      var seen = Set<ArraySlice<UInt8>>()
      let reads = pending.compactMap { item -> (caseID: CaseID, time: UInt64)? in
        guard item.record.count == 40, seen.insert(item.record[0..<16]).inserted,
          let caseID = CaseID(item.record[16..<32])
        else { return nil }
        return (caseID, item.record[32..<40].reduce(0) { $0 << 8 | UInt64($1) })
      }
      // The audit entry and the removal of the reads it reports commit together.
      _ = try commit(session, clearingReadsThrough: last.seq) {
        writer, state, dag, random, now throws(ModelError) in
        [try writer.writeReadAudit(reads, state: state, dag: &dag, now: now, using: &random)]
      }
    }
  }

  /// Full-text search over the unlocked journal, in memory only (nothing is written): every
  /// word of `query` must appear (ignoring case and accents) in a note, an amendment, a
  /// strike reason, a safety plan or a field of the case, or in its client's alias or code.
  /// Returns the matching cases, each with the entries that matched.
  public func search(_ query: String) throws(JournalError) -> [SearchHit] {
    let words = query.split(whereSeparator: \.isWhitespace).map(String.init)
    guard !words.isEmpty else { return [] }
    let state = try state
    func matches(_ text: String) -> Bool {
      words.allSatisfy {
        text.range(of: $0, options: [.caseInsensitive, .diacriticInsensitive]) != nil
      }
    }
    var hits = [SearchHit]()
    for caseID in state.cases.keys.sorted() {
      let found = state.cases[caseID]!
      guard found.readable else { continue }
      var entries = [EntryID]()
      for note in found.notes.values {
        let texts = [note.text] + note.amendments.map(\.text) + note.strikes.map(\.reason)
        if texts.contains(where: matches) { entries.append(note.entry) }
      }
      for plan in found.safetyPlans.values where matches(plan.text) { entries.append(plan.entry) }
      for register in found.fields.values {
        for value in register.candidates where matches(value.value) { entries.append(value.entry) }
      }
      let client = found.client.flatMap { state.clients[$0] }
      let clientMatches = client.map { matches($0.alias + " " + $0.code) } ?? false
      if clientMatches || !entries.isEmpty {
        hits.append(SearchHit(caseID: caseID, entries: entries.sorted(), client: clientMatches))
      }
    }
    return hits
  }
}

/// One line of a case list.
public struct CaseSummary: Hashable, Sendable {
  public let id: CaseID
  public let type: CaseType?
  public let status: String
  public let workerInCharge: String?
  public let clientAlias: String?
  public let clientCode: String?
  /// When it was created (ms).
  public let created: UInt64
  public let tags: [String]
  public let notes: Int
  public let hasConflict: Bool
  public let isRestricted: Bool
}

/// A case that matched a search, and the entries in it that did.
public struct SearchHit: Hashable, Sendable {
  public let caseID: CaseID
  public let entries: [EntryID]
  /// The case's client (alias or code) matched.
  public let client: Bool
}
