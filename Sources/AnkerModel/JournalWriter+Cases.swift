import AnkerCrypto
import AnkerLog

/// The writes of the case journal. Each returns the entries it placed in `dag`; the caller
/// rebuilds the state (or applies them) before the next write.
extension JournalWriter {
  /// A new case: its first key generation, then the case record under that key.
  public mutating func createCase(
    type: CaseType, client: ClientID? = nil, restrictedTo: [PersonID] = [],
    state: JournalState, dag: inout DAG, now: UInt64, using random: inout some RandomSource
  ) throws(ModelError) -> (id: CaseID, entries: [Entry]) {
    let caseID = CaseID(using: &random)
    let key = AEAD.Key(using: &random)
    let keyRecord = try caseKeyRecord(
      caseID, generation: 1, key: key, restrictedTo: restrictedTo, previous: [], state: state,
      now: now, using: &random)
    let wrap = try seal(keyRecord, caseKey: nil, state: state, dag: &dag, using: &random)
    let caseKey = KeyRing.CaseKey(caseID: caseID, generation: 1, wrapID: wrap.id, key: key)
    var created = record(.caseCreated, now: now)
    created[number: .caseType] = UInt64(type.rawValue)
    created[id: .client] = client
    let entry = try seal(created, caseKey: caseKey, state: state, dag: &dag, using: &random)
    return (caseID, [wrap, entry])
  }

  /// Sets a case field. Replaces every value this device sees; for a safety-critical field
  /// that is in conflict, use `resolve` instead: an ordinary write then joins the conflict.
  public mutating func setField(
    _ field: String, to value: String, in caseID: CaseID, state: JournalState, dag: inout DAG,
    now: UInt64, using random: inout some RandomSource
  ) throws(ModelError) -> Entry {
    try write(.caseField, field, value, caseID, state, &dag, now, &random)
  }

  /// Ends a conflict: the new value replaces every concurrent value this device sees.
  public mutating func resolve(
    _ field: String, to value: String, in caseID: CaseID, state: JournalState, dag: inout DAG,
    now: UInt64, using random: inout some RandomSource
  ) throws(ModelError) -> Entry {
    try write(.resolve, field, value, caseID, state, &dag, now, &random)
  }

  private mutating func write(
    _ kind: RecordKind, _ field: String, _ value: String, _ caseID: CaseID,
    _ state: JournalState, _ dag: inout DAG, _ now: UInt64, _ random: inout some RandomSource
  ) throws(ModelError) -> Entry {
    let key = try writableKey(caseID, state: state, dag: &dag, now: now, using: &random)
    var record = record(kind, now: now)
    record[string: .field] = field
    record[string: .value] = value
    record[digests: .replaces] = (state.cases[caseID]?.fields[field]?.values.keys.sorted()) ?? []
    return try seal(record, caseKey: key, state: state, dag: &dag, using: &random)
  }

  /// Adds to or removes from a set field (tags, services given, referrals).
  public mutating func updateSet(
    _ set: String, element: String, add: Bool, in caseID: CaseID, state: JournalState,
    dag: inout DAG, now: UInt64, using random: inout some RandomSource
  ) throws(ModelError) -> Entry {
    let key = try writableKey(caseID, state: state, dag: &dag, now: now, using: &random)
    var record = record(add ? .setAdd : .setRemove, now: now)
    record[string: .set] = set
    record[string: .element] = element
    if !add {
      record[digests: .replaces] = state.cases[caseID]?.sets[set]?.tags(of: element) ?? []
    }
    return try seal(record, caseKey: key, state: state, dag: &dag, using: &random)
  }

  /// A note: what happened (`eventTime`, ms) and the worker's text.
  public mutating func addNote(
    _ kind: NoteKind, text: String, eventTime: UInt64, in caseID: CaseID, state: JournalState,
    dag: inout DAG, now: UInt64, using random: inout some RandomSource
  ) throws(ModelError) -> Entry {
    let key = try writableKey(caseID, state: state, dag: &dag, now: now, using: &random)
    var record = record(.note, now: now)
    record[number: .noteKind] = UInt64(kind.rawValue)
    record[number: .eventTime] = eventTime
    record[string: .text] = text
    if state.cases[caseID]?.isClosed == true { record.fields[.late] = [1] }
    return try seal(record, caseKey: key, state: state, dag: &dag, using: &random)
  }

  /// Amends a note (`strike` nil) or marks it erroneous with a reason.
  public mutating func amend(
    note: EntryID, text: String? = nil, strike reason: String? = nil, in caseID: CaseID,
    state: JournalState, dag: inout DAG, now: UInt64, using random: inout some RandomSource
  ) throws(ModelError) -> Entry {
    guard state.cases[caseID]?.notes[note] != nil else {
      throw ModelError(.unknownNote, "no such note in this case")
    }
    let key = try writableKey(caseID, state: state, dag: &dag, now: now, using: &random)
    var record = record(reason == nil ? .amend : .strike, now: now)
    record[digest: .note] = note
    record[string: .text] = text
    record[string: .reason] = reason
    return try seal(record, caseKey: key, state: state, dag: &dag, using: &random)
  }

