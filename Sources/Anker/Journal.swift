public import AnkerCrypto
import AnkerLog
import AnkerModel
public import AnkerStore
import Dispatch
import Foundation

/// The client library's face: one journal on one laptop. Create or join it, unlock it with
/// the worker's passphrase, write (every write is a signed entry committed to disk before the
/// call returns), read, export; lock it, or wipe it in an emergency.
///
/// Thread-safe: every call takes one lock. While locked (after `lock()`, the idle timeout, or
/// before `unlock`), no key is in memory and every read or write throws `.locked`.
public final class Journal: @unchecked Sendable {
  // @unchecked: every mutable property is read and written only under `mutex`.
  private let mutex = NSRecursiveLock()
  let store: Store
  let options: Options
  var session: Session?
  private var lastUse: UInt64 = 0
  private var idleTimer: DispatchSourceTimer?

  /// How costly the passphrase derivation is (Argon2id).
  public enum PassphraseCost: Sendable {
    /// libsodium's MODERATE (≈ 0.8 s): the default.
    case moderate
    /// libsodium's INTERACTIVE (≈ 0.1 s).
    case interactive
    /// The smallest Argon2id allows: for tests only, never for a real journal.
    case testingOnly

    func parameters() -> PasswordHash.Parameters {
      var random = SystemRandom()
      switch self {
      case .moderate: return .moderate(using: &random)
      case .interactive: return .interactive(using: &random)
      case .testingOnly:
        return try! PasswordHash.Parameters(
          opsLimit: 1, memLimit: 8192, salt: random.bytes(PasswordHash.saltCount))
      }
    }
  }

  public struct Options: Sendable {
    public var passphraseCost: PassphraseCost
    /// Locks the journal after this long without a call (nil: never).
    public var idleTimeoutSeconds: Double?
    /// Wall-clock milliseconds since 1970.
    public var clock: @Sendable () -> UInt64

    public init(
      passphraseCost: PassphraseCost = .moderate, idleTimeoutSeconds: Double? = 600,
      clock: @escaping @Sendable () -> UInt64 = Store.wallClock
    ) {
      self.passphraseCost = passphraseCost
      self.idleTimeoutSeconds = idleTimeoutSeconds
      self.clock = clock
    }
  }

  /// What an unlocked journal holds in memory.
  final class Session {
    let secrets: DeviceSecrets
    var dag: DAG?
    var state: JournalState?
    var writer: JournalWriter
    var random = SystemRandom()
    /// When this device first saw each recovery enrolment (their time locks count from it).
    var firstSeen: [EntryID: UInt64] = [:]
    /// True when `dag` is the frontier a snapshot gave: enough for this device's own content
    /// writes; anything else loads the whole log first (`loadFully`).
    var dagIsPartial = false
    /// True while the stored snapshot is this state (nothing to write at lock).
    var snapshotIsCurrent = false
    /// Set when evaluating the log failed after a write was stored: the next call loads the
    /// whole log again before anything else, and no snapshot is written meanwhile.
    var needsFullLoad = false
    /// Set while a sync has stored and placed entries the state does not show yet (until it
    /// evaluates at its end).
    var evaluationPending = false

    init(secrets: DeviceSecrets, dag: DAG?, state: JournalState?, writer: JournalWriter) {
      self.secrets = secrets
      self.dag = dag
      self.state = state
      self.writer = writer
    }
  }

  init(store: Store, options: Options) {
    self.store = store
    self.options = options
  }

  deinit { idleTimer?.cancel() }

  // MARK: - Create, open, unlock, lock

  /// A new journal in `directory`: this laptop is its first admin device, `name` the
  /// person's name (sealed like everything else). Returns the organisation's paper recovery
  /// key, to print once and keep offline: it is never stored.
  public static func create(
    at directory: String, passphrase: SecureBytes, name: String, options: Options = Options()
  ) throws(JournalError) -> (journal: Journal, recoveryKey: RecoveryKey) {
    var random = SystemRandom()
    let secrets = DeviceSecrets(using: &random)
    let recovery = RecoveryKey()
    let person = PersonID(using: &random)
    let now = options.clock()
    let genesis = JournalWriter.genesis(
      device: secrets.signing, box: secrets.box.publicKey, person: person,
      recovery: (recovery.boxKey.publicKey, recovery.authorityKey.publicKey), now: now,
      using: &random)
    let store: Store
    do {
      store = try Store.create(
        at: directory, secrets: secrets, passphrase: passphrase,
        parameters: options.passphraseCost.parameters(), clock: options.clock)
      try store.append([genesis], outbox: true, seen: now)
    } catch { throw JournalError(error) }
    let journal = Journal(store: store, options: options)
    try journal.withNewSession(secrets) { session throws(JournalError) in
      try journal.load(session)
      _ = try journal.commit(session) { writer, state, dag, random, now throws(ModelError) in
        [
          try writer.namePerson(
            person, name: name, state: state, dag: &dag, now: now, using: &random)
        ]
      }
    }
    return (journal, recovery)
  }

