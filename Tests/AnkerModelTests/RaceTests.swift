import AnkerCrypto
import AnkerLog
import Testing

@testable import AnkerModel

/// Writes that race a removal must not hand anything new to the removed device.
@Suite struct RaceTests {
  @Test func aCaseCreatedDuringARemovalIsRekeyedBeforeItsNextWrite() throws {
    var (admin, _, random) = Replica.founder(seed: 30)
    var worker = try Replica.join(&admin, role: .worker, random: &random)
    var removed = try Replica.join(&admin, role: .worker, random: &random)
    worker.pull(from: admin)
    removed.pull(from: admin)
    // The worker creates a case while the admin removes a device: the case key is wrapped
    // under the old epoch, which the removed device holds.
    let (caseID, _) = try worker.writer.createCase(
      type: .outreach, state: worker.state, dag: &worker.dag, now: worker.tick(), using: &random)
    _ = try admin.writer.removeDevice(
      removed.key.publicKey, state: admin.state, dag: &admin.dag, now: admin.tick(),
      using: &random)
    worker.pull(from: admin)
    let note = try worker.writer.addNote(
      .supportTalk, text: "after the removal", eventTime: worker.now, in: caseID,
      state: worker.state, dag: &worker.dag, now: worker.tick(), using: &random)
    #expect(worker.state.cases[caseID]?.generation == 2)
    var replicas = [admin, worker, removed]
    sync(&replicas)
    #expect(replicas[0].state.cases[caseID]?.notes[note.id]?.text == "after the removal")
    #expect(replicas[2].state.cases[caseID]?.notes[note.id] == nil)
    #expect(replicas[2].state.unreadable.contains(note.id))
  }

  @Test func aDeviceAddedDuringARemovalWaitsForTheNewKey() throws {
    var (first, _, random) = Replica.founder(seed: 31)
    var second = try Replica.join(&first, role: .admin, random: &random)
    var removed = try Replica.join(&first, role: .worker, random: &random)
    let (caseID, _) = try first.writer.createCase(
      type: .outreach, state: first.state, dag: &first.dag, now: first.tick(), using: &random)
    second.pull(from: first)
    removed.pull(from: first)
    // One admin removes a device while the other adds a new one.
    _ = try first.writer.removeDevice(
      removed.key.publicKey, state: first.state, dag: &first.dag, now: first.tick(),
      using: &random)
    #expect(second.writer.devicesMissingNewestKey(in: second.state).isEmpty)
    var newcomer = try Replica.join(&second, role: .worker, random: &random)
    // An ordinary admission needs no new epoch.
    #expect(second.writer.devicesMissingNewestKey(in: second.state).isEmpty)
    newcomer.pull(from: first)
    second.pull(from: first)
    #expect(newcomer.writer.devicesMissingNewestKey(in: newcomer.state) == [newcomer.key.publicKey])
    #expect(throws: ModelError.self) {
      _ = try newcomer.writer.addNote(
        .other, text: "too early", eventTime: newcomer.now, in: caseID, state: newcomer.state,
        dag: &newcomer.dag, now: newcomer.tick(), using: &random)
    }
    // An admin shares the newest key; then the newcomer writes, and the removed device
    // cannot read it.
    let shared = try second.writer.shareNewestKey(
      state: second.state, dag: &second.dag, now: second.tick(), using: &random)
    #expect(!shared.isEmpty)
    newcomer.pull(from: second)
    #expect(newcomer.writer.devicesMissingNewestKey(in: newcomer.state).isEmpty)
    let note = try newcomer.writer.addNote(
      .supportTalk, text: "now", eventTime: newcomer.now, in: caseID, state: newcomer.state,
      dag: &newcomer.dag, now: newcomer.tick(), using: &random)
    var replicas = [first, second, removed, newcomer]
    sync(&replicas)
    #expect(replicas[0].state.cases[caseID]?.notes[note.id]?.text == "now")
    #expect(replicas[2].state.cases[caseID]?.notes[note.id] == nil)
  }

  @Test func aForgedOpenGenerationOfARestrictedCaseIsIgnored() throws {
    var (admin, _, random) = Replica.founder(seed: 32)
    var worker = try Replica.join(&admin, role: .worker, random: &random)
    let (caseID, _) = try admin.writer.createCase(
      type: .crisisPlace, restrictedTo: [admin.person], state: admin.state, dag: &admin.dag,
      now: admin.tick(), using: &random)
    worker.pull(from: admin)
    // The unlisted worker forges an open generation 2 with a key of her choosing.
    let state = worker.state
    let forged = try worker.writer.caseKeyRecord(
      caseID, generation: 2, key: AEAD.Key(using: &random), restrictedTo: [], previous: [],
      state: state, now: worker.tick(), using: &random)
    _ = try worker.writer.seal(forged, caseKey: nil, state: state, dag: &worker.dag, using: &random)
    admin.pull(from: worker)
    let note = try admin.writer.addNote(
      .stayEvent, text: "still need to know", eventTime: admin.now, in: caseID,
      state: admin.state, dag: &admin.dag, now: admin.tick(), using: &random)
    worker.pull(from: admin)
    #expect(admin.state.cases[caseID]?.restrictedTo == [admin.person])
    #expect(worker.state.cases[caseID]?.notes[note.id] == nil)
  }

  @Test func aWorkerCannotShredOrLinkEpochs() throws {
    var (admin, _, random) = Replica.founder(seed: 33)
    var worker = try Replica.join(&admin, role: .worker, random: &random)
    let (caseID, _) = try admin.writer.createCase(
      type: .outreach, state: admin.state, dag: &admin.dag, now: admin.tick(), using: &random)
    worker.pull(from: admin)
    var tombstone = worker.writer.newRecord(.caseShredded, now: worker.tick())
    tombstone[id: .caseID] = caseID
    _ = try worker.writer.seal(
      tombstone, caseKey: nil, state: worker.state, dag: &worker.dag, using: &random)
    admin.pull(from: worker)
    #expect(admin.state.shreddedCases.isEmpty)
    #expect(admin.state.cases[caseID]?.readable == true)
  }
}

