public import AnkerCrypto
public import AnkerLog
import AnkerModel
import AnkerStore
import AnkerSync

/// What a new laptop hands an admin to be added: its public keys, and a fingerprint both
/// screens show so the two people can compare it out loud.
public struct DeviceRequest: Hashable, Sendable {
  public let device: Signing.PublicKey
  public let box: Box.PublicKey

  public init(device: Signing.PublicKey, box: Box.PublicKey) {
    self.device = device
    self.box = box
  }

  public var fingerprint: String { Fingerprint.of(device.bytes + box.bytes) }
}

extension Journal {
  /// A new laptop's store, unlocked but empty: new keys under `passphrase`. Give the request
  /// to an admin; `join` then takes the journal the admin's device hands back. Also the way
  /// back after duress or panic (a wiped store is reused).
  public static func prepareDevice(
    at directory: String, passphrase: SecureBytes, options: Options = Options()
  ) throws(JournalError) -> (journal: Journal, request: DeviceRequest) {
    var random = SystemRandom()
    let secrets = DeviceSecrets(using: &random)
    let store: Store
    do {
      store = try Store.create(
        at: directory, secrets: secrets, passphrase: passphrase,
        parameters: options.passphraseCost.parameters(), clock: options.clock)
    } catch { throw JournalError(error) }
    let journal = Journal(store: store, options: options)
    try journal.withNewSession(secrets) { _ throws(JournalError) in }
    return (
      journal, DeviceRequest(device: secrets.signing.publicKey, box: secrets.box.publicKey)
    )
  }

  /// This laptop's public keys and their fingerprint.
  public var deviceRequest: DeviceRequest {
    get throws(JournalError) {
      try withSession { session throws(JournalError) in
        DeviceRequest(
          device: session.secrets.signing.publicKey, box: session.secrets.box.publicKey)
      }
    }
  }

  /// The people of the journal, with their names as this device reads them.
  public func people() throws(JournalError) -> [(id: PersonID, name: String?, isAdmin: Bool)] {
    try state.people.values.sorted { $0.id < $1.id }.map {
      ($0.id, $0.name.shown?.value, $0.isAdmin)
    }
  }

  /// Admits a device (admins only) for `person`, or for a new person named `name`.
  @discardableResult
  public func addDevice(
    _ request: DeviceRequest, role: Role, person: PersonID? = nil, name: String? = nil
  ) throws(JournalError) -> PersonID {
    try write(needsFullLog: true) { writer, state, dag, random, now throws(ModelError) in
      let who = person ?? PersonID(using: &random)
      var entries = [
        try writer.addDevice(
          request.device, box: request.box, person: who, role: role, state: state, dag: &dag,
          now: now)
      ]
      if let name {
        // The new person's name, sealed under the epoch key; the state the writer sees does
        // not know the device yet, which a name does not need.
        entries.append(
          try writer.namePerson(who, name: name, state: state, dag: &dag, now: now, using: &random))
      }
      return (who, entries)
    }
  }

  /// Names (or renames) a person.
  public func namePerson(_ person: PersonID, name: String) throws(JournalError) {
    try single { writer, state, dag, random, now throws(ModelError) in
      try writer.namePerson(person, name: name, state: state, dag: &dag, now: now, using: &random)
    }
  }

  /// Removes a device (admins): a new epoch and a new generation of every case key it could
  /// read, so it reads nothing written after.
  public func removeDevice(_ device: Signing.PublicKey) throws(JournalError) {
    try write(needsFullLog: true) { writer, state, dag, random, now throws(ModelError) in
      ((), try writer.removeDevice(device, state: state, dag: &dag, now: now, using: &random))
    }
  }

  /// Every stored entry, length-prefixed (u32 big-endian ‖ entry): what a device hands a
  /// joining one until the relay does it (and what a backup holds). Ciphertext only.
  public func exportLog() throws(JournalError) -> [UInt8] {
    try withSession { _ throws(JournalError) in
      let stored: [StoredEntry]
      do { stored = try store.entries() } catch { throw JournalError(error) }
      var out = [UInt8]()
      for item in stored {
        let bytes = item.entry.encoded
        withUnsafeBytes(of: UInt32(bytes.count).bigEndian) { out += $0 }
        out += bytes
      }
      return out
    }
  }

  /// Takes the journal an admin's device handed over (`exportLog`): it must start with the
  /// genesis `genesis` (the joining laptop refuses any other, DESIGN rule 6), verify, and
  /// admit this device.
  public func join(log: [UInt8], genesis: EntryID) throws(JournalError) {
    let entries = try Self.decodeLog(log)
    guard let first = entries.first, first.id == genesis else {
      throw JournalError(.invalidLog, "the journal handed over is not the one invited to")
    }
    let report = ChainVerification.verify(entries)
    guard report.isComplete else {
      throw JournalError(.invalidLog, "entries of the journal handed over do not verify")
    }
    var dag: DAG
    do {
      dag = try DAG(genesis: first)
      for entry in entries.dropFirst() { try dag.insert(entry) }
    } catch {
      throw JournalError(.invalidLog, "the journal handed over does not fit together")
    }
    try join(dag: dag, entries: entries)
  }