  /// Opens the journal in `directory`, locked.
  public static func open(
    at directory: String, options: Options = Options()
  ) throws(JournalError) -> Journal {
    do {
      return Journal(store: try Store.open(at: directory, clock: options.clock), options: options)
    } catch { throw JournalError(error) }
  }

  /// What `unlock` found.
  public enum Unlocked: Sendable {
    case unlocked
    /// The duress passphrase was typed: the keys are destroyed and the journal is empty.
    case emptied
  }

  /// Unwraps the keys with the passphrase and loads the journal. A wrong passphrase throws
  /// `store/wrongPassphrase` and changes nothing; repeated failures must wait longer.
  /// On a wiped journal (after duress or panic) every passphrase opens it empty.
  @discardableResult
  public func unlock(passphrase: SecureBytes) throws(JournalError) -> Unlocked {
    try locked { () throws(JournalError) -> Unlocked in
      if store.isWiped { return .emptied }
      let outcome: Store.Unlocking
      do {
        outcome = try store.unlock(
          passphrase: passphrase, upgrade: options.passphraseCost.parameters())
      } catch {
        // A duress wipe that failed part-way still ends the session.
        if store.isWiped {
          session = nil
          idleTimer?.cancel()
          idleTimer = nil
        }
        throw JournalError(error)
      }
      guard case .unlocked = outcome, let secrets = store.secrets else {
        // The duress passphrase: the store is wiped; nothing of the session may remain.
        session = nil
        idleTimer?.cancel()
        idleTimer = nil
        return .emptied
      }
      if session != nil {
        touch()
        return .unlocked
      }
      try startSession(secrets)
      return .unlocked
    }
  }

  /// Unlocks with the secrets a key agent kept since `unlock(passphrase:)` ran in another
  /// process (DESIGN rule 9). Secrets of another journal do not open its sealed rows: that
  /// throws and leaves the journal locked.
  public func unlock(secrets: DeviceSecrets) throws(JournalError) {
    try locked { () throws(JournalError) in
      if session != nil {
        touch()
        return
      }
      do { try store.adopt(secrets) } catch { throw JournalError(error) }
      try startSession(secrets)
    }
  }

  /// Loads the journal for `secrets` the store now holds; on failure the store locks again.
  private func startSession(_ secrets: DeviceSecrets) throws(JournalError) {
    let session = Session(
      secrets: secrets, dag: nil, state: nil, writer: JournalWriter(device: secrets.signing))
    do {
      try load(session)
    } catch {
      store.lock()
      throw JournalError(error)
    }
    self.session = session
    touch()
  }

  /// The unlocked secrets, for a key agent; nil while locked.
  public var unlockedSecrets: DeviceSecrets? { locked { session?.secrets } }

  /// Zeroes every key in memory (their secure memory is wiped on release) and forgets the
  /// decrypted journal. Safe to call at any time.
  public func lock() {
    locked {
      // The reads recorded here go into the log while the keys are still at hand; if that
      // fails they stay in the local read log (sealed) for the next unlock.
      if session?.state != nil, (try? store.pendingReads().isEmpty) == false {
        try? flushReadAudit()
      }
      lockNow()
    }
  }

  private func lockNow() {
    if let session { try? saveSnapshot(session) }
    session = nil
    store.lock()
    idleTimer?.cancel()
    idleTimer = nil
  }

  public var isLocked: Bool { locked { session == nil } }

  /// Destroys the key material at once: nothing stored here can be read again with any
  /// passphrase. A fresh enrolment and a sync bring the journal back.
  public func panic() throws(JournalError) {
    try locked { () throws(JournalError) in
      session = nil
      idleTimer?.cancel()
      idleTimer = nil
      do { try store.wipe() } catch { throw JournalError(error) }
    }
  }

