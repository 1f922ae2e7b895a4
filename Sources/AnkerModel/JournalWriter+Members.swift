import AnkerCrypto
import AnkerLog

/// People, devices, clients, and the key rotation a removal brings (DESIGN rule 1).
extension JournalWriter {
  /// Names a person (a staff member); the name is sealed under the epoch key.
  public mutating func namePerson(
    _ person: PersonID, name: String, state: JournalState, dag: inout DAG, now: UInt64,
    using random: inout some RandomSource
  ) throws(ModelError) -> Entry {
    var record = record(.person, now: now)
    record[person: .person] = person
    record[string: .name] = name
    record[digests: .replaces] = state.people[person]?.name.values.keys.sorted() ?? []
    return try seal(record, caseKey: nil, state: state, dag: &dag, using: &random)
  }

  /// Admits a device (its signing and box keys) for `person` in `role`, carrying the current
  /// epoch key sealed to it.
  public mutating func addDevice(
    _ key: Signing.PublicKey, box: Box.PublicKey, person: PersonID, role: Role,
    state: JournalState, dag: inout DAG, now: UInt64
  ) throws(ModelError) -> Entry {
    guard state.membership.devices[device.publicKey]?.role == .admin else {
      throw ModelError(.notAdmin, "only an admin device can add devices")
    }
    guard let epoch = state.keys.currentEpoch else {
      throw ModelError(.notMember, "this device holds no epoch key")
    }
    let added = Control.DeviceAdded(
      time: clock.tick(wallClock: now), device: key, box: box, person: person, role: role,
      epoch: UInt64(epoch.epoch),
      wraps: [KeyWrap(recipient: box, sealed: Box.seal(epoch.key.secret, to: box))])
    return try control(.deviceAdded(added), state: state, dag: &dag)
  }

  /// Removes a device and rotates: a new epoch sealed to every remaining device and the
  /// recovery key, an epoch link so continuing members and later joiners read history, and a
  /// new generation of every case key the removed device could read, each linking back.
  public mutating func removeDevice(
    _ target: Signing.PublicKey, state: JournalState, dag: inout DAG, now: UInt64,
    using random: inout some RandomSource
  ) throws(ModelError) -> [Entry] {
    let membership = state.membership
    guard membership.devices[device.publicKey]?.role == .admin else {
      throw ModelError(.notAdmin, "only an admin device can remove devices")
    }
    guard let removed = membership.devices[target], target != device.publicKey else {
      throw ModelError(.invalidValue, "no such device, or it is this one")
    }
    guard let old = state.keys.currentEpoch else {
      throw ModelError(.notMember, "this device holds no epoch key")
    }
    // The removed device's newest entry this device has seen.
    // (The highest sequence, not the highest Lamport number: a cloned device's forks differ.)
    let last = dag.causalOrder.filter { $0.author == target }
      .max { ($0.sequence, $0.id) < ($1.sequence, $1.id) }
    let newKey = AEAD.Key(using: &random)
    let remaining = membership.activeDevices.filter { $0.key != target }.map(\.box)
    let recipients = Set(remaining + [membership.recoveryBox]).sorted()
    let removal = Control.DeviceRemoved(
      time: clock.tick(wallClock: now), device: target, lastSequence: last?.sequence ?? 0,
      lastID: last?.id, epoch: UInt64(old.epoch) + 1,
      wraps: recipients.map { KeyWrap(recipient: $0, sealed: Box.seal(newKey.secret, to: $0)) })
    var entries = [try control(.deviceRemoved(removal), state: state, dag: &dag)]
    var rotated = state
    entries += try linkEpoch(
      from: old.epoch, to: newKey, introducedBy: entries[0].id, state: &rotated, dag: &dag,
      now: now, using: &random)
    // A new generation of every case the removed person could read.
    for caseState in state.cases.values.sorted(by: { $0.id < $1.id }) {
      let restricted = caseState.restrictedTo
      guard restricted.isEmpty || restricted.contains(removed.person) else { continue }
      let previous = state.keys.caseKeys.values.filter { $0.caseID == caseState.id }
      let record = try caseKeyRecord(
        caseState.id, generation: caseState.generation + 1, key: AEAD.Key(using: &random),
        restrictedTo: restricted, previous: Array(previous), state: rotated, now: now,
        excluding: target, using: &random)
      entries.append(try seal(record, caseKey: nil, state: rotated, dag: &dag, using: &random))
    }
    // And of every identity vault it could open.
    for client in state.clients.values.sorted(by: { $0.id < $1.id })
    where client.vaultGeneration > 0 {
      let restricted = client.vaultRestrictedTo
      guard restricted.isEmpty || restricted.contains(removed.person) else { continue }
      let previous = state.keys.caseKeys.values.filter { $0.caseID == client.id }
      let record = try caseKeyRecord(
        client.id, generation: client.vaultGeneration + 1, key: AEAD.Key(using: &random),
        restrictedTo: restricted, previous: Array(previous), state: rotated, now: now,
        excluding: target, vault: true, using: &random)
      entries.append(try seal(record, caseKey: nil, state: rotated, dag: &dag, using: &random))
    }
    return entries
  }

