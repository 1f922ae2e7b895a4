import AnkerCrypto
import AnkerLog

/// Writes one device's entries: every write of the journal as a signed entry placed in the
/// DAG at once. Pure: the caller supplies the wall clock and the random source, and persists
/// what it returns.
public struct JournalWriter: Sendable {
  public let device: Signing.PrivateKey
  /// This device's newest entry.
  public var lastOwn: EntryID?
  public var clock = HybridLogicalClock()

  public init(device: Signing.PrivateKey, lastOwn: EntryID? = nil) {
    self.device = device
    self.lastOwn = lastOwn
  }

  /// What a new journal needs: its genesis entry and its first epoch key.
  public static func genesis(
    device: Signing.PrivateKey, box: Box.PublicKey, person: PersonID,
    recovery: (box: Box.PublicKey, authority: Signing.PublicKey),
    recoveryDelaySeconds: UInt64 = 72 * 3600, now: UInt64, using random: inout some RandomSource
  ) -> Entry {
    let journal = Digest256(random.bytes(32))!
    let epochKey = AEAD.Key(using: &random)
    let genesis = Control.Genesis(
      time: Timestamp(milliseconds: now), person: person, box: box, recoveryBox: recovery.box,
      recoveryAuthority: recovery.authority, recoveryDelaySeconds: recoveryDelaySeconds,
      wraps: [box, recovery.box].map {
        KeyWrap(recipient: $0, sealed: Box.seal(epochKey.secret, to: $0))
      })
    return EntryDraft.genesis(journal: journal, author: device.publicKey)
      .sign(body: Control.genesis(genesis).encoded, with: device)
  }

  // MARK: - Building blocks

  mutating func place(_ entry: Entry, in dag: inout DAG) throws(ModelError) {
    do { try dag.insert(entry) } catch {
      throw ModelError(.invalidValue, "the new entry does not fit the log: \(error.code)")
    }
    lastOwn = entry.id
  }

  /// Seals `record` under the current epoch key (`caseKey` nil) or a case key.
  mutating func seal(
    _ record: Record, caseKey: KeyRing.CaseKey?, state: JournalState, dag: inout DAG,
    using random: inout some RandomSource
  ) throws(ModelError) -> Entry {
    try ensureMember(state)
    guard let epoch = state.keys.currentEpoch else {
      throw ModelError(.notMember, "this device holds no epoch key: it may have been removed")
    }
    // A newer epoch exists that this device was not given (it was added while another admin
    // removed a device): writing now would use a key the removed device may hold.
    guard epoch.epoch >= state.newestEpoch else {
      throw ModelError(
        .staleKeys, "this device has not received the newest key yet; an admin must share it")
    }
    let draft = dag.draft(author: device.publicKey, lastOwn: lastOwn)
    let body: [UInt8]
    do {
      body = try SealedBody.seal(
        record.encoded, position: draft.positionBytes, epoch: epoch.epoch, epochKey: epoch.key,
        keyRef: caseKey?.keyRef ?? .zero, contentKey: caseKey?.key ?? epoch.key, using: &random)
    } catch {
      throw ModelError(.invalidValue, "the record is too large for one entry")
    }
    let entry = draft.sign(body: body, with: device)
    try place(entry, in: &dag)
    return entry
  }

  /// Refuses to write for a device the log says was removed or never admitted: every other
  /// device would reject what it writes.
  func ensureMember(_ state: JournalState) throws(ModelError) {
    guard let me = state.membership.devices[device.publicKey], !me.isRemoved else {
      throw ModelError(.notMember, "this device is not (or no longer) a member of the journal")
    }
  }

  mutating func control(
    _ control: Control, state: JournalState, dag: inout DAG
  ) throws(ModelError) -> Entry {
    try ensureMember(state)
    let entry = dag.draft(author: device.publicKey, lastOwn: lastOwn)
      .sign(body: control.encoded, with: device)
    try place(entry, in: &dag)
    return entry
  }

  mutating func record(_ kind: RecordKind, now: UInt64) -> Record {
    Record(kind: kind, time: clock.tick(wallClock: now))
  }

