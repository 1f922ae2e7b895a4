import AnkerCrypto
import AnkerLog

/// The laptop's store for one journal: a directory (0700) holding
///
/// - `keys`: the device's secrets wrapped under the worker's passphrase (`KeyFile`);
/// - `journal.sqlite` (WAL, `synchronous=FULL`, `secure_delete`): every entry exactly as
///   signed and sealed, itself sealed again under the local key (with the time this device
///   first saw it), the outbox of entries the relay has not acknowledged, sync cursors and the
///   read log, all sealed under the local key;
/// - `lock`: held (flock) while a process has the store open, so two processes never write
///   the same device's chain.
///
/// A thief with the disk sees sizes and counts, never content, times or ids of authors.
/// Not thread-safe: `Journal` serialises every call.
public final class Store {
  public let directory: String
  private var database: SQLiteDatabase
  private let keyFile: KeyFile
  private let lockDescriptor: Int32
  private var random = SystemRandom()
  private let clock: @Sendable () -> UInt64
  /// The unlocked secrets; nil while locked.
  public private(set) var secrets: DeviceSecrets?
  /// The Argon2id cost of the passphrase in force.
  public private(set) var parameters: PasswordHash.Parameters?
  /// True once the key material was destroyed (duress passphrase or panic).
  public private(set) var isWiped: Bool

  static let databaseName = "journal.sqlite"

  /// Wall-clock milliseconds since 1970.
  public static func wallClock() -> UInt64 { FileIO.nowMilliseconds() }

  private init(
    directory: String, database: SQLiteDatabase, keyFile: KeyFile, lock: Int32,
    clock: @escaping @Sendable () -> UInt64
  ) throws(StoreError) {
    self.directory = directory
    self.database = database
    self.keyFile = keyFile
    self.lockDescriptor = lock
    self.clock = clock
    let current = try keyFile.current()
    isWiped = current.slot.kind == .wiped
    parameters = current.slot.parameters
  }

  deinit {
    secrets = nil
    database.close()
    FileIO.unlock(lockDescriptor)
  }

  /// Whether a store (or a wiped one) exists in `directory`.
  public static func exists(at directory: String) -> Bool {
    FileIO.exists(directory + "/keys")
  }

  /// A new store for a new device, unlocked. Refuses a directory that already holds a store,
  /// unless that store was wiped (a fresh enrolment after duress or panic).
  public static func create(
    at directory: String, secrets: DeviceSecrets, passphrase: SecureBytes,
    parameters: PasswordHash.Parameters,
    clock: @escaping @Sendable () -> UInt64 = Store.wallClock
  ) throws(StoreError) -> Store {
    try FileIO.makePrivateDirectory(directory)
    let lock = try FileIO.lockExclusively(directory + "/lock")
    let keyFile = KeyFile(path: directory + "/keys")
    if FileIO.exists(keyFile.path) {
      guard (try? keyFile.current().slot.kind) == .wiped else {
        FileIO.unlock(lock)
        throw StoreError(.exists, "a journal is already stored here")
      }
    }
    var random = SystemRandom()
    let database: SQLiteDatabase
    do {
      Self.removeDatabaseFiles(in: directory)
      database = try Self.openDatabase(in: directory, create: true)
      try keyFile.install(
        try KeyFile.seal(
          secrets, passphrase: passphrase, parameters: parameters, duress: nil, using: &random),
        creating: true)
      FileIO.syncDirectory(directory)
    } catch {
      FileIO.unlock(lock)
      throw error
    }
    let store = try Store(
      directory: directory, database: database, keyFile: keyFile, lock: lock, clock: clock)
    store.secrets = secrets
    return store
  }

  /// Opens the store in `directory`, locked. Nothing is decrypted until `unlock`.
  public static func open(
    at directory: String, clock: @escaping @Sendable () -> UInt64 = Store.wallClock
  ) throws(StoreError) -> Store {
    guard exists(at: directory) else {
      throw StoreError(.notFound, "no journal is stored at this path")
    }
    let lock = try FileIO.lockExclusively(directory + "/lock")
    do {
      let keyFile = KeyFile(path: directory + "/keys")
      try keyFile.finishInterruptedChange()
      let database = try openDatabase(in: directory, create: false)
      return try Store(
        directory: directory, database: database, keyFile: keyFile, lock: lock, clock: clock)
    } catch {
      FileIO.unlock(lock)
      throw error
    }
  }

