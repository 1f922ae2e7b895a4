import AnkerCrypto
import AnkerLog
import Testing

@testable import AnkerModel

@Suite struct CaseJournalTests {
  @Test func aWorkerWritesACaseAndItsNotes() throws {
    var (admin, _, random) = Replica.founder(seed: 1)
    var worker = try Replica.join(&admin, role: .worker, random: &random)
    let (clientID, _) = try worker.writer.createClient(
      alias: "Blue", code: "B-17", ageBand: "30-39", languages: ["sv", "en"], pronouns: "she",
      state: worker.state, dag: &worker.dag, now: worker.tick(), using: &random)
    let (caseID, _) = try worker.writer.createCase(
      type: .outreach, client: clientID, state: worker.state, dag: &worker.dag,
      now: worker.tick(), using: &random)
    let note = try worker.writer.addNote(
      .outreachContact, text: "met at the usual place", eventTime: 1_700_000_000_000,
      in: caseID, state: worker.state, dag: &worker.dag, now: worker.tick(), using: &random)
    _ = try worker.writer.amend(
      note: note.id, text: "also gave a phone number", in: caseID, state: worker.state,
      dag: &worker.dag, now: worker.tick(), using: &random)
    _ = try worker.writer.amend(
      note: note.id, strike: "wrong person", in: caseID, state: worker.state, dag: &worker.dag,
      now: worker.tick(), using: &random)
    _ = try worker.writer.updateSet(
      "tags", element: "housing", add: true, in: caseID, state: worker.state, dag: &worker.dag,
      now: worker.tick(), using: &random)
    admin.pull(from: worker)
    for replica in [admin, worker] {
      let state = replica.state
      let record = try #require(state.cases[caseID])
      #expect(record.readable)
      #expect(record.type == .outreach)
      #expect(record.client == clientID)
      #expect(record.createdBy == worker.person)
      let stored = try #require(record.notes[note.id])
      #expect(stored.text == "met at the usual place")
      #expect(stored.amendments.map(\.text) == ["also gave a phone number"])
      #expect(stored.isStruck && stored.strikes.first?.reason == "wrong person")
      #expect(record.sets["tags"]?.elements == ["housing"])
      #expect(state.clients[clientID]?.alias == "Blue")
      #expect(state.clients[clientID]?.languages == ["sv", "en"])
      #expect(state.unreadable.isEmpty)
      #expect(state.faults.isEmpty)
    }
    #expect(admin.state.digest == worker.state.digest)
  }

  @Test func concurrentFieldWritesStayVisible() throws {
    var (admin, _, random) = Replica.founder(seed: 2)
    var worker = try Replica.join(&admin, role: .worker, random: &random)
    let (caseID, _) = try admin.writer.createCase(
      type: .dropIn, state: admin.state, dag: &admin.dag, now: admin.tick(), using: &random)
    worker.pull(from: admin)
    _ = try admin.writer.setField(
      CaseField.workerInCharge, to: "Ana", in: caseID, state: admin.state, dag: &admin.dag,
      now: admin.tick(), using: &random)
    _ = try worker.writer.setField(
      CaseField.workerInCharge, to: "Bea", in: caseID, state: worker.state, dag: &worker.dag,
      now: worker.tick() + 5, using: &random)
    admin.pull(from: worker)
    worker.pull(from: admin)
    let register = try #require(admin.state.cases[caseID]?.fields[CaseField.workerInCharge])
    #expect(register.isConflict)
    #expect(Set(register.values.values.map(\.value)) == ["Ana", "Bea"])
    #expect(admin.state.digest == worker.state.digest)
    _ = try admin.writer.setField(
      CaseField.workerInCharge, to: "Cai", in: caseID, state: admin.state, dag: &admin.dag,
      now: admin.tick(), using: &random)
    #expect(admin.state.cases[caseID]?.fields[CaseField.workerInCharge]?.values.count == 1)
  }

  @Test func aSafetyConflictStaysOpenAndShowsTheProtectiveValue() throws {
    var (admin, _, random) = Replica.founder(seed: 3)
    var worker = try Replica.join(&admin, role: .worker, random: &random)
    let (caseID, _) = try admin.writer.createCase(
      type: .crisisPlace, state: admin.state, dag: &admin.dag, now: admin.tick(), using: &random)
    worker.pull(from: admin)
    _ = try admin.writer.setField(
      CaseField.riskLevel, to: "high", in: caseID, state: admin.state, dag: &admin.dag,
      now: admin.tick(), using: &random)
    _ = try worker.writer.setField(
      CaseField.riskLevel, to: "low", in: caseID, state: worker.state, dag: &worker.dag,
      now: worker.tick() + 60_000, using: &random)
    admin.pull(from: worker)
    var state = admin.state
    let register = try #require(state.cases[caseID]?.fields[CaseField.riskLevel])
    #expect(register.isConflict)
    #expect(register.shown?.value == "low")  // the newest by clock …
    #expect(state.protectiveValue(CaseField.riskLevel, in: caseID) == "high")  // … is not applied
    // An ordinary write that saw the conflict joins it instead of ending it.
    _ = try admin.writer.setField(
      CaseField.riskLevel, to: "medium", in: caseID, state: state, dag: &admin.dag,
      now: admin.tick(), using: &random)
    state = admin.state
    #expect(state.cases[caseID]?.fields[CaseField.riskLevel]?.values.count == 3)
    #expect(state.openConflicts.contains { $0.caseID == caseID && $0.field == CaseField.riskLevel })
    _ = try admin.writer.resolve(
      CaseField.riskLevel, to: "high", in: caseID, state: state, dag: &admin.dag,
      now: admin.tick(), using: &random)
    state = admin.state
    #expect(state.cases[caseID]?.fields[CaseField.riskLevel]?.isConflict == false)
    #expect(state.openConflicts.isEmpty)
  }

  @Test func lateNotesOnAClosedCaseAreFlagged() throws {
    var (admin, _, random) = Replica.founder(seed: 4)
    let (caseID, _) = try admin.writer.createCase(
      type: .phoneLine, state: admin.state, dag: &admin.dag, now: admin.tick(), using: &random)
    _ = try admin.writer.setField(
      CaseField.status, to: CaseField.closed, in: caseID, state: admin.state, dag: &admin.dag,
      now: admin.tick(), using: &random)
    let late = try admin.writer.addNote(
      .phoneCall, text: "called back", eventTime: admin.now, in: caseID, state: admin.state,
      dag: &admin.dag, now: admin.tick(), using: &random)
    let state = admin.state
    #expect(state.cases[caseID]?.isClosed == true)
    #expect(state.cases[caseID]?.notes[late.id]?.late == true)
  }
}

@Suite struct ClockFaultTests {
  @Test func aFarFutureClockIsKeptAndFlagged() throws {
    var (admin, _, random) = Replica.founder(seed: 5)
    let (caseID, _) = try admin.writer.createCase(
      type: .outreach, state: admin.state, dag: &admin.dag, now: admin.tick(), using: &random)
    let tomorrow = admin.now + 86_400_000
    let note = try admin.writer.addNote(
      .other, text: "clock is wrong", eventTime: tomorrow, in: caseID, state: admin.state,
      dag: &admin.dag, now: tomorrow, using: &random)
    let state = admin.state
    #expect(state.cases[caseID]?.notes[note.id] != nil)
    #expect(state.faults.contains(.farFutureClock(note.id)))
  }
}
