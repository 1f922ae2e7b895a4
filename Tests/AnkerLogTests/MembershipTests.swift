import AnkerCrypto
import Testing

@testable import AnkerLog

@Suite struct MembershipTests {
  let now: UInt64 = 1_800_000_000_000

  /// Evaluates the builder's entries after inserting them in several random orders, and
  /// checks every order gives the same statuses.
  func evaluate(_ builder: LogBuilder, now: UInt64? = nil) throws -> Membership {
    let reference = Membership(dag: builder.dag, now: now ?? self.now)
    var random = SeededRandom(seed: 99)
    for _ in 0..<5 {
      var entries = Array(builder.dag.causalOrder.dropFirst())
      shuffle(&entries, &random)
      var dag = try DAG(genesis: builder.genesis)
      for entry in entries { try dag.insert(entry) }
      let again = Membership(dag: dag, now: now ?? self.now)
      #expect(again.statuses == reference.statuses)
      #expect(again.devices == reference.devices)
    }
    return reference
  }

  @Test func membersWriteAndStrangersDoNot() throws {
    var builder = LogBuilder(seed: 30)
    let worker = builder.addDevice(role: .worker)
    let note = builder.note(worker.key, [1])
    let stranger = Signing.PrivateKey(using: &builder.random)
    let intrusion = builder.note(stranger, [2])
    let membership = try evaluate(builder)
    #expect(membership.isValid(builder.genesis.id))
    #expect(membership.isValid(worker.entry.id))
    #expect(membership.isValid(note.id))
    #expect(membership.status(of: intrusion.id) == .invalid(.notMember))
    #expect(membership.devices[worker.key.publicKey]?.role == .worker)
  }

  @Test func aDeviceCountsOnlyAfterItsAdmissionInTheDAG() throws {
    var builder = LogBuilder(seed: 31)
    let early = builder.note(builder.admin, [1])
    let worker = builder.addDevice(role: .worker)
    // The worker writes an entry citing only a point before its own admission.
    let before = builder.note(worker.key, [2], parents: [early.id])
    let membership = try evaluate(builder)
    #expect(membership.isValid(worker.entry.id))
    #expect(membership.status(of: before.id) == .invalid(.notMember))
  }

  @Test func workersCannotChangeMembership() throws {
    var builder = LogBuilder(seed: 32)
    let worker = builder.addDevice(role: .worker)
    let sneaky = builder.addDevice(role: .admin, by: worker.key)
    let membership = try evaluate(builder)
    #expect(membership.status(of: sneaky.entry.id) == .invalid(.notAdmin))
    #expect(membership.devices[sneaky.key.publicKey] == nil)
    #expect(membership.status(of: builder.note(sneaky.key, [1]).id) == nil)
  }

  @Test func aRemovedDeviceCannotBackdate() throws {
    var builder = LogBuilder(seed: 33)
    let worker = builder.addDevice(role: .worker)
    let kept = builder.note(worker.key, Array("before removal".utf8))
    let viewBeforeRemoval = builder.dag.heads
    let removal = builder.remove(worker.key.publicKey, by: builder.admin)
    // Later, the removed laptop writes citing only pre-removal parents.
    let backdated = builder.note(worker.key, Array("after".utf8), parents: viewBeforeRemoval)
    #expect(!builder.dag.isAncestor(removal.id, of: backdated.id))
    let membership = try evaluate(builder)
    #expect(membership.isValid(kept.id))
    #expect(membership.isValid(removal.id))
    #expect(membership.status(of: backdated.id) == .invalid(.removedDevice))
    #expect(membership.devices[worker.key.publicKey]?.removedBy == [removal.id])
  }

  @Test func aDeviceWritingWhileBeingRemovedLosesOnlyWhatTheRemoverDidNotSee() throws {
    var builder = LogBuilder(seed: 34)
    let worker = builder.addDevice(role: .worker)
    let seen = builder.note(worker.key, [1])
    let adminView = builder.dag.heads
    let concurrent = builder.note(worker.key, [2])  // the admin has not synced this yet
    let removal = builder.remove(
      worker.key.publicKey, by: builder.admin, lastSeen: .some(seen.id), parents: adminView)
    let membership = try evaluate(builder)
    #expect(membership.isValid(seen.id))
    #expect(membership.isValid(removal.id))
    #expect(membership.status(of: concurrent.id) == .invalid(.removedDevice))
  }

