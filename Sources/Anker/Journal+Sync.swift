public import AnkerCrypto
public import AnkerLog
import AnkerModel
import AnkerStore
public import AnkerSync

extension Journal {
  /// Syncs with the relay at `relay` (`http(s)://host[:port]`): pushes this laptop's new
  /// entries, takes everyone else's, repairs a relay that went back, checks and publishes
  /// head attestations. Everything taken is stored as it arrives, so an interruption loses
  /// nothing; the report names whatever the relay did wrong.
  public func sync(
    relay: String, transport: any RelayTransport = URLSessionTransport(),
    options: SyncSession<JournalSyncLocal>.Options = .init()
  ) async throws(JournalError) -> SyncReport {
    let local = JournalSyncLocal(journal: self)
    let journalID = try withSession { session throws(JournalError) in
      guard let dag = session.dag else {
        throw JournalError(.notEnrolled, "this laptop is not a member of a journal yet")
      }
      return dag.journal
    }
    do {
      let client = try RelayClient(
        url: relay, journal: journalID, signer: signingKey, transport: transport,
        clock: optionsClock)
      return try await SyncSession(local: local, client: client, options: options).run()
    } catch {
      // Whatever was taken before the stop is stored: evaluate it now.
      try? local.finish()
      throw JournalError(error)
    }
  }

  /// How many of this laptop's entries the relay has not acknowledged yet.
  public var unsyncedCount: Int {
    get throws(JournalError) {
      // A count in the store: no full load of the log, nothing decrypted.
      try withSession { _ throws(JournalError) in
        do { return try store.outboxCount() } catch { throw JournalError(error) }
      }
    }
  }

  /// A signed statement of everything this laptop holds (its heads and count): the
  /// checkpoint a coordinator keeps beside the paper key (DESIGN rule 10).
  public func headCheckpoint() throws(JournalError) -> HeadAttestation {
    do {
      return try JournalSyncLocal(journal: self).attestation(now: optionsClock(), excluding: [])
    } catch { throw JournalError(error) }
  }

  /// The journal's id and its genesis entry's id: what an invite names (rule 6).
  public var identity: (journal: JournalID, genesis: EntryID) {
    get throws(JournalError) {
      try withSession { session throws(JournalError) in
        guard let dag = session.dag else {
          throw JournalError(.notEnrolled, "this laptop is not a member of a journal yet")
        }
        return (dag.journal, dag.genesisID)
      }
    }
  }

  private var optionsClock: @Sendable () -> UInt64 { options.clock }

  /// The device's signing key while the journal is unlocked, for one request at a time: a
  /// sync never holds it past a lock.
  var signingKey: @Sendable () -> Signing.PrivateKey? {
    { [weak self] in self?.unlockedSecrets?.signing }
  }

  /// Joins a journal through the relay: a laptop an admin added (`addDevice`, then a sync of
  /// the admin's laptop) downloads the journal, which must start with the genesis `genesis`
  /// the invite named (DESIGN rule 6), and which must admit this laptop.
  /// With an invite, `admittedBy` is the inviting admin's fingerprint bytes and `role` the
  /// invite's: a laptop admitted by anyone else, or in another role, refuses the journal.
  public func join(
    relay: String, journal: JournalID, genesis: EntryID, admittedBy: [UInt8]? = nil,
    role: Role? = nil, transport: any RelayTransport = URLSessionTransport()
  ) async throws(JournalError) {
    try withSession { session throws(JournalError) in
      guard session.dag == nil else {
        throw JournalError(.invalidArgument, "this laptop is a member of a journal already")
      }
    }
    let local = JoiningLocal(journal: journal, signer: signingKey, genesis: genesis)
    do {
      let client = try RelayClient(
        url: relay, journal: journal, signer: signingKey, transport: transport,
        clock: optionsClock)
      _ = try await SyncSession(local: local, client: client).run()
    } catch {
      throw JournalError(error)
    }
    guard let dag = local.dag else {
      throw JournalError(.invalidLog, "the relay holds no entries of this journal")
    }
    try join(dag: dag, entries: local.entries, admittedBy: admittedBy, role: role)
    if let cursor = local.savedCursor {
      try withSession { _ throws(JournalError) in
        do {
          try store.setCursor(JournalSyncLocal.cursorName(local.relay), to: cursor.encoded)
        } catch { throw JournalError(error) }
      }
    }
  }
}

/// The journal as the sync sees it. Each call takes the journal's lock on its own, so the
/// laptop stays usable (and lockable) during a long sync.
public final class JournalSyncLocal: SyncLocal, @unchecked Sendable {
  // @unchecked: all state lives in the journal, behind its lock.
  let journal: Journal
  private var took = false

  init(journal: Journal) { self.journal = journal }

  static func cursorName(_ relay: String) -> String { "relay " + relay }

