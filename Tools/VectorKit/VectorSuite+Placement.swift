import AnkerCrypto
import AnkerLog

extension VectorSuite {
  mutating func buildMoreValid() {
    // A case key distinct from the epoch key, named by a non-zero key reference.
    let draft = builder.draft(builder.admin.publicKey)
    let caseKey = AEAD.Key(using: &builder.random)
    let ref = Digest256(builder.random.bytes(32))!
    let text = Array("a note under a case key".utf8)
    let body = try! SealedBody.seal(
      text, position: draft.positionBytes, epoch: 1, epochKey: builder.epochKey, keyRef: ref,
      contentKey: caseKey, using: &builder.random)
    let entry = draft.sign(body: body, with: builder.admin)
    builder.record(entry)
    placed(entry)
    valid.append(
      Valid(
        name: "sealed-case-key", description: "content under a case key; the hint names it",
        context: pool.count - 1, entry: entry,
        sealed: Sealed(
          epochKey: builder.epochKey.secret.unsafeCopy(), keyRef: ref,
          contentKey: caseKey.secret.unsafeCopy(), plaintext: text)))
  }

  mutating func buildPlacementFailures() {
    let admin = builder.admin
    // DAG stage.
    let head = builder.last[admin.publicKey]!
    let lamportDraft = EntryDraft(
      journal: builder.journal, author: admin.publicKey, sequence: builder.dag[head]!.sequence + 1,
      prev: head, parents: [head], lamport: builder.dag[head]!.lamport + 2)
    fail(
      "lamport-mismatch", "Lamport is not 1 + the parents' largest",
      lamportDraft.sign(body: [], with: admin).encoded, stage: .dag, .lamportMismatch)
    let other = LogBuilder(seed: 7)
    fail(
      "wrong-journal", "an entry of another journal", other.genesis.encoded, stage: .dag,
      .wrongJournal)
    fail(
      "second-root", "a second entry without parents",
      EntryDraft.genesis(journal: builder.journal, author: admin.publicKey).sign(
        body: [], with: admin
      ).encoded, stage: .dag, .unexpectedRoot)
    let stranger = Signing.PrivateKey(using: &builder.random)
    let foreignPrev = EntryDraft(
      journal: builder.journal, author: stranger.publicKey,
      sequence: builder.dag[head]!.sequence + 1,
      prev: head, parents: [head], lamport: builder.dag[head]!.lamport + 1)
    fail(
      "prev-of-another-author", "prev names another author's entry",
      foreignPrev.sign(body: [], with: stranger).encoded, stage: .dag, .prevMismatch)
    // Membership stage.
    fail(
      "not-a-member", "a key never admitted writes a note",
      builder.draft(stranger.publicKey).sign(body: [], with: stranger).encoded, stage: .membership,
      .notMember)
    let worker = builder.addDevice(role: .worker)
    remember(worker.key)
    placed(worker.entry)
    let sneaky = Control.deviceAdded(
      Control.DeviceAdded(
        time: builder.nextTime(), device: stranger.publicKey, box: builder.adminBox.publicKey,
        person: PersonID(using: &builder.random), role: .admin, epoch: 1, wraps: []))
    fail(
      "worker-adds-device", "a worker tries to admit a device",
      builder.draft(worker.key.publicKey).sign(body: sneaky.encoded, with: worker.key).encoded,
      stage: .membership, .notAdmin)
    let erase = Control.erasure(Control.Erasure(time: builder.nextTime(), bodies: []))
    fail(
      "worker-erases", "a worker tries to erase bodies",
      builder.draft(worker.key.publicKey).sign(body: erase.encoded, with: worker.key).encoded,
      stage: .membership, .notAdmin)
    let unknownRemoval = Control.deviceRemoved(
      Control.DeviceRemoved(
        time: builder.nextTime(), device: stranger.publicKey, lastSequence: 0, lastID: nil,
        epoch: 3, wraps: []))
    fail(
      "remove-unknown-device", "a removal of a device never admitted",
      builder.draft(admin.publicKey).sign(body: unknownRemoval.encoded, with: admin).encoded,
      stage: .membership, .invalidControl)
    let secondGenesis = builder.genesis.control!
    fail(
      "genesis-not-first", "a genesis payload in a later entry",
      builder.draft(admin.publicKey).sign(body: secondGenesis.encoded, with: admin).encoded,
      stage: .membership, .invalidGenesis)
    let retired = builder.recovery.authorityKey
    let oldEnrolment = Control.recoveryEnrolment(
      Control.RecoveryEnrolment(
        time: builder.nextTime(), device: stranger.publicKey,
        box: builder.adminBox.publicKey, person: PersonID(using: &builder.random)))
    fail(
      "retired-authority-enrols", "the replaced paper key's authority enrols a device",
      builder.draft(retired.publicKey).sign(body: oldEnrolment.encoded, with: retired).encoded,
      stage: .membership, .notRecoveryAuthority)
    fail(
      "device-enrols", "an admin device writes a recovery enrolment",
      builder.draft(admin.publicKey).sign(body: oldEnrolment.encoded, with: admin).encoded,
      stage: .membership, .notRecoveryAuthority)
    let authority = self.authority
    fail(
      "authority-writes-note", "the recovery authority may only enrol",
      builder.draft(authority.publicKey).sign(body: [], with: authority).encoded,
      stage: .membership, .notRecoveryAuthority)
    // A removed device backdates an entry onto parents from before its removal.
    let view = builder.dag.heads
    placed(builder.remove(worker.key.publicKey, by: admin))
    let backdated = builder.draft(worker.key.publicKey, parents: view)
    fail(
      "removed-device-backdates", "written after removal, citing only older parents",
      backdated.sign(body: [], with: worker.key).encoded, stage: .membership, .removedDevice)
    // An enrolment an admin vetoed: the veto is valid, the enrolled device's entries are not.
    let vetoedDevice = Signing.PrivateKey(using: &builder.random)
    let enrolment = placed(
      builder.control(
        authority,
        .recoveryEnrolment(
          Control.RecoveryEnrolment(
            time: builder.nextTime(), device: vetoedDevice.publicKey,
            box: Box.PrivateKey(using: &builder.random).publicKey,
            person: PersonID(using: &builder.random)))))
    let probe = builder.draft(vetoedDevice.publicKey).sign(body: [], with: vetoedDevice)
    builder.record(probe)
    pool.append(probe)
    placed(
      builder.control(
        admin,
        .recoveryVeto(Control.RecoveryVeto(time: builder.nextTime(), enrolment: enrolment.id))),
      "recovery-veto", "an admin vetoes a recovery enrolment")
    fail(
      "vetoed-device-writes", "a device whose enrolment was vetoed",
      builder.draft(vetoedDevice.publicKey).sign(body: [], with: vetoedDevice).encoded,
      stage: .membership, .recoveryVetoed)
  }
}