  /// Joins with a journal already authenticated and placed (`dag` holds exactly `entries`,
  /// parents first): checks that it admits this device, stores it, evaluates it.
  /// With an invite, `admin` is the inviting admin's fingerprint bytes and `role` the
  /// invite's: the entry that admitted this laptop must be that admin's, in that role.
  func join(
    dag: DAG, entries: [Entry], admittedBy admin: [UInt8]? = nil, role: Role? = nil
  ) throws(JournalError) {
    try adopt(dag: dag, entries: entries) { membership, key throws(JournalError) in
      guard let me = membership.devices[key], !me.isRemoved else {
        throw JournalError(
          .notEnrolled, "this device is not admitted in the journal handed over: ask an admin")
      }
      guard let admin else { return }
      // DESIGN rule 6: the admin who invited this laptop admitted it, in the invited role.
      let author = dag[me.admittedBy]?.author
      let by = author.flatMap { membership.devices[$0] }
      guard let by, InviteCode.fingerprintBytes(device: by.key, box: by.box) == admin,
        role == nil || me.role == role
      else {
        throw JournalError(
          .invalidLog,
          "this laptop was admitted by another admin, or in another role, than the invite said")
      }
    }
  }

  /// Stores a journal already authenticated and placed on a laptop that holds none yet, if
  /// `check` accepts its membership as this device (`me`) evaluates it.
  ///
  /// The store's one `synchronous=FULL` transaction and the evaluation (membership, then
  /// decrypting every body and merging) run at once, each on its own core. Membership and
  /// `check` alone decide whether the transaction commits: if `check` refuses, it is rolled
  /// back and nothing is stored. The join has happened only when both are done: a failed
  /// store write leaves the laptop as it was.
  func adopt(
    dag: DAG, entries: [Entry],
    check: (Membership, Signing.PublicKey) throws(JournalError) -> Void
  ) throws(JournalError) {
    guard dag.waitingIDs.isEmpty else {
      throw JournalError(.invalidLog, "the journal handed over misses entries")
    }
    try withSession { session throws(JournalError) in
      guard session.dag == nil else {
        throw JournalError(.invalidArgument, "this laptop is a member of a journal already")
      }
      let now = options.clock()
      // This device sees every recovery enrolment now (their time locks count from it).
      var firstSeen: [EntryID: UInt64] = [:]
      for entry in entries {
        if case .recoveryEnrolment? = entry.control { firstSeen[entry.id] = now }
      }
      let (readers, me) = ([session.secrets.box], session.secrets.signing.publicKey)
      let admission = Verdict()
      let (evaluated, stored) = Concurrently.run(
        { () -> Result<JournalState, JournalError> in
          let membership = Membership(dag: dag, now: now, firstSeen: firstSeen)
          do throws(JournalError) {
            try check(membership, me)
          } catch {
            admission.decide(false)
            return .failure(error)
          }
          admission.decide(true)
          return .success(
            JournalState(dag: dag, readers: readers, now: now, membership: membership))
        },
        { () -> Result<Bool, StoreError> in
          Result { () throws(StoreError) in
            try store.append(entries, outbox: false, seen: now) { admission.wait() }
          }
        })
      let state: JournalState
      switch evaluated {
      case .failure(let error): throw error
      case .success(let value): state = value
      }
      if case .failure(let error) = stored { throw JournalError(error) }
      guard case .success(true) = stored else {
        throw JournalError(.store, "the store did not keep the journal handed over")
      }
      // Stored: the join has happened. A joining device has no entries of its own yet.
      install(session, dag: dag, firstSeen: firstSeen, lastOwn: nil, state: state)
    }
  }

  /// Takes in entries another device of this journal handed over (`exportLog`, a backup):
  /// they are verified (one signature per author chain), placed, stored, and the state is
  /// evaluated again. Returns how many were new. Entries that do not verify or fit are
  /// refused as a whole, and nothing is stored.
  @discardableResult
  public func importLog(_ log: [UInt8]) throws(JournalError) -> Int {
    let entries = try Self.decodeLog(log)
    let report = ChainVerification.verify(entries)
    guard report.isComplete else {
      throw JournalError(.invalidLog, "entries handed over do not verify")
    }
    return try withSession { session throws(JournalError) -> Int in
      try ensureFullLog(session)
      guard var dag = session.dag else {
        throw JournalError(.notEnrolled, "this laptop is not a member of a journal yet")
      }
      var fresh = [Entry]()
      for entry in entries where !dag.contains(entry.id) {
        do { try dag.insert(entry) } catch let error as LogError {
          throw JournalError(.invalidLog, "an entry handed over does not fit (\(error.code))")
        } catch {
          throw JournalError(.invalidLog, "an entry handed over does not fit")
        }
        fresh.append(entry)
      }
      guard dag.waitingIDs.isEmpty else {
        throw JournalError(.invalidLog, "entries handed over miss earlier entries")
      }
      guard !fresh.isEmpty else { return 0 }
      do { try store.append(fresh, outbox: false, seen: options.clock()) } catch {
        throw JournalError(error)
      }
      // Stored: the import has happened; a failure to evaluate now is retried on next use.
      do { try loadFully(session) } catch { session.needsFullLoad = true }
      return fresh.count
    }
  }

  static func decodeLog(_ log: [UInt8]) throws(JournalError) -> [Entry] {
    var entries = [Entry]()
    var offset = 0
    while offset < log.count {
      guard offset + 4 <= log.count else {
        throw JournalError(.invalidLog, "the log is truncated")
      }
      let count = Int(log[offset..<offset + 4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
      offset += 4
      guard count <= log.count - offset else {
        throw JournalError(.invalidLog, "the log is truncated")
      }
      do { entries.append(try Entry(decoding: Array(log[offset..<offset + count]))) } catch {
        throw JournalError(.invalidLog, "an entry of the log is malformed (\(error.code))")
      }
      offset += count
    }
    return entries
  }
}
