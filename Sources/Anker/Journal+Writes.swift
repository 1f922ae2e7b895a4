public import AnkerCrypto
public import AnkerLog
public import AnkerModel

/// Every write of the case journal. Each returns once its entries are committed to disk
/// (`synchronous=FULL`): a note survives a battery dying the moment the call returns.
extension Journal {
  /// A client: pseudonymous alias and code; everything else optional.
  @discardableResult
  public func createClient(
    alias: String, code: String, ageBand: String? = nil, languages: [String] = [],
    pronouns: String? = nil
  ) throws(JournalError) -> ClientID {
    try write { writer, state, dag, random, now throws(ModelError) in
      let (id, entry) = try writer.createClient(
        alias: alias, code: code, ageBand: ageBand, languages: languages, pronouns: pronouns,
        state: state, dag: &dag, now: now, using: &random)
      return (id, [entry])
    }
  }

  /// Sets a field of the client's identity vault (legal name, ID number, address), under
  /// its own key; `restrictedTo` people only, when given on the first write.
  public func setIdentity(
    _ field: String, to value: String, of client: ClientID, restrictedTo: [PersonID] = []
  ) throws(JournalError) {
    try write(needsFullLog: true) { writer, state, dag, random, now throws(ModelError) in
      let entries = try writer.setIdentity(
        field, to: value, of: client, restrictedTo: restrictedTo, state: state, dag: &dag,
        now: now, using: &random)
      return ((), entries)
    }
  }

  /// A new case, open to every member unless `restrictedTo` lists people (need-to-know).
  @discardableResult
  public func createCase(
    type: CaseType, client: ClientID? = nil, restrictedTo: [PersonID] = []
  ) throws(JournalError) -> CaseID {
    try write(needsFullLog: !restrictedTo.isEmpty) {
      writer, state, dag, random, now throws(ModelError) in
      let (id, entries) = try writer.createCase(
        type: type, client: client, restrictedTo: restrictedTo, state: state, dag: &dag,
        now: now, using: &random)
      return (id, entries)
    }
  }

  /// Sets a case field (status, worker in charge, risk level…). Concurrent values stay
  /// visible as a conflict; a safety-critical one until `resolve`.
  public func setField(_ field: String, to value: String, in caseID: CaseID) throws(JournalError) {
    try single { writer, state, dag, random, now throws(ModelError) in
      try writer.setField(
        field, to: value, in: caseID, state: state, dag: &dag, now: now, using: &random)
    }
  }

  /// Ends a conflict on a field with one value.
  public func resolve(_ field: String, to value: String, in caseID: CaseID) throws(JournalError) {
    try single { writer, state, dag, random, now throws(ModelError) in
      try writer.resolve(
        field, to: value, in: caseID, state: state, dag: &dag, now: now, using: &random)
    }
  }

  /// Closes the case (late notes are still accepted, and flagged).
  public func closeCase(_ caseID: CaseID) throws(JournalError) {
    try setField(CaseField.status, to: CaseField.closed, in: caseID)
  }

  public func reopenCase(_ caseID: CaseID) throws(JournalError) {
    try setField(CaseField.status, to: CaseField.open, in: caseID)
  }

  /// Adds to (or removes from) a set: "tags", "services", "referrals".
  public func updateSet(
    _ set: String, element: String, add: Bool, in caseID: CaseID
  ) throws(JournalError) {
    try single { writer, state, dag, random, now throws(ModelError) in
      try writer.updateSet(
        set, element: element, add: add, in: caseID, state: state, dag: &dag, now: now,
        using: &random)
    }
  }

  /// A note; `eventTime` (ms) is when it happened, now by default.
  @discardableResult
  public func addNote(
    _ kind: NoteKind, text: String, eventTime: UInt64? = nil, in caseID: CaseID
  ) throws(JournalError) -> EntryID {
    try single { writer, state, dag, random, now throws(ModelError) in
      try writer.addNote(
        kind, text: text, eventTime: eventTime ?? now, in: caseID, state: state, dag: &dag,
        now: now, using: &random)
    }
  }

  /// Amends a note: the original stays, the amendment is shown with it.
  @discardableResult
  public func amend(note: EntryID, text: String, in caseID: CaseID) throws(JournalError)
    -> EntryID
  {
    try single { writer, state, dag, random, now throws(ModelError) in
      try writer.amend(
        note: note, text: text, in: caseID, state: state, dag: &dag, now: now, using: &random)
    }
  }

  /// Marks a note erroneous, with the reason; it stays legible.
  @discardableResult
  public func strike(note: EntryID, reason: String, in caseID: CaseID) throws(JournalError)
    -> EntryID
  {
    try single { writer, state, dag, random, now throws(ModelError) in
      try writer.amend(
        note: note, strike: reason, in: caseID, state: state, dag: &dag, now: now,
        using: &random)
    }
  }

  /// A risk assessment with a structured instrument (answers may be "unknown").
  @discardableResult
  public func recordRiskAssessment(
    instrument: String, version: String, answers: [String], score: UInt64?,
    judgement: Judgement, nextReview: UInt64?, in caseID: CaseID
  ) throws(JournalError) -> EntryID {
    try single { writer, state, dag, random, now throws(ModelError) in
      var record = writer.newRecord(.riskAssessment, now: now)
      record[string: .instrument] = instrument
      record[string: .instrumentVersion] = version
      record[strings: .answers] = answers
      record[number: .score] = score
      record[number: .judgement] = UInt64(judgement.rawValue)
      record[person: .assessor] = state.person(of: writer.device.publicKey)
      record[number: .nextReview] = nextReview
      return try writer.append(record, in: caseID, state: state, dag: &dag, using: &random)
    }
  }

