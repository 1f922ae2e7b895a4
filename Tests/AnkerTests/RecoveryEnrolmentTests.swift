import AnkerCrypto
import AnkerLog
import AnkerModel
import Foundation
import Testing

@testable import Anker

/// The writers of DESIGN rule 3: the paper key's authority enrols a new admin laptop, an admin
/// vetoes it while the time lock runs, and the enrolled laptop, once the lock has run out,
/// reads the journal with the paper key in memory to hand itself the keys. Failure messages
/// never print names or note text.
@Suite struct RecoveryEnrolmentTests {
  let hour: UInt64 = 3_600_000

  /// The paper key's enrolment of `request` into `journal`'s log, taken in as if synced.
  @discardableResult
  func enrol(
    _ request: DeviceRequest, into journal: Journal, recovery: RecoveryKey, clock: TestClock,
    person: PersonID? = nil
  ) throws -> (entry: Entry, dag: DAG) {
    var dag = try #require(journal.locked { journal.session?.dag })
    var random = SystemRandom()
    let entry = try JournalWriter.recoveryEnrolment(
      of: request.device, box: request.box, person: person ?? PersonID(using: &random),
      authority: recovery.authorityKey, membership: try journal.state.membership, dag: &dag,
      now: clock.now)
    #expect(try journal.importLog(framed([entry])) == 1)
    return (entry, dag)
  }

  func framed(_ entries: [Entry]) -> [UInt8] {
    var log = [UInt8]()
    for entry in entries {
      withUnsafeBytes(of: UInt32(entry.encoded.count).bigEndian) { log += $0 }
      log += entry.encoded
    }
    return log
  }

  func newRequest() -> DeviceRequest {
    var random = SystemRandom()
    return DeviceRequest(
      device: Signing.PrivateKey(using: &random).publicKey,
      box: Box.PrivateKey(using: &random).publicKey)
  }

  @Test func anAdminSeesAndVetoesAPendingEnrolment() throws {
    let root = TemporaryDirectory()
    defer { root.cleanUp() }
    let clock = TestClock()
    let (admin, recovery) = try Journal.create(
      at: root.path + "/admin", passphrase: passphrase("p"), name: "A", options: clock.options)
    let request = newRequest()
    let written = clock.now
    let (entry, _) = try enrol(request, into: admin, recovery: recovery, clock: clock)
    let pending = try #require(try admin.recoveryEnrolments().first)
    #expect(pending.id == entry.id && pending.standing == .pending)
    #expect(pending.vetoDeadline == written + 72 * hour)
    #expect(pending.effectiveAt == written + 72 * hour)
    let unnamedNewPerson = pending.device == request.device && pending.personName == nil
    #expect(unnamedNewPerson)
    clock.advance(71 * hour)
    try admin.vetoRecoveryEnrolment(entry.id)
    #expect(try admin.recoveryEnrolments().first?.standing == .vetoed)
    // Vetoing again is refused; after the lock the device is still out.
    #expect(throws: JournalError.self) { try admin.vetoRecoveryEnrolment(entry.id) }
    clock.advance(2 * hour)
    #expect(try admin.recoveryEnrolments().first?.standing == .vetoed)
    #expect(try admin.state.membership.devices[request.device] == nil)
  }

  @Test func aVetoAfterTheTimeLockIsRefused() throws {
    let root = TemporaryDirectory()
    defer { root.cleanUp() }
    let clock = TestClock()
    let (admin, recovery) = try Journal.create(
      at: root.path + "/admin", passphrase: passphrase("p"), name: "A", options: clock.options)
    let request = newRequest()
    let (entry, _) = try enrol(request, into: admin, recovery: recovery, clock: clock)
    clock.advance(72 * hour)
    do {
      try admin.vetoRecoveryEnrolment(entry.id)
      Issue.record("a veto after the time lock was written")
    } catch {
      #expect(error.modelCode == .vetoTooLate)
    }
    #expect(try admin.recoveryEnrolments().first?.standing == .admitted)
    #expect(try admin.state.membership.devices[request.device]?.role == .admin)
  }

  @Test func aWorkerCannotVeto() async throws {
    let root = TemporaryDirectory()
    defer { root.cleanUp() }
    let clock = TestClock()
    let (admin, recovery) = try Journal.create(
      at: root.path + "/admin", passphrase: passphrase("p"), name: "A", options: clock.options)
    let (worker, workerRequest) = try Journal.prepareDevice(
      at: root.path + "/worker", passphrase: passphrase("w"), options: clock.options)
    try admin.addDevice(workerRequest, role: .worker, name: "W")
    try worker.join(log: try admin.exportLog(), genesis: try admin.identity.genesis)
    let (entry, _) = try enrol(newRequest(), into: admin, recovery: recovery, clock: clock)
    try worker.importLog(try admin.exportLog())
    #expect(try worker.recoveryEnrolments().first?.standing == .pending)
    do {
      try worker.vetoRecoveryEnrolment(entry.id)
      Issue.record("a worker wrote a veto")
    } catch {
      #expect(error.modelCode == .notAdmin)
    }
  }