  @Test func aRemovedAdminsLaterActionsAreVoid() throws {
    var builder = LogBuilder(seed: 35)
    let second = builder.addDevice(role: .admin)
    let view = builder.dag.heads
    builder.remove(second.key.publicKey, by: builder.admin)
    // The removed admin, not having seen its removal, admits an accomplice.
    let accomplice = Signing.PrivateKey(using: &builder.random)
    let box = Box.PrivateKey(using: &builder.random)
    let add = builder.control(
      second.key,
      .deviceAdded(
        Control.DeviceAdded(
          time: builder.nextTime(), device: accomplice.publicKey, box: box.publicKey,
          person: PersonID(using: &builder.random), role: .admin, epoch: 1, wraps: [])),
      parents: view)
    let note = builder.note(accomplice, [9])
    let membership = try evaluate(builder)
    #expect(membership.status(of: add.id) == .invalid(.removedDevice))
    #expect(membership.status(of: note.id) == .invalid(.notMember))
  }

  @Test func mutualRemovalsRemoveBoth() throws {
    var builder = LogBuilder(seed: 36)
    let second = builder.addDevice(role: .admin)
    let third = builder.addDevice(role: .admin)
    let view = builder.dag.heads
    let first = builder.remove(second.key.publicKey, by: builder.admin, parents: view)
    // The second, not having seen that, removes the first: each removal is unseen by the
    // other, so both stand.
    let back = builder.remove(
      builder.admin.publicKey, by: second.key, lastSeen: .some(third.entry.id), parents: view)
    let membership = try evaluate(builder)
    #expect(membership.isValid(first.id))
    #expect(membership.isValid(back.id))
    #expect(membership.devices[builder.admin.publicKey]!.isRemoved)
    #expect(membership.devices[second.key.publicKey]!.isRemoved)
    #expect(!membership.devices[third.key.publicKey]!.isRemoved)
    #expect(membership.activeDevices.map(\.key) == [third.key.publicKey])
  }

  @Test func aRemovalByAnAlreadyRemovedAdminIsVoid() throws {
    var builder = LogBuilder(seed: 37)
    let second = builder.addDevice(role: .admin)
    let worker = builder.addDevice(role: .worker)
    let view = builder.dag.heads
    builder.remove(second.key.publicKey, by: builder.admin)
    // The removed admin, unaware, removes a worker: not a mutual pair, so it is void.
    let late = builder.remove(worker.key.publicKey, by: second.key, parents: view)
    let membership = try evaluate(builder)
    #expect(membership.status(of: late.id) == .invalid(.removedDevice))
    #expect(!membership.devices[worker.key.publicKey]!.isRemoved)
  }

  @Test func recoveryEnrolmentWaitsOutItsTimeLock() throws {
    var builder = LogBuilder(seed: 38, recoveryDelaySeconds: 3600)
    builder.note(builder.admin, [1])
    let authority = builder.recovery.authorityKey
    let device = Signing.PrivateKey(using: &builder.random)
    let written = builder.nextTime()
    let enrolment = builder.control(
      authority,
      .recoveryEnrolment(
        Control.RecoveryEnrolment(
          time: written, device: device.publicKey,
          box: Box.PrivateKey(using: &builder.random).publicKey,
          person: PersonID(using: &builder.random))))
    let note = builder.note(device, [2])
    let unlock = written.milliseconds + 3_600_000
    let during = try evaluate(builder, now: unlock - 1)
    #expect(during.isValid(enrolment.id))
    #expect(during.status(of: note.id) == .pending(untilMilliseconds: unlock))
    let after = try evaluate(builder, now: unlock)
    #expect(after.isValid(note.id))
    #expect(after.devices[device.publicKey]?.role == .admin)
    // Seen late on this device: the lock runs from when it was seen.
    let seenLate = Membership(dag: builder.dag, now: unlock, firstSeen: [enrolment.id: unlock - 10])
    #expect(seenLate.status(of: note.id) == .pending(untilMilliseconds: unlock - 10 + 3_600_000))
  }

  @Test func anAdminVetoVoidsTheEnrolment() throws {
    var builder = LogBuilder(seed: 39, recoveryDelaySeconds: 3600)
    let authority = builder.recovery.authorityKey
    let device = Signing.PrivateKey(using: &builder.random)
    let enrolment = builder.control(
      authority,
      .recoveryEnrolment(
        Control.RecoveryEnrolment(
          time: builder.nextTime(), device: device.publicKey,
          box: Box.PrivateKey(using: &builder.random).publicKey,
          person: PersonID(using: &builder.random))))
    let note = builder.note(device, [2])
    let veto = builder.control(
      builder.admin,
      .recoveryVeto(Control.RecoveryVeto(time: builder.nextTime(), enrolment: enrolment.id)))
    let membership = try evaluate(builder, now: now)
    #expect(membership.isValid(veto.id))
    #expect(membership.enrolments[enrolment.id]?.vetoedBy == [veto.id])
    #expect(membership.status(of: note.id) == .invalid(.recoveryVetoed))
    #expect(membership.devices[device.publicKey] == nil)
  }

