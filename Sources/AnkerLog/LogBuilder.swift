import AnkerCrypto

/// Builds journals entry by entry for tests, test vectors and benchmarks: keys from a seed,
/// control entries with real key wraps, and entries at chosen positions (so a test can
/// backdate one). Not part of the public API.
package struct LogBuilder {
  package private(set) var dag: DAG
  package var random: SeededRandom
  package let admin: Signing.PrivateKey
  package let adminBox: Box.PrivateKey
  package let recovery: RecoveryKey
  package let epochKey: AEAD.Key
  package private(set) var last: [Signing.PublicKey: EntryID] = [:]
  package var clock: UInt64

  package var journal: JournalID { dag.journal }

  /// A journal whose genesis is written by a fresh admin device.
  package init(
    seed: UInt64, recoveryDelaySeconds: UInt64 = 72 * 3600, clock: UInt64 = 1_700_000_000_000
  ) {
    var random = SeededRandom(seed: seed)
    admin = Signing.PrivateKey(using: &random)
    adminBox = Box.PrivateKey(using: &random)
    recovery = RecoveryKey(using: &random)
    epochKey = AEAD.Key(using: &random)
    let journal = Digest256(random.bytes(32))!
    let person = PersonID(using: &random)
    let genesis = Control.genesis(
      Control.Genesis(
        time: Timestamp(milliseconds: clock), person: person, box: adminBox.publicKey,
        recoveryBox: recovery.boxKey.publicKey,
        recoveryAuthority: recovery.authorityKey.publicKey,
        recoveryDelaySeconds: recoveryDelaySeconds,
        wraps: [
          KeyWrap(
            recipient: adminBox.publicKey,
            sealed: Box.seal(epochKey.secret, to: adminBox.publicKey, using: &random)),
          KeyWrap(
            recipient: recovery.boxKey.publicKey,
            sealed: Box.seal(epochKey.secret, to: recovery.boxKey.publicKey, using: &random)),
        ]))
    let entry = EntryDraft.genesis(journal: journal, author: admin.publicKey)
      .sign(body: genesis.encoded, with: admin)
    dag = try! DAG(genesis: entry)
    last[admin.publicKey] = entry.id
    self.random = random
    self.clock = clock
  }

  package var genesis: Entry { dag.genesis }

  package mutating func nextTime() -> Timestamp {
    clock += 1000
    return Timestamp(milliseconds: clock)
  }

  /// The draft of `key`'s next entry: after its own newest, citing `parents` if given (a
  /// deliberately stale position) or else the current heads.
  package func draft(_ key: Signing.PublicKey, parents: [EntryID]? = nil) -> EntryDraft {
    guard let parents else { return dag.draft(author: key, lastOwn: last[key]) }
    var cited = Set(parents)
    var sequence: UInt64 = 1
    if let own = last[key] {
      cited.insert(own)
      sequence = dag[own]!.sequence + 1
    }
    let lamport = 1 + cited.map { dag[$0]!.lamport }.max()!
    return EntryDraft(
      journal: journal, author: key, sequence: sequence, prev: last[key], parents: Array(cited),
      lamport: lamport)
  }

  /// Signs an entry with `body` at `key`'s next position and places it in the DAG.
  @discardableResult
  package mutating func append(_ key: Signing.PrivateKey, body: [UInt8], parents: [EntryID]? = nil)
    -> Entry
  {
    let entry = draft(key.publicKey, parents: parents).sign(body: body, with: key)
    record(entry)
    return entry
  }

  /// Places an entry made elsewhere (it must fit).
  package mutating func record(_ entry: Entry) {
    try! dag.insert(entry)
    last[entry.author] = entry.id
  }

  /// A sealed body for `draft` under the builder's epoch key.
  package mutating func sealedBody(_ text: [UInt8], for draft: EntryDraft) -> [UInt8] {
    try! SealedBody.seal(
      text, position: draft.positionBytes, epoch: 1, epochKey: epochKey, keyRef: .zero,
      contentKey: epochKey, using: &random)
  }

  /// A sealed content entry under the builder's epoch key.
  @discardableResult
  package mutating func note(_ key: Signing.PrivateKey, _ text: [UInt8], parents: [EntryID]? = nil)
    -> Entry
  {
    let draft = draft(key.publicKey, parents: parents)
    let entry = draft.sign(body: sealedBody(text, for: draft), with: key)
    record(entry)
    return entry
  }

  @discardableResult
  package mutating func control(
    _ key: Signing.PrivateKey, _ control: Control, parents: [EntryID]? = nil
  ) -> Entry {
    append(key, body: control.encoded, parents: parents)
  }

  package mutating func wrap(to box: Box.PublicKey) -> KeyWrap {
    KeyWrap(recipient: box, sealed: Box.seal(epochKey.secret, to: box, using: &random))
  }

  /// Admits a new device (signing key, box key) with `role`, written by `by`.
  @discardableResult
  package mutating func addDevice(
    role: Role, by adder: Signing.PrivateKey? = nil, person: PersonID? = nil
  ) -> (key: Signing.PrivateKey, box: Box.PrivateKey, entry: Entry) {
    let key = Signing.PrivateKey(using: &random)
    let box = Box.PrivateKey(using: &random)
    let person = person ?? PersonID(using: &random)
    let added = Control.deviceAdded(
      Control.DeviceAdded(
        time: nextTime(), device: key.publicKey, box: box.publicKey, person: person, role: role,
        epoch: 1, wraps: [wrap(to: box.publicKey)]))
    let entry = control(adder ?? admin, added)
    return (key, box, entry)
  }

  /// A removal of `device` by `remover`, naming the removed device's newest entry the
  /// remover has seen (`lastSeen`, defaulting to its newest in the DAG).
  @discardableResult
  package mutating func remove(
    _ device: Signing.PublicKey, by remover: Signing.PrivateKey, lastSeen: EntryID?? = .none,
    parents: [EntryID]? = nil
  ) -> Entry {
    let lastID: EntryID? = lastSeen ?? last[device]
    let removed = Control.deviceRemoved(
      Control.DeviceRemoved(
        time: nextTime(), device: device, lastSequence: lastID.map { dag[$0]!.sequence } ?? 0,
        lastID: lastID, epoch: 2, wraps: [wrap(to: adminBox.publicKey)]))
    return control(remover, removed, parents: parents)
  }
}