  func caseKey(_ caseID: CaseID, in state: JournalState) throws(ModelError) -> KeyRing.CaseKey {
    guard !state.shreddedCases.contains(caseID) else {
      throw ModelError(.shredded, "the case was shredded")
    }
    guard let caseState = state.cases[caseID] else {
      throw ModelError(.unknownCase, "no such case")
    }
    // Writing under an older generation than the case has would hand the note to everyone
    // the newer generation left out (a restriction, a removal).
    guard let key = state.keys.currentKey(of: caseID), key.generation >= caseState.generation
    else {
      throw ModelError(.noAccess, "this device cannot read the case (or no longer may)")
    }
    return key
  }

  /// The key to write a case under now. A key sealed under an epoch older than the current
  /// one may be known to a device removed since (a case created while another admin removed
  /// it): then the writer first starts a new generation under the current epoch.
  mutating func writableKey(
    _ caseID: CaseID, state: JournalState, dag: inout DAG, now: UInt64,
    using random: inout some RandomSource
  ) throws(ModelError) -> KeyRing.CaseKey {
    let key = try caseKey(caseID, in: state)
    guard let current = state.keys.currentEpoch, key.epoch != 0, key.epoch < current.epoch
    else { return key }
    let fresh = AEAD.Key(using: &random)
    let previous = state.keys.caseKeys.values.filter { $0.caseID == caseID && !$0.isCombination }
    let record = try caseKeyRecord(
      caseID, generation: key.generation + 1, key: fresh,
      restrictedTo: state.cases[caseID]?.restrictedTo ?? [], previous: Array(previous),
      state: state, now: now, using: &random)
    let entry = try seal(record, caseKey: nil, state: state, dag: &dag, using: &random)
    return KeyRing.CaseKey(
      caseID: caseID, generation: key.generation + 1, wrapID: entry.id, key: fresh,
      epoch: current.epoch)
  }

  // MARK: - Key records

  /// A case-key record: an open case's key wrapped under the epoch key, or a restricted
  /// case's sealed to the listed people's devices and the recovery key; with back-links that
  /// wrap earlier generations under the new key.
  mutating func caseKeyRecord(
    _ caseID: CaseID, generation: UInt64, key: AEAD.Key, restrictedTo: [PersonID],
    previous: [KeyRing.CaseKey], state: JournalState, now: UInt64,
    excluding removed: Signing.PublicKey? = nil, vault: Bool = false,
    using random: inout some RandomSource
  ) throws(ModelError) -> Record {
    guard let epoch = state.keys.currentEpoch else {
      throw ModelError(.notMember, "this device holds no epoch key")
    }
    var record = record(.caseKey, now: now)
    record[id: .caseID] = caseID
    record[number: .generation] = generation
    record[people: .restrictedTo] = restrictedTo.sorted()
    if vault { record.fields[.vault] = [1] }
    if restrictedTo.isEmpty {
      let nonce = random.bytes(AEAD.nonceCount)
      record.fields[.wrapped] =
        nonce
        + AEAD.seal(
          secret: key.secret, key: epoch.key, nonce: nonce,
          associatedData: WrapContext.caseKey(caseID, generation: generation))
    } else {
      let listed = Set(restrictedTo)
      var boxes = state.membership.activeDevices
        .filter { listed.contains($0.person) && $0.key != removed }.map(\.box)
      boxes.append(state.membership.recoveryBox)
      var sealed = [UInt8]()
      for box in Set(boxes).sorted() { sealed += box.bytes + Box.seal(key.secret, to: box) }
      record.fields[.sealed] = sealed
    }
    var links = [UInt8]()
    for old in previous.sorted(by: { $0.wrapID < $1.wrapID }) {
      let nonce = random.bytes(AEAD.nonceCount)
      links +=
        old.wrapID.bytes + nonce
        + AEAD.seal(
          secret: old.key.secret, key: key, nonce: nonce,
          associatedData: WrapContext.previousCaseKey(caseID, previous: old.wrapID))
    }
    if !links.isEmpty { record.fields[.previous] = links }
    return record
  }
}