  @Test func aVetoWrittenAfterTheDeadlineDoesNotCount() throws {
    var builder = LogBuilder(seed: 42, recoveryDelaySeconds: 3600)
    let device = Signing.PrivateKey(using: &builder.random)
    let written = builder.nextTime()
    let enrolment = builder.control(
      builder.recovery.authorityKey,
      .recoveryEnrolment(
        Control.RecoveryEnrolment(
          time: written, device: device.publicKey,
          box: Box.PrivateKey(using: &builder.random).publicKey,
          person: PersonID(using: &builder.random))))
    let deadline = written.milliseconds + 3_600_000
    // Written (by its own clock) the moment the lock ended: too late, whoever evaluates.
    let late = builder.control(
      builder.admin,
      .recoveryVeto(
        Control.RecoveryVeto(time: Timestamp(milliseconds: deadline), enrolment: enrolment.id)))
    let membership = try evaluate(builder, now: deadline + 1)
    #expect(membership.isValid(late.id))
    #expect(membership.enrolments[enrolment.id]?.vetoDeadline == deadline)
    #expect(membership.enrolments[enrolment.id]?.isVetoed == false)
    #expect(membership.devices[device.publicKey]?.role == .admin)
  }

  @Test func aWorkerCannotVeto() throws {
    var builder = LogBuilder(seed: 43, recoveryDelaySeconds: 3600)
    let worker = builder.addDevice(role: .worker)
    let device = Signing.PrivateKey(using: &builder.random)
    let written = builder.nextTime()
    let enrolment = builder.control(
      builder.recovery.authorityKey,
      .recoveryEnrolment(
        Control.RecoveryEnrolment(
          time: written, device: device.publicKey,
          box: Box.PrivateKey(using: &builder.random).publicKey,
          person: PersonID(using: &builder.random))))
    let veto = builder.control(
      worker.key,
      .recoveryVeto(Control.RecoveryVeto(time: builder.nextTime(), enrolment: enrolment.id)))
    let membership = try evaluate(builder, now: written.milliseconds + 3_600_000)
    #expect(membership.status(of: veto.id) == .invalid(.notAdmin))
    #expect(membership.enrolments[enrolment.id]?.isVetoed == false)
    #expect(membership.devices[device.publicKey]?.role == .admin)
  }

  @Test func theRecoveryAuthorityCanOnlyEnrol() throws {
    var builder = LogBuilder(seed: 40)
    let authority = builder.recovery.authorityKey
    let note = builder.note(authority, [1])
    let membership = try evaluate(builder)
    #expect(membership.status(of: note.id) == .invalid(.notRecoveryAuthority))
  }

  @Test func aReplacedPaperKeyCanNoLongerEnrol() throws {
    var builder = LogBuilder(seed: 41, recoveryDelaySeconds: 60)
    let oldAuthority = builder.recovery.authorityKey
    let view = builder.dag.heads
    let fresh = RecoveryKey(using: &builder.random)
    let replaced = builder.control(
      builder.admin,
      .recoveryReplaced(
        Control.RecoveryReplaced(
          time: builder.nextTime(), recoveryBox: fresh.boxKey.publicKey,
          recoveryAuthority: fresh.authorityKey.publicKey, epoch: 1,
          wraps: [builder.wrap(to: fresh.boxKey.publicKey)])))
    // A thief with the old paper key enrols a device, backdated before the replacement.
    let device = Signing.PrivateKey(using: &builder.random)
    let enrolment = builder.control(
      oldAuthority,
      .recoveryEnrolment(
        Control.RecoveryEnrolment(
          time: Timestamp(milliseconds: 0), device: device.publicKey,
          box: Box.PrivateKey(using: &builder.random).publicKey,
          person: PersonID(using: &builder.random))),
      parents: view)
    let membership = try evaluate(builder)
    #expect(membership.isValid(replaced.id))
    #expect(membership.status(of: enrolment.id) == .invalid(.notRecoveryAuthority))
    #expect(membership.recoveryAuthority == fresh.authorityKey.publicKey)
  }
}