  /// True after duress or panic: the journal is empty and needs a fresh enrolment.
  public var isWiped: Bool { locked { store.isWiped } }

  /// Changes the passphrase: the keys are re-wrapped (the old wrapped keys overwritten in
  /// place), the entries untouched.
  public func changePassphrase(
    from old: SecureBytes, to new: SecureBytes
  ) throws(JournalError) {
    try locked { () throws(JournalError) in
      do {
        try store.changePassphrase(
          from: old, to: new, parameters: options.passphraseCost.parameters())
      } catch { throw JournalError(error) }
    }
  }

  /// Sets the duress passphrase (nil removes it): typed at unlock, it destroys the keys and
  /// opens an empty journal. Confirmed with the real passphrase.
  public func setDuressPassphrase(
    _ duress: SecureBytes?, confirming passphrase: SecureBytes
  ) throws(JournalError) {
    try locked { () throws(JournalError) in
      do {
        try store.setDuressPassphrase(duress, confirming: passphrase)
      } catch { throw JournalError(error) }
    }
  }

  // MARK: - Sessions

  /// Loads the journal: from the stored snapshot when it is there and current (plus this
  /// device's own entries stored after it), else from every entry.
  func load(_ session: Session) throws(JournalError) {
    if (try? loadFromSnapshot(session)) == true { return }
    try loadFully(session)
  }

  /// Loads the whole log when the session holds only a snapshot's frontier.
  func ensureFullLog(_ session: Session) throws(JournalError) {
    if session.dagIsPartial { try loadFully(session) }
  }

  /// Loads every stored entry into the DAG and evaluates the state. Locally stored entries
  /// were authenticated before they were stored, and the local key authenticates them now.
  func loadFully(_ session: Session) throws(JournalError) {
    session.dagIsPartial = false
    session.snapshotIsCurrent = false
    session.needsFullLoad = true
    let stored: [StoredEntry]
    do { stored = try store.entries() } catch { throw JournalError(error) }
    guard let first = stored.first?.entry else {
      session.dag = nil
      session.state = nil
      session.needsFullLoad = false
      return
    }
    var dag: DAG
    do { dag = try DAG(genesis: first) } catch {
      throw JournalError(.invalidLog, "the stored journal does not start with its genesis")
    }
    var firstSeen: [EntryID: UInt64] = [:]
    for item in stored.dropFirst() {
      do { try dag.insert(item.entry) } catch {
        throw JournalError(
          .invalidLog, "a stored entry does not fit the journal (\(error.code)); run a check")
      }
      if case .recoveryEnrolment? = item.entry.control { firstSeen[item.entry.id] = item.firstSeen }
    }
    // Every stored entry was placed when it was stored: one waiting for a parent means rows
    // are missing (a damaged or altered store). Never carry on without them silently.
    guard dag.waitingIDs.isEmpty else {
      throw JournalError(
        StoreError(
          .corrupt,
          "\(dag.waitingIDs.count) stored entries miss earlier entries: the store was damaged; "
            + "restore it with anker-restore"))
    }
    let me = session.secrets.signing.publicKey
    let own = stored.lazy.map(\.entry).filter { $0.author == me && dag.contains($0.id) }
      .max { ($0.sequence, $0.id) < ($1.sequence, $1.id) }
    install(session, dag: dag, firstSeen: firstSeen, lastOwn: own?.id)
  }

  /// Makes `dag` (every stored entry, placed) the session's journal and evaluates it.
  func install(
    _ session: Session, dag: DAG, firstSeen: [EntryID: UInt64], lastOwn: EntryID?,
    state: JournalState? = nil
  ) {
    session.dagIsPartial = false
    session.snapshotIsCurrent = false
    session.writer = JournalWriter(device: session.secrets.signing, lastOwn: lastOwn)
    // A state the caller evaluated from this very DAG and these first-seen times.
    session.state =
      state
      ?? JournalState(
        dag: dag, readers: [session.secrets.box], now: options.clock(), firstSeen: firstSeen)
    session.dag = dag
    session.firstSeen = firstSeen
    session.needsFullLoad = false
    session.evaluationPending = false
    // Best effort: if it fails the bodies stay, no snapshot is written, and the next full
    // load tries again.
    try? eraseLeftoverBodies(session)
  }