  private static func openDatabase(in directory: String, create: Bool) throws(StoreError)
    -> SQLiteDatabase
  {
    let path = directory + "/" + databaseName
    guard create || FileIO.exists(path) else {
      throw StoreError(
        .corrupt, "the journal database is missing from the store; restore it with anker-restore")
    }
    let database = try SQLiteDatabase(path: path, create: create)
    // The WAL and shared-memory files take the database file's permissions.
    FileIO.restrictToOwner(path)
    // Checks the header before anything else reads it: a damaged file fails here, clearly.
    guard try database.scalarText("PRAGMA journal_mode=WAL")?.lowercased() == "wal" else {
      throw StoreError(.io, "the store database cannot use write-ahead logging here")
    }
    try database.execute(
      """
      PRAGMA synchronous=FULL;
      PRAGMA secure_delete=ON;
      PRAGMA foreign_keys=ON;
      PRAGMA trusted_schema=OFF;
      PRAGMA busy_timeout=5000;
      PRAGMA cache_size=-32768;
      """)
    try Migrations.migrate(database)
    return database
  }

  /// The database and everything derived from it (the snapshot).
  private static func removeDatabaseFiles(in directory: String) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
      FileIO.remove(directory + "/" + databaseName + suffix)
    }
    for name in ["snapshot", "snapshot.new", "snapshot-key"] {
      FileIO.remove(directory + "/" + name)
    }
  }

  // MARK: - Unlock and lock

  public enum Unlocking: Sendable {
    /// The passphrase opened the keys.
    case unlocked
    /// The duress passphrase: the key material is destroyed, the store is now empty.
    case duress
  }

  /// Unwraps the device's secrets. A wrong passphrase changes nothing but the failure count;
  /// from the third failure on, each try must wait longer (5 s, 10 s, … up to 10 min).
  /// `upgrade`, when stronger than the stored cost, re-wraps the keys under it.
  public func unlock(
    passphrase: SecureBytes, upgrade: PasswordHash.Parameters? = nil
  ) throws(StoreError) -> Unlocking {
    // Always checked, even while unlocked: a second unlock proves the passphrase again, and
    // the duress passphrase wipes whatever the state.
    guard !isWiped else {
      throw StoreError(.wiped, "this journal's keys were destroyed; enrol this laptop again")
    }
    let attempts = Attempts(path: directory + "/attempts")
    let now = clock()
    if let wait = attempts.waitMilliseconds(now: now), wait > 0 {
      throw StoreError(
        .tooManyAttempts,
        "too many wrong passphrases: wait \((wait + 999) / 1000) s before trying again")
    }
    let slot = try keyFile.current().slot
    switch try KeyFile.open(slot, passphrase: passphrase) {
    case .opened(let opened):
      attempts.reset()
      if let upgrade, let current = slot.parameters,
        upgrade.opsLimit > current.opsLimit || upgrade.memLimit > current.memLimit
      {
        // A failed re-wrap leaves the old slot in force (install writes the other slot
        // first): the journal still unlocks, at the old cost, and tries again next time.
        try? rewrap(opened, passphrase: passphrase, parameters: upgrade, duress: slot.duress)
      }
      secrets = opened
      return .unlocked
    case .duress:
      attempts.reset()
      try wipe()
      return .duress
    case .wrongPassphrase:
      attempts.recordFailure(now: now)
      throw StoreError(.wrongPassphrase, "the passphrase is wrong; nothing was changed")
    }
  }

  /// Takes secrets a key agent kept since an earlier `unlock` in another process. They are
  /// proven when the journal's sealed rows open under them (`Journal.unlock(secrets:)`).
  public func adopt(_ secrets: DeviceSecrets) throws(StoreError) {
    guard !isWiped else {
      throw StoreError(.wiped, "this journal's keys were destroyed; enrol this laptop again")
    }
    self.secrets = secrets
  }

  /// Forgets the secrets (their memory is zeroed when released) and checkpoints the WAL.
  public func lock() {
    secrets = nil
    try? database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
  }

  /// Re-wraps the keys under `new` (with a new salt), without touching the entries. The old
  /// slot is overwritten in the key file. Keeps a duress passphrase only if it has its own
  /// cost parameters (always true after this call, see `setDuressPassphrase`).
  public func changePassphrase(
    from old: SecureBytes, to new: SecureBytes, parameters: PasswordHash.Parameters
  ) throws(StoreError) {
    let slot = try keyFile.current().slot
    guard case .opened(let opened) = try KeyFile.open(slot, passphrase: old) else {
      throw StoreError(.wrongPassphrase, "the current passphrase is wrong; nothing was changed")
    }
    try rewrap(opened, passphrase: new, parameters: parameters, duress: slot.duress)
  }

  /// Sets (or, with nil, removes) the duress passphrase. Confirms with the real one.
  public func setDuressPassphrase(
    _ duress: SecureBytes?, confirming passphrase: SecureBytes
  ) throws(StoreError) {
    let slot = try keyFile.current().slot
    guard case .opened(let opened) = try KeyFile.open(slot, passphrase: passphrase),
      let parameters = slot.parameters
    else {
      throw StoreError(.wrongPassphrase, "the passphrase is wrong; nothing was changed")
    }
    var verifier: KeyFile.Duress?
    if let duress {
      if case .opened = try KeyFile.open(slot, passphrase: duress) {
        throw StoreError(.io, "the duress passphrase must differ from the passphrase")
      }
      verifier = try KeyFile.duress(passphrase: duress, parameters: parameters)
    }
    // The duress block is authenticated with the keys, so the slot is sealed again.
    try rewrap(opened, passphrase: passphrase, parameters: parameters, duress: verifier)
  }

  public var hasDuressPassphrase: Bool { (try? keyFile.current().slot.duress) != nil }

  private func rewrap(
    _ secrets: DeviceSecrets, passphrase: SecureBytes, parameters: PasswordHash.Parameters,
    duress: KeyFile.Duress?
  ) throws(StoreError) {
    try keyFile.install(
      try KeyFile.seal(
        secrets, passphrase: passphrase, parameters: parameters, duress: duress, using: &random))
    self.parameters = parameters
  }

  /// Destroys the key material at once (panic, or the duress passphrase): the key file is
  /// overwritten and the database replaced by an empty one. Nothing that was stored can be
  /// read afterwards with any passphrase; a fresh enrolment and a sync bring the journal back.
  public func wipe() throws(StoreError) {
    secrets = nil
    // Every step runs whatever fails before it; the first failure is reported after.
    var failure: StoreError?
    do { try keyFile.wipe(using: &random) } catch { failure = error }
    isWiped = true
    database.close()
    Self.removeDatabaseFiles(in: directory)
    FileIO.remove(directory + "/attempts")
    FileIO.syncDirectory(directory)
    do { database = try Self.openDatabase(in: directory, create: true) } catch {
      failure = failure ?? error
    }
    if let failure { throw failure }
  }

  // MARK: - Local sealing

  func sealLocal(_ plaintext: [UInt8], context: [UInt8]) throws(StoreError) -> [UInt8] {
    guard let key = secrets?.local else { throw StoreError(.locked, "unlock the journal first") }
    let nonce = random.bytes(AEAD.nonceCount)
    return nonce + AEAD.seal(plaintext, key: key, nonce: nonce, associatedData: context)
  }

  func openLocal(_ sealed: [UInt8], context: [UInt8]) throws(StoreError) -> [UInt8] {
    guard let key = secrets?.local else { throw StoreError(.locked, "unlock the journal first") }
    guard sealed.count >= AEAD.nonceCount + AEAD.tagCount,
      let plain = try? AEAD.open(
        sealed[AEAD.nonceCount...], key: key, nonce: Array(sealed[0..<AEAD.nonceCount]),
        associatedData: context)
    else {
      throw StoreError(
        .corrupt, "a stored record failed authentication: the store was damaged or altered")
    }
    return plain
  }

  var db: SQLiteDatabase { database }
}