  private func session<R>(
    _ body: (Journal.Session, inout DAG) throws(SyncError) -> R
  ) throws(SyncError) -> R {
    do {
      return try journal.withSession { session throws(JournalError) -> Result<R, SyncError> in
        try journal.ensureFullLog(session)
        guard var dag = session.dag else {
          throw JournalError(.notEnrolled, "this laptop is not a member of a journal yet")
        }
        session.dag = nil
        defer { session.dag = dag }
        do throws(SyncError) { return .success(try body(session, &dag)) } catch {
          return .failure(error)
        }
      }.get()
    } catch let error as SyncError {
      throw error
    } catch {
      throw SyncError(.local, "this laptop's journal: \(error)")
    }
  }

  private func stored<R>(_ body: () throws(StoreError) -> R) throws(SyncError) -> R {
    do { return try body() } catch {
      throw SyncError(.local, "this laptop's store: \(error.message)")
    }
  }

  public var journalID: JournalID {
    get throws(SyncError) { try session { _, dag in dag.journal } }
  }

  public var device: Signing.PrivateKey {
    get throws(SyncError) { try session { session, _ in session.secrets.signing } }
  }

  public func genesis() throws(SyncError) -> Entry { try session { _, dag in dag.genesis } }

  public func outbox() throws(SyncError) -> [Entry] {
    try session { _, _ throws(SyncError) in
      try stored { () throws(StoreError) in try journal.store.outbox() }
    }
  }

  public func acknowledge(_ ids: [EntryID]) throws(SyncError) {
    try session { _, _ throws(SyncError) in
      try stored { () throws(StoreError) in try journal.store.acknowledge(ids) }
    }
  }

  public func entries(_ ids: [EntryID]) throws(SyncError) -> [Entry] {
    try session { _, dag in ids.compactMap { dag[$0] } }
  }

  public func allIDs() throws(SyncError) -> [EntryID] {
    try session { _, dag in dag.causalOrder.map(\.id) }
  }

  /// Authenticates (one signature per author chain, rule 5), places in the DAG, and stores in
  /// one transaction whatever was placed, including entries that waited for these.
  public func take(_ entries: [Entry]) throws(SyncError) -> TakeResult {
    try session { session, dag throws(SyncError) in
      var seen = Set<EntryID>()
      let fresh = entries.filter { !dag.contains($0.id) && seen.insert($0.id).inserted }
      guard !fresh.isEmpty else { return TakeResult(stored: 0, rejected: 0, waiting: []) }
      let report = ChainVerification.verify(fresh)
      var failed = Set(report.rejected.map(\.entry.id))
      var placed = [EntryID]()
      for entry in report.authenticated {
        do {
          if case .placed(let ids) = try dag.insert(entry) { placed += ids }
        } catch {
          // It can never fit: counted, and never waited for (the cursor moves past it).
          failed.insert(entry.id)
        }
      }
      let now = journal.options.clock()
      let newEntries = placed.compactMap { dag[$0] }
      if !newEntries.isEmpty {
        do { try journal.store.append(newEntries, outbox: false, seen: now) } catch {
          // Placed but not stored: the session must forget them (the next call reloads the
          // whole log from the store), or they would count as held and never be stored.
          session.needsFullLoad = true
          throw SyncError(
            .local, "this laptop's store: \((error as? StoreError)?.message ?? "write failed")")
        }
        took = true
        session.evaluationPending = true
        session.snapshotIsCurrent = false
        let me = session.secrets.signing.publicKey
        for entry in newEntries {
          if case .recoveryEnrolment? = entry.control { session.firstSeen[entry.id] = now }
          // This device's own entries coming back (a store restored from an older copy):
          // the next write must follow the newest, never fork its chain.
          if entry.author == me,
            entry.sequence > (session.writer.lastOwn.flatMap { dag[$0]?.sequence } ?? 0)
          {
            session.writer = JournalWriter(device: session.secrets.signing, lastOwn: entry.id)
          }
        }
      }
      let waiting = Set(fresh.map(\.id)).filter { !dag.contains($0) }.subtracting(failed)
      return TakeResult(stored: newEntries.count, rejected: failed.count, waiting: waiting)
    }
  }

  public func missingParents() throws(SyncError) -> [EntryID] {
    try session { _, dag in dag.missingParents }
  }

  public func contains(_ id: EntryID) throws(SyncError) -> Bool {
    try session { _, dag in dag.contains(id) }
  }

  public func isMember(_ device: Signing.PublicKey) throws(SyncError) -> Bool {
    try session { session, dag in
      if let state = session.state { return state.membership.devices[device] != nil }
      return dag.genesis.author == device
    }
  }

  public func cursor(relay: String) throws(SyncError) -> SyncCursor {
    let bytes = try session { _, _ throws(SyncError) in
      try stored { () throws(StoreError) in try journal.store.cursor(Self.cursorName(relay)) }
    }
    guard let bytes else { return SyncCursor() }
    // A cursor that cannot be read costs a full pull, never a wrong one.
    return (try? SyncCursor(decoding: bytes)) ?? SyncCursor()
  }