  /// Runs a write: the writer places entries in the DAG; they are committed to the store
  /// (one `synchronous=FULL` transaction) before the state takes them in. If anything fails
  /// after an entry was placed, the session reloads from the store, so an entry that was
  /// not stored is never built upon (its sequence number is reused, never forked).
  func commit(
    _ session: Session, needsFullLog: Bool = false, clearingReadsThrough reads: Int64? = nil,
    _ body: (
      inout JournalWriter, JournalState, inout DAG, inout SystemRandom, UInt64
    ) throws(ModelError) -> [Entry]
  ) throws(JournalError) -> [Entry] {
    if needsFullLog { try ensureFullLog(session) }
    guard var dag = session.dag, session.state != nil else {
      throw JournalError(.notEnrolled, "this laptop is not a member of a journal yet")
    }
    session.dag = nil  // moved out, so the writer mutates it in place
    let now = options.clock()
    let before = session.writer.lastOwn
    var entries = [Entry]()
    do {
      // The state is lent for the call only: no copy outlives it, so applying the new
      // entries below mutates the state in place instead of copying its tables.
      _ = try body(&session.writer, session.state!, &dag, &session.random, now)
      // Every entry the writer placed, whatever it returned (a write may first start a new
      // key generation): this device's chain back to where it stood.
      var cursor = session.writer.lastOwn
      while let id = cursor, id != before, let entry = dag[id] {
        entries.append(entry)
        cursor = entry.prev
      }
      entries.reverse()
      try store.append(entries, outbox: true, seen: now, clearingReadsThrough: reads)
    } catch {
      if session.writer.lastOwn == before {
        session.dag = dag  // nothing was placed: the session is as it was
      } else {
        // Entries were placed but not stored: the session must forget them, or the next
        // write would build on them and reuse their sequence numbers.
        do { try loadFully(session) } catch { session.needsFullLoad = true }
      }
      throw JournalError(error)
    }
    // Stored: from here on the write has happened, whatever follows.
    session.dag = dag
    session.snapshotIsCurrent = false
    var incremental = true
    for entry in entries where incremental {
      incremental = session.state!.applyAppended(entry)
    }
    if !incremental {
      if session.dagIsPartial {
        do { try loadFully(session) } catch { session.needsFullLoad = true }
      } else {
        session.state = JournalState(
          dag: dag, readers: [session.secrets.box], now: now, firstSeen: session.firstSeen)
      }
    }
    return entries
  }

  /// Runs `body` with the unlocked session, under the lock; resets the idle timer.
  func withSession<R>(
    _ body: (Session) throws(JournalError) -> R
  ) throws(JournalError) -> R {
    try locked { () throws(JournalError) -> R in
      guard let session else { throw JournalError(.locked, "the journal is locked: unlock it") }
      touch()
      if session.needsFullLoad { try loadFully(session) }
      return try body(session)
    }
  }

  /// For `create`: a session opened with secrets just made.
  func withNewSession<R>(
    _ secrets: DeviceSecrets, _ body: (Session) throws(JournalError) -> R
  ) throws(JournalError) -> R {
    try locked { () throws(JournalError) -> R in
      let session = Session(
        secrets: secrets, dag: nil, state: nil, writer: JournalWriter(device: secrets.signing))
      self.session = session
      touch()
      return try body(session)
    }
  }

  func locked<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
    mutex.lock()
    defer { mutex.unlock() }
    return try body()
  }

  /// Notes activity; arms the idle timer that locks the journal.
  private func touch() {
    lastUse = DispatchTime.now().uptimeNanoseconds
    guard let timeout = options.idleTimeoutSeconds, idleTimer == nil else { return }
    let timer = DispatchSource.makeTimerSource(queue: .global())
    let interval = max(0.05, min(timeout / 4, 30))
    timer.schedule(deadline: .now() + interval, repeating: interval)
    timer.setEventHandler { [weak self] in
      guard let self else { return }
      self.locked {
        let idle = Double(DispatchTime.now().uptimeNanoseconds - self.lastUse) / 1e9
        if idle >= timeout, self.session != nil { self.lockNow() }
      }
    }
    idleTimer = timer
    timer.resume()
  }
}