/// The count of wrong passphrases since the last success, in its own small file (so a wrong
/// try never writes to the key file or the database).
struct Attempts {
  let path: String

  private func read() -> (count: UInt32, last: UInt64) {
    guard let bytes = try? FileIO.read(path), bytes.count == 12 else { return (0, 0) }
    return (
      bytes[0..<4].reduce(0) { $0 << 8 | UInt32($1) },
      bytes[4..<12].reduce(0) { $0 << 8 | UInt64($1) }
    )
  }

  /// How long to wait before the next try is allowed, or nil when it may go ahead now.
  func waitMilliseconds(now: UInt64) -> UInt64? {
    let (count, last) = read()
    guard count >= 3 else { return nil }
    let delay = min(UInt64(5000) << UInt64(min(count - 3, 10)), 600_000)
    let (end, overflow) = last.addingReportingOverflow(delay)
    guard !overflow, end > now else { return overflow ? delay : nil }
    // A clock set back after the failures never makes the wait longer than the delay.
    return min(end - now, delay)
  }

  func recordFailure(now: UInt64) {
    let previous = read().count
    let count = previous == .max ? previous : previous + 1
    var bytes = [UInt8]()
    withUnsafeBytes(of: count.bigEndian) { bytes += $0 }
    withUnsafeBytes(of: now.bigEndian) { bytes += $0 }
    try? FileIO.overwrite(path, at: 0, with: bytes)
  }

  func reset() { FileIO.remove(path) }
}