  /// Any other case record (risk assessment, safety plan, consent, revocation), built by the
  /// caller with `Record`'s typed fields.
  public mutating func append(
    _ record: Record, in caseID: CaseID, state: JournalState, dag: inout DAG,
    using random: inout some RandomSource
  ) throws(ModelError) -> Entry {
    let key = try writableKey(
      caseID, state: state, dag: &dag, now: record.time.milliseconds,
      using: &random)
    return try seal(record, caseKey: key, state: state, dag: &dag, using: &random)
  }

  /// A new version of the case's safety plan. It replaces the version this device sees; when
  /// concurrent versions exist, pass `resolving: true` to merge them into this one.
  public mutating func writeSafetyPlan(
    _ text: String, in caseID: CaseID, resolving: Bool = false, state: JournalState,
    dag: inout DAG, now: UInt64, using random: inout some RandomSource
  ) throws(ModelError) -> Entry {
    let current = state.cases[caseID]?.fields[CaseField.safetyPlan]?.values.keys.sorted() ?? []
    guard resolving || current.count <= 1 else {
      throw ModelError(
        .invalidValue, "the safety plan has concurrent versions: resolve them into one")
    }
    let key = try writableKey(caseID, state: state, dag: &dag, now: now, using: &random)
    var record = record(.safetyPlan, now: now)
    record[string: .text] = text
    record[digests: .replaces] = current
    if resolving { record.fields[.resolution] = [1] }
    return try seal(record, caseKey: key, state: state, dag: &dag, using: &random)
  }

  /// A record stamped by this device's clock, for `append`.
  public mutating func newRecord(_ kind: RecordKind, now: UInt64) -> Record {
    record(kind, now: now)
  }

  /// Restricts a case to `people` (need-to-know): a new key generation sealed only to their
  /// devices and the recovery key, linking back to the earlier ones.
  public mutating func restrict(
    _ caseID: CaseID, to people: [PersonID], state: JournalState, dag: inout DAG, now: UInt64,
    using random: inout some RandomSource
  ) throws(ModelError) -> Entry {
    let current = try caseKey(caseID, in: state)
    guard !people.isEmpty else { throw ModelError(.invalidValue, "name at least one person") }
    let previous = state.keys.caseKeys.values.filter { $0.caseID == caseID }
    let record = try caseKeyRecord(
      caseID, generation: current.generation + 1, key: AEAD.Key(using: &random),
      restrictedTo: people, previous: Array(previous), state: state, now: now, using: &random)
    return try seal(record, caseKey: nil, state: state, dag: &dag, using: &random)
  }

  /// Crypto-shreds a case: one erasure entry (or several, for a large case) listing the
  /// bodies of every entry of the case, its key records included. Admins only.
  public mutating func shred(
    _ caseID: CaseID, state: JournalState, dag: inout DAG, now: UInt64,
    using random: inout some RandomSource
  ) throws(ModelError) -> [Entry] {
    guard let caseState = state.cases[caseID] else {
      throw ModelError(.unknownCase, "no such case")
    }
    guard caseState.readable else {
      throw ModelError(.noAccess, "only someone who can read the case can shred it")
    }
    guard state.membership.devices[device.publicKey]?.role == .admin else {
      throw ModelError(.notAdmin, "only an admin device can shred a case")
    }
    let bodies = caseState.entries.compactMap { dag[$0]?.header.bodyHash }.sorted()
    // First a tombstone under the epoch key, so every member forgets the case's keys even if
    // entries written concurrently (a new generation, a late note) arrive after the erasure.
    var tombstone = record(.caseShredded, now: now)
    tombstone[id: .caseID] = caseID
    var entries = [try seal(tombstone, caseKey: nil, state: state, dag: &dag, using: &random)]
    for start in stride(from: 0, to: bodies.count, by: Limits.maxErasures) {
      let chunk = Array(bodies[start..<min(start + Limits.maxErasures, bodies.count)])
      let erasure = Control.erasure(
        Control.Erasure(time: clock.tick(wallClock: now), bodies: chunk))
      entries.append(try control(erasure, state: state, dag: &dag))
    }
    return entries
  }
}

extension JournalWriter {
  /// Erases what a shred did not reach: entries of shredded cases written concurrently with
  /// it (a late note, a concurrent key generation). Admins only; nothing to do returns [].
  public mutating func completeShreds(
    state: JournalState, dag: inout DAG, now: UInt64
  ) throws(ModelError) -> [Entry] {
    guard !state.shredLeftovers.isEmpty else { return [] }
    guard state.membership.devices[device.publicKey]?.role == .admin else {
      throw ModelError(.notAdmin, "only an admin device can erase")
    }
    let bodies = state.shredLeftovers.compactMap { dag[$0]?.header.bodyHash }.sorted()
    var entries = [Entry]()
    for start in stride(from: 0, to: bodies.count, by: Limits.maxErasures) {
      let chunk = Array(bodies[start..<min(start + Limits.maxErasures, bodies.count)])
      let erasure = Control.erasure(
        Control.Erasure(time: clock.tick(wallClock: now), bodies: chunk))
      entries.append(try control(erasure, state: state, dag: &dag))
    }
    return entries
  }
}
