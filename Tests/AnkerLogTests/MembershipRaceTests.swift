import AnkerCrypto
import Testing

@testable import AnkerLog

/// Races and attempts to rewrite history around removals and recovery.
@Suite struct MembershipRaceTests {
  let now: UInt64 = 1_800_000_000_000

  @Test func aRemovalMustNameTheNewestEntryItHasSeen() {
    var builder = LogBuilder(seed: 50)
    let worker = builder.addDevice(role: .worker)
    let early = builder.note(worker.key, [1])
    builder.note(worker.key, [2])
    // Naming an older entry than the remover has would void entries it had accepted.
    let rewrite = builder.remove(worker.key.publicKey, by: builder.admin, lastSeen: .some(early.id))
    let membership = Membership(dag: builder.dag, now: now)
    #expect(membership.status(of: rewrite.id) == .invalid(.invalidControl))
    #expect(!membership.devices[worker.key.publicKey]!.isRemoved)
  }

  @Test func aRemovalCannotVoidTheDevicesItsTargetAdmitted() {
    var builder = LogBuilder(seed: 51)
    let second = builder.addDevice(role: .admin)
    let admitted = builder.addDevice(role: .worker, by: second.key)
    let note = builder.note(admitted.key, [1])
    let erase = builder.remove(second.key.publicKey, by: builder.admin, lastSeen: .some(nil))
    let membership = Membership(dag: builder.dag, now: now)
    #expect(membership.status(of: erase.id) == .invalid(.invalidControl))
    #expect(membership.isValid(admitted.entry.id))
    #expect(membership.isValid(note.id))
  }

  @Test func aStolenAdminThatSawItsRemovalCannotRemoveItsRemover() {
    var builder = LogBuilder(seed: 52)
    let second = builder.addDevice(role: .admin)
    let first = builder.remove(builder.admin.publicKey, by: second.key)
    // The thief with the first admin's laptop syncs, sees the removal, and strikes back
    // naming an older entry of the second admin.
    let strike = builder.remove(
      second.key.publicKey, by: builder.admin, lastSeen: .some(second.entry.id))
    let membership = Membership(dag: builder.dag, now: now)
    #expect(membership.isValid(first.id))
    #expect(membership.status(of: strike.id) != .valid)
    #expect(!membership.devices[second.key.publicKey]!.isRemoved)
    #expect(membership.devices[builder.admin.publicKey]!.isRemoved)
  }