  /// A new version of the safety plan.
  @discardableResult
  public func writeSafetyPlan(
    _ text: String, in caseID: CaseID, resolving: Bool = false
  ) throws(JournalError) -> EntryID {
    try single { writer, state, dag, random, now throws(ModelError) in
      try writer.writeSafetyPlan(
        text, in: caseID, resolving: resolving, state: state, dag: &dag, now: now,
        using: &random)
    }
  }

  /// A consent: for what, to whom, written or oral, until when (ms).
  @discardableResult
  public func recordConsent(
    purpose: String, recipient: String, form: Consent.Form, expiry: UInt64?, in caseID: CaseID
  ) throws(JournalError) -> EntryID {
    try single { writer, state, dag, random, now throws(ModelError) in
      var record = writer.newRecord(.consent, now: now)
      record[string: .purpose] = purpose
      record[string: .recipient] = recipient
      record[number: .form] = UInt64(form.rawValue)
      record[number: .expiry] = expiry
      return try writer.append(record, in: caseID, state: state, dag: &dag, using: &random)
    }
  }

  @discardableResult
  public func revokeConsent(_ consent: EntryID, in caseID: CaseID) throws(JournalError) -> EntryID {
    try single { writer, state, dag, random, now throws(ModelError) in
      guard state.cases[caseID]?.consents[consent] != nil else {
        throw ModelError(.invalidValue, "no such consent in this case")
      }
      var record = writer.newRecord(.consentRevoked, now: now)
      record[digest: .consent] = consent
      return try writer.append(record, in: caseID, state: state, dag: &dag, using: &random)
    }
  }

  /// Restricts a case to `people` (a new key generation sealed only to their devices).
  public func restrict(_ caseID: CaseID, to people: [PersonID]) throws(JournalError) {
    try single(needsFullLog: true) { writer, state, dag, random, now throws(ModelError) in
      try writer.restrict(caseID, to: people, state: state, dag: &dag, now: now, using: &random)
    }
  }

  /// Crypto-shreds a case (admins): its bodies and key wraps are erased here at once, and
  /// on every device and the relay as they sync.
  public func shred(_ caseID: CaseID) throws(JournalError) {
    try write(needsFullLog: true) { writer, state, dag, random, now throws(ModelError) in
      ((), try writer.shred(caseID, state: state, dag: &dag, now: now, using: &random))
    }
    // The shred is stored: from here on it has happened. If erasing fails now, no snapshot
    // is written until it succeeds, and every full load tries again.
    try? eraseShreddedBodies()
  }

  /// Approves that `person` may export `caseID` with its protected fields, for `hours`.
  public func approveExport(
    of caseID: CaseID, for person: PersonID, hours: UInt64 = 24
  ) throws(JournalError) {
    try single { writer, state, dag, random, now throws(ModelError) in
      try writer.approveExport(
        of: caseID, for: person, expiry: now + hours * 3_600_000, state: state, dag: &dag,
        now: now, using: &random)
    }
  }

  // MARK: - Plumbing

  func write<R>(
    needsFullLog: Bool = false,
    _ body: (
      inout JournalWriter, JournalState, inout DAG, inout SystemRandom, UInt64
    ) throws(ModelError) -> (R, [Entry])
  ) throws(JournalError) -> R {
    try withSession { session throws(JournalError) -> R in
      var result: R?
      _ = try commit(session, needsFullLog: needsFullLog) {
        writer, state, dag, random, now throws(ModelError) in
        let (value, entries) = try body(&writer, state, &dag, &random, now)
        result = value
        return entries
      }
      return result!
    }
  }

  @discardableResult
  func single(
    needsFullLog: Bool = false,
    _ body: (
      inout JournalWriter, JournalState, inout DAG, inout SystemRandom, UInt64
    ) throws(ModelError) -> Entry
  ) throws(JournalError) -> EntryID {
    try write(needsFullLog: needsFullLog) { writer, state, dag, random, now throws(ModelError) in
      let entry = try body(&writer, state, &dag, &random, now)
      return (entry.id, [entry])
    }
  }

  /// Drops from the store the bodies the state says are erased (a shred, here or synced),
  /// and replaces the snapshot, so nothing of a shredded case stays readable here.
  func eraseShreddedBodies() throws(JournalError) {
    try withSession { session throws(JournalError) in
      try ensureFullLog(session)
      try eraseLeftoverBodies(session)
    }
  }

  /// Bodies still stored though the state says they are erased (the shred was written, or
  /// arrived, and the process stopped before it erased them): erased now, then the log is
  /// loaded again and the snapshot replaced (its key overwritten, so no earlier snapshot
  /// can be opened again).
  func eraseLeftoverBodies(_ session: Session) throws(JournalError) {
    guard let state = session.state, let dag = session.dag, !session.dagIsPartial else { return }
    let erased = state.erased.compactMap { id in dag[id].flatMap { $0.body == nil ? nil : $0 } }
    guard !erased.isEmpty else { return }
    do {
      // The snapshot first: it holds the case's keys and text, and must not outlive a
      // failure below.
      try store.dropSnapshot()
      try store.detachBodies(erased, seen: options.clock())
    } catch { throw JournalError(error) }
    try loadFully(session)
    try? saveSnapshot(session)
  }
}