  /// A client: pseudonymous alias and code, optional age band, languages and pronouns.
  public mutating func createClient(
    alias: String, code: String, ageBand: String? = nil, languages: [String] = [],
    pronouns: String? = nil, state: JournalState, dag: inout DAG, now: UInt64,
    using random: inout some RandomSource
  ) throws(ModelError) -> (id: ClientID, entry: Entry) {
    let id = ClientID(using: &random)
    var record = record(.clientCreated, now: now)
    record[id: .client] = id
    record[string: .alias] = alias
    record[string: .code] = code
    record[string: .ageBand] = ageBand
    record[strings: .languages] = languages
    record[string: .pronouns] = pronouns
    return (id, try seal(record, caseKey: nil, state: state, dag: &dag, using: &random))
  }
}

extension JournalWriter {
  /// Sets a field of a client's identity vault (legal name, ID number, address). The first
  /// write makes the vault's own key, open to members or sealed to `restrictedTo` people and
  /// the recovery key.
  public mutating func setIdentity(
    _ field: String, to value: String, of client: ClientID, restrictedTo: [PersonID] = [],
    state: JournalState, dag: inout DAG, now: UInt64, using random: inout some RandomSource
  ) throws(ModelError) -> [Entry] {
    guard state.clients[client]?.created != nil else {
      throw ModelError(.unknownCase, "no such client")
    }
    var entries = [Entry]()
    var vaultKey = state.keys.currentKey(of: client)
    if let key = vaultKey, key.generation < state.clients[client]?.vaultGeneration ?? 0 {
      throw ModelError(.noAccess, "this device can no longer open the client's identity vault")
    }
    if vaultKey == nil {
      guard state.clients[client]?.vaultGeneration == 0 else {
        throw ModelError(.noAccess, "this device cannot open the client's identity vault")
      }
      let key = AEAD.Key(using: &random)
      let record = try caseKeyRecord(
        client, generation: 1, key: key, restrictedTo: restrictedTo, previous: [],
        state: state, now: now, vault: true, using: &random)
      let wrap = try seal(record, caseKey: nil, state: state, dag: &dag, using: &random)
      entries.append(wrap)
      vaultKey = KeyRing.CaseKey(
        caseID: client, generation: 1, wrapID: wrap.id, key: key, isVault: true)
    }
    var record = record(.identityField, now: now)
    record[string: .field] = field
    record[string: .value] = value
    record[digests: .replaces] = state.clients[client]?.identity[field]?.values.keys.sorted() ?? []
    entries.append(try seal(record, caseKey: vaultKey, state: state, dag: &dag, using: &random))
    return entries
  }
}

extension JournalWriter {
  /// After a new epoch: takes it into `state`'s keys and seals every candidate of the old
  /// epoch under it (epoch links), so continuing members and later joiners read history.
  mutating func linkEpoch(
    from old: UInt32, to newKey: AEAD.Key, introducedBy control: EntryID,
    state: inout JournalState, dag: inout DAG, now: UInt64, using random: inout some RandomSource
  ) throws(ModelError) -> [Entry] {
    let candidates = state.keys.epochs[old] ?? []
    state.keys.add(epoch: old + 1, candidate: control, key: newKey)
    state.newestEpoch = max(state.newestEpoch, old + 1)
    var entries = [Entry]()
    for candidate in candidates {
      var link = record(.epochLink, now: now)
      link[number: .epoch] = UInt64(old + 1)
      link[number: .previousEpoch] = UInt64(old)
      link[digest: .candidate] = candidate.candidate
      let nonce = random.bytes(AEAD.nonceCount)
      link.fields[.wrapped] =
        nonce
        + AEAD.seal(
          secret: candidate.key.secret, key: newKey, nonce: nonce,
          associatedData: WrapContext.epochLink(
            epoch: old + 1, previous: old, candidate: candidate.candidate))
      entries.append(try seal(link, caseKey: nil, state: state, dag: &dag, using: &random))
    }
    return entries
  }

  /// Devices that cannot derive the newest epoch key (added while another admin removed a
  /// device, so they only received the older key). An admin's `shareNewestKey` fixes that.
  public func devicesMissingNewestKey(in state: JournalState) -> [Signing.PublicKey] {
    state.membership.activeDevices.filter { !state.newestEpochRecipients.contains($0.box) }
      .map(\.key)
  }

  /// Starts a new epoch sealed to every active device and the recovery key when some active
  /// device lacks the newest one. Returns nothing when no device is missing it.
  public mutating func shareNewestKey(
    state: JournalState, dag: inout DAG, now: UInt64, using random: inout some RandomSource
  ) throws(ModelError) -> [Entry] {
    guard state.membership.devices[device.publicKey]?.role == .admin else {
      throw ModelError(.notAdmin, "only an admin device can share keys")
    }
    guard !devicesMissingNewestKey(in: state).isEmpty else { return [] }
    guard let old = state.keys.currentEpoch else {
      throw ModelError(.notMember, "this device holds no epoch key")
    }
    let newKey = AEAD.Key(using: &random)
    let boxes = Set(state.membership.activeDevices.map(\.box) + [state.membership.recoveryBox])
    let rotation = Control.EpochRotated(
      time: clock.tick(wallClock: now), epoch: UInt64(old.epoch) + 1,
      wraps: boxes.sorted().map { KeyWrap(recipient: $0, sealed: Box.seal(newKey.secret, to: $0)) })
    var entries = [try control(.epochRotated(rotation), state: state, dag: &dag)]
    var rotated = state
    entries += try linkEpoch(
      from: old.epoch, to: newKey, introducedBy: entries[0].id, state: &rotated, dag: &dag,
      now: now, using: &random)
    return entries
  }
}