@Suite struct SafetyPlanAndLateTests {
  @Test func concurrentSafetyPlansStayAConflictUntilResolved() throws {
    var (admin, _, random) = Replica.founder(seed: 34)
    var worker = try Replica.join(&admin, role: .worker, random: &random)
    let (caseID, _) = try admin.writer.createCase(
      type: .crisisPlace, state: admin.state, dag: &admin.dag, now: admin.tick(), using: &random)
    worker.pull(from: admin)
    _ = try admin.writer.writeSafetyPlan(
      "avoid the bus station", in: caseID, state: admin.state, dag: &admin.dag,
      now: admin.tick(), using: &random)
    _ = try worker.writer.writeSafetyPlan(
      "keep the phone charged", in: caseID, state: worker.state, dag: &worker.dag,
      now: worker.tick(), using: &random)
    admin.pull(from: worker)
    var state = admin.state
    #expect(state.openConflicts.first?.field == CaseField.safetyPlan)
    let applied = try #require(state.protectiveValue(CaseField.safetyPlan, in: caseID))
    #expect(applied.contains("avoid the bus station") && applied.contains("keep the phone charged"))
    #expect(throws: ModelError.self) {
      _ = try admin.writer.writeSafetyPlan(
        "only one", in: caseID, state: state, dag: &admin.dag, now: admin.tick(), using: &random)
    }
    _ = try admin.writer.writeSafetyPlan(
      "avoid the bus station; keep the phone charged", in: caseID, resolving: true,
      state: state, dag: &admin.dag, now: admin.tick(), using: &random)
    state = admin.state
    #expect(state.openConflicts.isEmpty)
    #expect(state.cases[caseID]?.safetyPlans.count == 3)  // every version is kept
  }

  @Test func lateMeansItsWriterSawTheCaseClosed() throws {
    var (admin, _, random) = Replica.founder(seed: 35)
    var worker = try Replica.join(&admin, role: .worker, random: &random)
    let (caseID, _) = try admin.writer.createCase(
      type: .phoneLine, state: admin.state, dag: &admin.dag, now: admin.tick(), using: &random)
    worker.pull(from: admin)
    _ = try admin.writer.setField(
      CaseField.status, to: CaseField.closed, in: caseID, state: admin.state, dag: &admin.dag,
      now: admin.tick(), using: &random)
    // Written concurrently with the close: not late.
    let unaware = try worker.writer.addNote(
      .phoneCall, text: "call", eventTime: worker.now, in: caseID, state: worker.state,
      dag: &worker.dag, now: worker.tick(), using: &random)
    worker.pull(from: admin)
    let aware = try worker.writer.addNote(
      .phoneCall, text: "call again", eventTime: worker.now, in: caseID, state: worker.state,
      dag: &worker.dag, now: worker.tick(), using: &random)
    admin.pull(from: worker)
    let state = admin.state
    #expect(state.cases[caseID]?.notes[unaware.id]?.late == false)
    #expect(state.cases[caseID]?.notes[aware.id]?.late == true)
    #expect(state.cases[caseID]?.isClosed == true)
  }
}
