import AnkerCrypto
import AnkerLog
import Testing

@testable import AnkerModel

@Suite struct KeyTests {
  @Test func aRemovedDeviceReadsNothingWrittenAfterItsRemoval() throws {
    var (admin, _, random) = Replica.founder(seed: 10)
    var leaver = try Replica.join(&admin, role: .worker, random: &random)
    let (caseID, _) = try admin.writer.createCase(
      type: .outreach, state: admin.state, dag: &admin.dag, now: admin.tick(), using: &random)
    let before = try admin.writer.addNote(
      .supportTalk, text: "before", eventTime: admin.now, in: caseID, state: admin.state,
      dag: &admin.dag, now: admin.tick(), using: &random)
    leaver.pull(from: admin)
    #expect(leaver.state.cases[caseID]?.notes[before.id]?.text == "before")
    let rotation = try admin.writer.removeDevice(
      leaver.key.publicKey, state: admin.state, dag: &admin.dag, now: admin.tick(), using: &random)
    #expect(rotation.count >= 3)  // removal, epoch link, the case's new generation
    let after = try admin.writer.addNote(
      .supportTalk, text: "after", eventTime: admin.now, in: caseID, state: admin.state,
      dag: &admin.dag, now: admin.tick(), using: &random)
    #expect(admin.state.cases[caseID]?.generation == 2)
    // The old laptop syncs everything, but opens nothing new.
    leaver.pull(from: admin)
    let leaverState = leaver.state
    #expect(leaverState.cases[caseID]?.notes[before.id] != nil)
    #expect(leaverState.cases[caseID]?.notes[after.id] == nil)
    #expect(leaverState.unreadable.contains(after.id))
    #expect(leaverState.membership.devices[leaver.key.publicKey]?.isRemoved == true)
    // Its own later writes are refused everywhere.
    #expect(throws: ModelError.self) {
      _ = try leaver.writer.addNote(
        .other, text: "still here", eventTime: leaver.now, in: caseID, state: leaverState,
        dag: &leaver.dag, now: leaver.tick(), using: &random)
    }
  }

  @Test func aLaterJoinerReadsHistoryThroughTheLinks() throws {
    var (admin, _, random) = Replica.founder(seed: 11)
    let leaver = try Replica.join(&admin, role: .worker, random: &random)
    let (caseID, _) = try admin.writer.createCase(
      type: .outreach, state: admin.state, dag: &admin.dag, now: admin.tick(), using: &random)
    let old = try admin.writer.addNote(
      .supportTalk, text: "old", eventTime: admin.now, in: caseID, state: admin.state,
      dag: &admin.dag, now: admin.tick(), using: &random)
    _ = try admin.writer.removeDevice(
      leaver.key.publicKey, state: admin.state, dag: &admin.dag, now: admin.tick(), using: &random)
    let newcomer = try Replica.join(&admin, role: .worker, random: &random)
    let state = newcomer.state
    #expect(state.cases[caseID]?.notes[old.id]?.text == "old")
    #expect(state.unreadable.isEmpty)
    #expect(state.digest == admin.state.digest)
  }

  @Test func restrictedCasesAreReadOnlyByTheListedPeopleAndTheRecoveryKey() throws {
    var (admin, recovery, random) = Replica.founder(seed: 12)
    var listed = try Replica.join(&admin, role: .worker, random: &random)
    var other = try Replica.join(&admin, role: .worker, random: &random)
    let (caseID, _) = try listed.writer.createCase(
      type: .crisisPlace, restrictedTo: [listed.person], state: listed.state, dag: &listed.dag,
      now: listed.tick(), using: &random)
    let secret = try listed.writer.addNote(
      .stayEvent, text: "need to know", eventTime: listed.now, in: caseID, state: listed.state,
      dag: &listed.dag, now: listed.tick(), using: &random)
    other.pull(from: listed)
    admin.pull(from: listed)
    #expect(listed.state.cases[caseID]?.notes[secret.id]?.text == "need to know")
    for outsider in [other, admin] {
      let state = outsider.state
      #expect(state.cases[caseID]?.readable == false)
      #expect(state.cases[caseID]?.restrictedTo == [listed.person])
      #expect(state.cases[caseID]?.notes.isEmpty == true)
      #expect(state.unreadable.contains(secret.id))
    }
    let restored = JournalState(dag: admin.dag, readers: [recovery.boxKey], now: admin.now)
    #expect(restored.cases[caseID]?.notes[secret.id]?.text == "need to know")
  }

  @Test func restrictingAnOpenCaseStartsAGenerationOthersCannotRead() throws {
    var (admin, _, random) = Replica.founder(seed: 13)
    var worker = try Replica.join(&admin, role: .worker, random: &random)
    let (caseID, _) = try admin.writer.createCase(
      type: .temporaryHousing, state: admin.state, dag: &admin.dag, now: admin.tick(),
      using: &random)
    let open = try admin.writer.addNote(
      .stayEvent, text: "open", eventTime: admin.now, in: caseID, state: admin.state,
      dag: &admin.dag, now: admin.tick(), using: &random)
    _ = try admin.writer.restrict(
      caseID, to: [admin.person], state: admin.state, dag: &admin.dag, now: admin.tick(),
      using: &random)
    let closed = try admin.writer.addNote(
      .stayEvent, text: "restricted", eventTime: admin.now, in: caseID, state: admin.state,
      dag: &admin.dag, now: admin.tick(), using: &random)
    worker.pull(from: admin)
    let state = worker.state
    #expect(state.cases[caseID]?.notes[open.id]?.text == "open")
    #expect(state.cases[caseID]?.notes[closed.id] == nil)
    #expect(admin.state.cases[caseID]?.notes[closed.id]?.text == "restricted")
  }

  @Test func aShreddedCaseIsGoneForEveryoneIncludingTheRecoveryKey() throws {
    var (admin, recovery, random) = Replica.founder(seed: 14)
    var worker = try Replica.join(&admin, role: .worker, random: &random)
    let (doomed, _) = try admin.writer.createCase(
      type: .outreach, state: admin.state, dag: &admin.dag, now: admin.tick(), using: &random)
    let (kept, _) = try admin.writer.createCase(
      type: .outreach, state: admin.state, dag: &admin.dag, now: admin.tick(), using: &random)
    let gone = try admin.writer.addNote(
      .supportTalk, text: "to be erased", eventTime: admin.now, in: doomed, state: admin.state,
      dag: &admin.dag, now: admin.tick(), using: &random)
    let stays = try admin.writer.addNote(
      .supportTalk, text: "stays", eventTime: admin.now, in: kept, state: admin.state,
      dag: &admin.dag, now: admin.tick(), using: &random)
    worker.pull(from: admin)
    #expect(worker.state.cases[doomed]?.notes[gone.id] != nil)
    let shred = try admin.writer.shred(
      doomed, state: admin.state, dag: &admin.dag, now: admin.tick(), using: &random)
    #expect(shred.count == 2)  // the tombstone and one erasure
    worker.pull(from: admin)
    let recovered = JournalState(dag: admin.dag, readers: [recovery.boxKey], now: admin.now)
    for state in [admin.state, worker.state, recovered] {
      #expect(state.cases[doomed] == nil)
      #expect(state.shreddedCases == [doomed])
      #expect(state.keys.caseKeys.values.allSatisfy { $0.caseID != doomed })
      #expect(state.erased.contains(gone.id))
      #expect(state.cases[kept]?.notes[stays.id]?.text == "stays")
      #expect(!state.faults.contains(.missingBody(gone.id)))
    }
    // The log itself still verifies and the erased entries keep their place.
    #expect(admin.dag.contains(gone.id))
    #expect(ChainVerification.verify(admin.dag.causalOrder.map { $0.detachingBody() }).isComplete)
    #expect(admin.state.digest == worker.state.digest)
  }

  @Test func aRemovedDevicesOfflineWritesAreIgnoredEverywhere() throws {
    var (admin, _, random) = Replica.founder(seed: 15)
    var leaver = try Replica.join(&admin, role: .worker, random: &random)
    var colleague = try Replica.join(&admin, role: .worker, random: &random)
    let (caseID, _) = try admin.writer.createCase(
      type: .outreach, state: admin.state, dag: &admin.dag, now: admin.tick(), using: &random)
    leaver.pull(from: admin)
    colleague.pull(from: admin)
    _ = try admin.writer.removeDevice(
      leaver.key.publicKey, state: admin.state, dag: &admin.dag, now: admin.tick(), using: &random)
    // Not yet knowing, the old laptop writes offline.
    let offline = try leaver.writer.addNote(
      .outreachContact, text: "written after removal", eventTime: leaver.now, in: caseID,
      state: leaver.state, dag: &leaver.dag, now: leaver.tick(), using: &random)
    var replicas = [admin, leaver, colleague]
    sync(&replicas)
    for replica in replicas {
      let state = replica.state
      #expect(state.membership.status(of: offline.id) == .invalid(.removedDevice))
      #expect(state.cases[caseID]?.notes[offline.id] == nil)
    }
    #expect(replicas[0].state.digest == replicas[2].state.digest)
  }

  @Test func entriesConcurrentWithAShredDoNotBringTheCaseBack() throws {
    var (admin, _, random) = Replica.founder(seed: 16)
    var second = try Replica.join(&admin, role: .admin, random: &random)
    let leaver = try Replica.join(&admin, role: .worker, random: &random)
    let (caseID, _) = try admin.writer.createCase(
      type: .outreach, state: admin.state, dag: &admin.dag, now: admin.tick(), using: &random)
    second.pull(from: admin)
    // Concurrently: one admin shreds, the other removes a device (a new generation of the
    // case key, linking back) and writes a late note.
    _ = try admin.writer.shred(
      caseID, state: admin.state, dag: &admin.dag, now: admin.tick(), using: &random)
    _ = try second.writer.removeDevice(
      leaver.key.publicKey, state: second.state, dag: &second.dag, now: second.tick(),
      using: &random)
    let late = try second.writer.addNote(
      .other, text: "late", eventTime: second.now, in: caseID, state: second.state,
      dag: &second.dag, now: second.tick(), using: &random)
    var replicas = [admin, second]
    sync(&replicas)
    for replica in replicas {
      let state = replica.state
      #expect(state.cases[caseID] == nil)
      #expect(state.shreddedCases == [caseID])
      #expect(state.erased.contains(late.id))
      #expect(state.keys.caseKeys.values.allSatisfy { $0.caseID != caseID })
      #expect(state.shredLeftovers.contains(late.id))
    }
    #expect(replicas[0].state.digest == replicas[1].state.digest)
    // An admin erases what the shred did not reach.
    var finisher = replicas[0]
    let erasures = try finisher.writer.completeShreds(
      state: finisher.state, dag: &finisher.dag, now: finisher.tick())
    #expect(erasures.count == 1)
    #expect(finisher.state.shredLeftovers.isEmpty)
    #expect(
      try finisher.writer.completeShreds(
        state: finisher.state, dag: &finisher.dag, now: finisher.tick()
      ).isEmpty)
  }

  @Test func aMemberLeftOutOfARestrictionCannotKeepWritingOpenly() throws {
    var (admin, _, random) = Replica.founder(seed: 17)
    var worker = try Replica.join(&admin, role: .worker, random: &random)
    let (caseID, _) = try admin.writer.createCase(
      type: .outreach, state: admin.state, dag: &admin.dag, now: admin.tick(), using: &random)
    _ = try admin.writer.restrict(
      caseID, to: [admin.person], state: admin.state, dag: &admin.dag, now: admin.tick(),
      using: &random)
    worker.pull(from: admin)
    let state = worker.state
    #expect(state.cases[caseID]?.readable == false)
    #expect(throws: ModelError.self) {
      _ = try worker.writer.addNote(
        .other, text: "would leak", eventTime: worker.now, in: caseID, state: state,
        dag: &worker.dag, now: worker.tick(), using: &random)
    }
  }

  @Test func concurrentRemovalsCombineSoNeitherRemovedDeviceReadsOn() throws {
    var (first, _, random) = Replica.founder(seed: 18)
    var second = try Replica.join(&first, role: .admin, random: &random)
    var x = try Replica.join(&first, role: .worker, random: &random)
    var y = try Replica.join(&first, role: .worker, random: &random)
    var stayer = try Replica.join(&first, role: .worker, random: &random)
    let (caseID, _) = try first.writer.createCase(
      type: .outreach, state: first.state, dag: &first.dag, now: first.tick(), using: &random)
    for index in [1, 2, 3, 4] {
      var replicas = [first, second, x, y, stayer]
      replicas[index].pull(from: first)
      (second, x, y, stayer) = (replicas[1], replicas[2], replicas[3], replicas[4])
    }
    // Each admin removes a different worker, neither seeing the other's removal: each new
    // epoch key (and case key generation) is sealed to the device the other one removed.
    _ = try first.writer.removeDevice(
      x.key.publicKey, state: first.state, dag: &first.dag, now: first.tick(), using: &random)
    _ = try second.writer.removeDevice(
      y.key.publicKey, state: second.state, dag: &second.dag, now: second.tick(), using: &random)
    var replicas = [first, second, x, y, stayer]
    sync(&replicas)
    (first, second, x, y, stayer) = (
      replicas[0], replicas[1], replicas[2], replicas[3], replicas[4]
    )
    let note = try stayer.writer.addNote(
      .supportTalk, text: "after both removals", eventTime: stayer.now, in: caseID,
      state: stayer.state, dag: &stayer.dag, now: stayer.tick(), using: &random)
    replicas = [first, second, x, y, stayer]
    sync(&replicas)
    #expect(replicas[0].state.cases[caseID]?.notes[note.id]?.text == "after both removals")
    #expect(replicas[1].state.cases[caseID]?.notes[note.id] != nil)
    for removed in [replicas[2], replicas[3]] {
      let state = removed.state
      #expect(state.cases[caseID]?.notes[note.id] == nil)
      #expect(state.unreadable.contains(note.id))
    }
  }
}