  public func saveCursor(_ cursor: SyncCursor, relay: String) throws(SyncError) {
    try session { _, _ throws(SyncError) in
      try stored { () throws(StoreError) in
        try journal.store.setCursor(Self.cursorName(relay), to: cursor.encoded)
      }
    }
  }

  public func attestation(now: UInt64, excluding: Set<EntryID>) throws(SyncError)
    -> HeadAttestation
  {
    try session { session, dag in
      HeadAttestation(
        signedBy: session.secrets.signing, journal: dag.journal, time: now,
        count: UInt64(dag.count), heads: dag.heads.filter { !excluding.contains($0) })
    }
  }

  /// Evaluates the journal once with everything taken.
  public func finish() throws(SyncError) {
    guard took else { return }
    do {
      try journal.withSession { session throws(JournalError) in
        // Not through `session(_:)`: installing may reload the DAG (erasing shredded
        // bodies), and nothing may put the old one back afterwards.
        guard let dag = session.dag else { return }
        let me = session.secrets.signing.publicKey
        var own: EntryID?
        var sequence: UInt64 = 1
        while let entry = dag.entries(author: me, sequence: sequence).first {
          own = entry.id
          sequence += 1
        }
        journal.install(session, dag: dag, firstSeen: session.firstSeen, lastOwn: own)
      }
    } catch {
      throw SyncError(.local, "this laptop's journal: \(error)")
    }
    took = false
  }
}

/// The sync's view of a laptop that is joining: entries collect in memory until the journal
/// is complete and checked (`Journal.join(log:genesis:)`).
final class JoiningLocal: SyncLocal {
  let journal: JournalID
  /// The device's key while the journal is unlocked (nil once locked: the join stops).
  let signer: () -> Signing.PrivateKey?
  let genesisID: EntryID
  private(set) var entries: [Entry] = []
  private(set) var dag: DAG?
  private(set) var savedCursor: SyncCursor?
  private(set) var relay = ""

  init(journal: JournalID, signer: @escaping () -> Signing.PrivateKey?, genesis: EntryID) {
    self.journal = journal
    self.signer = signer
    self.genesisID = genesis
  }

  var journalID: JournalID { journal }

  var device: Signing.PrivateKey {
    get throws(SyncError) {
      guard let key = signer() else {
        throw SyncError(.local, "the journal was locked during the join: stopped")
      }
      return key
    }
  }

  func genesis() throws(SyncError) -> Entry {
    guard let dag else {
      throw SyncError(
        .refused, "the relay does not hold this journal yet", relayCode: "unknownJournal")
    }
    return dag.genesis
  }

  func outbox() -> [Entry] { [] }
  func acknowledge(_ ids: [EntryID]) {}
  func entries(_ ids: [EntryID]) -> [Entry] { ids.compactMap { dag?[$0] } }
  func allIDs() -> [EntryID] { entries.map(\.id) }

  func take(_ batch: [Entry]) throws(SyncError) -> TakeResult {
    var fresh = batch
    if dag == nil {
      guard let first = fresh.first, first.id == genesisID else {
        throw SyncError(.refused, "the relay's journal is not the one invited to")
      }
      do { dag = try DAG(genesis: first) } catch {
        throw SyncError(.refused, "the relay's journal does not start with a genesis")
      }
      entries.append(first)
      fresh.removeFirst()
    }
    fresh = fresh.filter { !dag!.contains($0.id) }
    let report = ChainVerification.verify(fresh)
    var placedCount = 0
    for entry in report.authenticated {
      if case .placed(let ids)? = try? dag!.insert(entry) {
        entries += ids.compactMap { dag![$0] }
        placedCount += ids.count
      }
    }
    let waiting = Set(fresh.map(\.id)).filter { !dag!.contains($0) }
      .subtracting(report.rejected.map(\.entry.id))
    return TakeResult(stored: placedCount, rejected: report.rejected.count, waiting: waiting)
  }

  func missingParents() -> [EntryID] { dag?.missingParents ?? [] }
  func contains(_ id: EntryID) -> Bool { dag?.contains(id) ?? false }
  func isMember(_ device: Signing.PublicKey) -> Bool { false }
  func cursor(relay: String) -> SyncCursor { SyncCursor() }

  func saveCursor(_ cursor: SyncCursor, relay: String) {
    savedCursor = cursor
    self.relay = relay
  }

  func attestation(now: UInt64, excluding: Set<EntryID>) throws(SyncError) -> HeadAttestation {
    HeadAttestation(
      signedBy: try device, journal: journal, time: now, count: UInt64(dag?.count ?? 0),
      heads: dag?.heads ?? [])
  }

  func finish() {}
}