  @Test func aRemovalCycleRemovesEveryDeviceInIt() {
    var builder = LogBuilder(seed: 53)
    let b = builder.addDevice(role: .admin)
    let c = builder.addDevice(role: .admin)
    let bystander = builder.addDevice(role: .admin)
    let view = builder.dag.heads
    // b and c have written nothing yet; the admin's newest entry is the bystander's admission.
    let ab = builder.remove(b.key.publicKey, by: builder.admin, lastSeen: .some(nil), parents: view)
    let bc = builder.remove(c.key.publicKey, by: b.key, lastSeen: .some(nil), parents: view)
    let ca = builder.remove(
      builder.admin.publicKey, by: c.key, lastSeen: .some(bystander.entry.id), parents: view)
    let membership = Membership(dag: builder.dag, now: now)
    for removal in [ab, bc, ca] { #expect(membership.isValid(removal.id)) }
    #expect(membership.activeDevices.map(\.key) == [bystander.key.publicKey])
  }

  @Test func aRecoveryEnrolmentCannotBackdateItsLock() {
    var builder = LogBuilder(seed: 54, recoveryDelaySeconds: 3600)
    builder.note(builder.admin, [1])
    let rotation = builder.control(
      builder.admin,
      .epochRotated(Control.EpochRotated(time: builder.nextTime(), epoch: 2, wraps: [])))
    guard case .epochRotated(let rotated)? = rotation.control else { return }
    let device = Signing.PrivateKey(using: &builder.random)
    let enrolment = builder.control(
      builder.recovery.authorityKey,
      .recoveryEnrolment(
        Control.RecoveryEnrolment(
          time: Timestamp(milliseconds: 0), device: device.publicKey,
          box: Box.PrivateKey(using: &builder.random).publicKey,
          person: PersonID(using: &builder.random))))
    let note = builder.note(device, [2])
    let unlock = rotated.time.milliseconds + 3_600_000
    let during = Membership(dag: builder.dag, now: unlock - 1)
    #expect(during.enrolments[enrolment.id]?.effectiveAt == unlock)
    #expect(during.status(of: note.id) == .pending(untilMilliseconds: unlock))
  }

  @Test func theTimeLockIsAtLeastAnHour() {
    var builder = LogBuilder(seed: 55, recoveryDelaySeconds: 0)
    let device = Signing.PrivateKey(using: &builder.random)
    let written = builder.nextTime()
    builder.control(
      builder.recovery.authorityKey,
      .recoveryEnrolment(
        Control.RecoveryEnrolment(
          time: written, device: device.publicKey,
          box: Box.PrivateKey(using: &builder.random).publicKey,
          person: PersonID(using: &builder.random))))
    let note = builder.note(device, [2])
    let membership = Membership(dag: builder.dag, now: written.milliseconds + 60_000)
    #expect(
      membership.status(of: note.id)
        == .pending(untilMilliseconds: written.milliseconds + 3_600_000))
  }

  @Test func aVetoAfterTheLockHasNoEffect() {
    var builder = LogBuilder(seed: 56, recoveryDelaySeconds: 3600)
    let device = Signing.PrivateKey(using: &builder.random)
    let written = builder.nextTime()
    let enrolment = builder.control(
      builder.recovery.authorityKey,
      .recoveryEnrolment(
        Control.RecoveryEnrolment(
          time: written, device: device.publicKey,
          box: Box.PrivateKey(using: &builder.random).publicKey,
          person: PersonID(using: &builder.random))))
    let note = builder.note(device, [2])
    let late = Timestamp(milliseconds: written.milliseconds + 7_200_000)
    let veto = builder.control(
      builder.admin, .recoveryVeto(Control.RecoveryVeto(time: late, enrolment: enrolment.id)))
    let membership = Membership(dag: builder.dag, now: now)
    #expect(membership.isValid(veto.id))
    #expect(membership.enrolments[enrolment.id]?.vetoedBy == [])
    #expect(membership.isValid(note.id))
  }

  @Test func aRoleComesFromTheAdmissionInTheEntrysPast() {
    var builder = LogBuilder(seed: 57)
    let key = Signing.PrivateKey(using: &builder.random)
    let box = Box.PrivateKey(using: &builder.random)
    let person = PersonID(using: &builder.random)
    let asWorker = builder.control(
      builder.admin,
      .deviceAdded(
        Control.DeviceAdded(
          time: builder.nextTime(), device: key.publicKey, box: box.publicKey, person: person,
          role: .worker, epoch: 1, wraps: [])))
    let second = builder.addDevice(role: .admin)
    // Concurrently, the second admin admits the same key as an admin.
    let asAdmin = builder.control(
      second.key,
      .deviceAdded(
        Control.DeviceAdded(
          time: builder.nextTime(), device: key.publicKey, box: box.publicKey, person: person,
          role: .admin, epoch: 1, wraps: [])),
      parents: [second.entry.id])
    // A control entry citing only the worker admission is refused …
    let early = builder.control(
      key, .epochRotated(Control.EpochRotated(time: builder.nextTime(), epoch: 2, wraps: [])),
      parents: [asWorker.id])
    let membership = Membership(dag: builder.dag, now: now)
    #expect(membership.status(of: early.id) == .invalid(.notAdmin))
    #expect(membership.isValid(asAdmin.id))
  }
}