  @Test func onlyThePaperKeyInForceEnrolsAndItsChainNeverForks() throws {
    let root = TemporaryDirectory()
    defer { root.cleanUp() }
    let clock = TestClock()
    let (admin, recovery) = try Journal.create(
      at: root.path + "/admin", passphrase: passphrase("p"), name: "A", options: clock.options)
    var dag = try #require(admin.locked { admin.session?.dag })
    var random = SystemRandom()
    let request = newRequest()
    #expect(throws: ModelError.self) {
      _ = try JournalWriter.recoveryEnrolment(
        of: request.device, box: request.box, person: PersonID(using: &random),
        authority: RecoveryKey().authorityKey, membership: try admin.state.membership, dag: &dag,
        now: clock.now)
    }
    // The admin's own device cannot be enrolled.
    let me = try admin.device
    #expect(throws: ModelError.self) {
      _ = try JournalWriter.recoveryEnrolment(
        of: me.key, box: me.box, person: PersonID(using: &random),
        authority: recovery.authorityKey, membership: try admin.state.membership, dag: &dag,
        now: clock.now)
    }
    let (first, _) = try enrol(request, into: admin, recovery: recovery, clock: clock)
    #expect(throws: ModelError.self) {
      var again = try #require(admin.locked { admin.session?.dag })
      _ = try JournalWriter.recoveryEnrolment(
        of: request.device, box: request.box, person: PersonID(using: &random),
        authority: recovery.authorityKey, membership: try admin.state.membership, dag: &again,
        now: clock.now)
    }
    let (second, _) = try enrol(newRequest(), into: admin, recovery: recovery, clock: clock)
    #expect(second.sequence == 2 && second.prev == first.id)
    let state = try admin.state
    #expect(state.faults.isEmpty)
    #expect(state.membership.isValid(second.id))
    #expect(try admin.recoveryEnrolments().count == 2)
  }

  @Test func theEnrolledLaptopReadsEverythingOnceItFinishes() throws {
    let root = TemporaryDirectory()
    defer { root.cleanUp() }
    let clock = TestClock()
    let (admin, recovery) = try Journal.create(
      at: root.path + "/admin", passphrase: passphrase("p"), name: "A", options: clock.options)
    let text = "written before every laptop was lost"
    let caseID = try admin.createCase(type: .outreach)
    try admin.addNote(.outreachContact, text: text, in: caseID)
    // A removal, so the history spans two epochs.
    let (gone, goneRequest) = try Journal.prepareDevice(
      at: root.path + "/gone", passphrase: passphrase("g"), options: clock.options)
    _ = gone
    try admin.addDevice(goneRequest, role: .worker, name: "G")
    try admin.removeDevice(goneRequest.device)
    try admin.addNote(.phoneCall, text: text + " (second epoch)", in: caseID)

    let (laptop, request) = try Journal.prepareDevice(
      at: root.path + "/new", passphrase: passphrase("n"), options: clock.options)
    var random = SystemRandom()
    let person = PersonID(using: &random)
    let (_, dag) = try enrol(
      request, into: admin, recovery: recovery, clock: clock, person: person)
    try laptop.adoptRecoveryEnrolment(dag: dag, entries: dag.causalOrder)
    try laptop.keepRecoveryName("New coordinator", for: person)
    #expect(try laptop.ownRecoveryEnrolment?.standing == .pending)
    #expect(try laptop.cases().isEmpty)
    #expect(throws: JournalError.self) { try laptop.completeRecovery(reader: recovery.boxKey) }

    clock.advance(72 * hour + 1)
    let written = try laptop.completeRecovery(reader: recovery.boxKey)
    #expect(written.contains { if case .epochRotated? = $0.control { true } else { false } })
    #expect(try laptop.ownRecoveryEnrolment?.standing == .admitted)
    let notes = try laptop.openCase(caseID).notes.values.map(\.text)
    let readsBoth = notes.contains(text) && notes.contains(text + " (second epoch)")
    #expect(readsBoth, "the new admin does not read the notes written before")
    let named = try laptop.people().contains { $0.id == person && $0.name == "New coordinator" }
    #expect(named, "the new person was not named")
    // Again from the snapshot, with the laptop's own key only; it writes and revokes.
    laptop.lock()
    try laptop.unlock(passphrase: passphrase("n"))
    #expect(try laptop.openCase(caseID).notes.count == 2)
    try laptop.addNote(.other, text: "after the rebuild", in: caseID)
    try laptop.removeDevice(try admin.device.key)
    // Running it again writes nothing.
    #expect(try laptop.completeRecovery(reader: recovery.boxKey).isEmpty)
    // The old admin takes the new laptop's entries: it is an admin there too.
    try admin.importLog(try laptop.exportLog())
    #expect(try admin.state.membership.devices[request.device]?.role == .admin)
  }
}
