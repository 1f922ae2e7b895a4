import AnkerCrypto
import AnkerLog
import AnkerModel
import AnkerStore
import Foundation
import Testing

@testable import Anker

@Suite struct JournalTests {
  @Test func writesSurviveLockAndReopen() throws {
    let directory = TemporaryDirectory()
    defer { directory.cleanUp() }
    let path = directory.path + "/j"
    var digest: Digest256
    var noteID: EntryID
    var caseID: CaseID
    do {
      let (journal, recovery) = try Journal.create(
        at: path, passphrase: passphrase("correct horse"), name: "Worker One",
        options: testOptions)
      #expect(recovery.paperText.count > 60)
      let client = try journal.createClient(alias: "Blue", code: "B-7", languages: ["sv", "ar"])
      caseID = try journal.createCase(type: .outreach, client: client)
      noteID = try journal.addNote(.outreachContact, text: "met at the station", in: caseID)
      try journal.amend(note: noteID, text: "it was the north entrance", in: caseID)
      let wrong = try journal.addNote(.phoneCall, text: "wrong case", in: caseID)
      try journal.strike(note: wrong, reason: "written in the wrong case", in: caseID)
      try journal.updateSet("tags", element: "housing", add: true, in: caseID)
      try journal.setField(CaseField.workerInCharge, to: "Worker One", in: caseID)
      try journal.recordRiskAssessment(
        instrument: "SARA", version: "3", answers: ["yes", "unknown"], score: 12,
        judgement: .high, nextReview: 1_800_000_000_000, in: caseID)
      try journal.writeSafetyPlan("keep phone charged", in: caseID)
      try journal.recordConsent(
        purpose: "referral", recipient: "social services", form: .written, expiry: nil,
        in: caseID)
      try journal.closeCase(caseID)
      let late = try journal.addNote(.other, text: "called after closing", in: caseID)
      let opened = try journal.openCase(caseID)
      #expect(opened.notes.count == 3)
      #expect(opened.notes[noteID]?.amendments.count == 1)
      #expect(opened.notes[wrong]?.isStruck == true)
      #expect(opened.notes[late]?.late == true)
      #expect(opened.isClosed)
      #expect(opened.risks.count == 1)
      do {
        let holds = opened.sets["tags"]?.elements == ["housing"]
        #expect(holds, "content differs (not printed)")
      }
      try journal.flushReadAudit()
      #expect(try journal.pendingReads == 0)
      digest = try journal.state.digest
      journal.lock()
      #expect(journal.isLocked)
      #expect(throws: JournalError.self) { _ = try journal.state }
    }
    // A new process would do this: open the directory, unlock, read.
    let reopened = try Journal.open(at: path, options: testOptions)
    try reopened.unlock(passphrase: passphrase("correct horse"))
    let state = try reopened.state
    #expect(state.digest == digest)
    do {
      let holds = state.cases[caseID]?.notes[noteID]?.text == "met at the station"
      #expect(holds, "content differs (not printed)")
    }
    do {
      let holds = try reopened.people().first?.name == "Worker One"
      #expect(holds, "content differs (not printed)")
    }
  }

  /// The incremental path after each write gives the state a full evaluation gives.
  @Test func incrementalStateMatchesRebuild() throws {
    let directory = TemporaryDirectory()
    defer { directory.cleanUp() }
    let path = directory.path + "/j"
    let (journal, _) = try Journal.create(
      at: path, passphrase: passphrase("pw"), name: "A", options: testOptions)
    var random = SeededRandom(seed: 7)
    var cases = [try journal.createCase(type: .dropIn)]
    var notes = [(EntryID, CaseID)]()
    for step in 0..<120 {
      let caseID = cases[random.next(below: cases.count)]
      switch random.next(below: 8) {
      case 0: cases.append(try journal.createCase(type: .phoneLine))
      case 1: try journal.setField("status", to: step % 2 == 0 ? "closed" : "open", in: caseID)
      case 2:
        try journal.updateSet("tags", element: "t\(step % 3)", add: step % 4 != 0, in: caseID)
      case 3 where !notes.isEmpty:
        let (note, noteCase) = notes[random.next(below: notes.count)]
        try journal.amend(note: note, text: "amended \(step)", in: noteCase)
      case 4: try journal.createClient(alias: "alias \(step)", code: "c\(step)")
      case 5: try journal.writeSafetyPlan("plan \(step)", in: caseID)
      default:
        notes.append((try journal.addNote(.supportTalk, text: "note \(step)", in: caseID), caseID))
      }
    }
    _ = try journal.openCase(cases[0])
    try journal.flushReadAudit()
    let incremental = try #require(journal.session?.state)
    journal.lock()
    try journal.unlock(passphrase: passphrase("pw"))
    let rebuilt = try #require(journal.session?.state)
    #expect(incremental.digest == rebuilt.digest)
    #expect(incremental.logDigest == rebuilt.logDigest)
    #expect(incremental.keys.caseKeys.count == rebuilt.keys.caseKeys.count)
    #expect(incremental.keys.caseKeys.count == cases.count)
    #expect(rebuilt.readAudit.count == 1)
    // What callers get holds no key.
    #expect(try journal.state.keys.caseKeys.isEmpty)
    #expect(try journal.state.keys.epochs.isEmpty)
    #expect(try journal.state.digest == rebuilt.digest)
  }

  @Test func wrongPassphraseChangesNothingAndSlowsDown() throws {
    let directory = TemporaryDirectory()
    defer { directory.cleanUp() }
    let path = directory.path + "/j"
    let clock = TestClock()
    let (journal, _) = try Journal.create(
      at: path, passphrase: passphrase("right"), name: "A", options: clock.options)
    let caseID = try journal.createCase(type: .outreach)
    try journal.addNote(.other, text: "kept", in: caseID)
    journal.lock()
    let before = readFile(path + "/journal.sqlite") + readFile(path + "/keys")
    for _ in 0..<3 {
      #expect(throws: JournalError.self) { try journal.unlock(passphrase: passphrase("wrong")) }
    }
    #expect(readFile(path + "/journal.sqlite") + readFile(path + "/keys") == before)
    // The fourth try must wait, even with the right passphrase.
    do {
      try journal.unlock(passphrase: passphrase("right"))
      Issue.record("unlock went ahead without waiting")
    } catch {
      #expect(error.storeCode == .tooManyAttempts)
    }
    clock.advance(5_001)
    try journal.unlock(passphrase: passphrase("right"))
    #expect(try journal.state.cases[caseID]?.notes.count == 1)
  }

  /// A stronger configured cost re-wraps the keys at the next unlock.
  @Test func unlockRaisesTheStoredCost() throws {
    let directory = TemporaryDirectory()
    defer { directory.cleanUp() }
    let path = directory.path + "/j"
    do {
      let (journal, _) = try Journal.create(
        at: path, passphrase: passphrase("p"), name: "A", options: testOptions)
      journal.lock()
    }
    func opsLimit() -> UInt32 {
      let keys = readFile(path + "/keys")
      let slot = keys[0..<8] == ArraySlice("ANKERKEY".utf8) ? 0 : 320
      return keys[slot + 19..<slot + 23].reduce(0) { $0 << 8 | UInt32($1) }
    }
    #expect(opsLimit() == 1)
    let stronger = Journal.Options(passphraseCost: .interactive, idleTimeoutSeconds: nil)
    let journal = try Journal.open(at: path, options: stronger)
    try journal.unlock(passphrase: passphrase("p"))
    #expect(opsLimit() == 2)  // libsodium's INTERACTIVE
    journal.lock()
    try journal.unlock(passphrase: passphrase("p"))
    #expect(try journal.people().count == 1)
  }

  @Test func wrongPassphraseSaysSo() throws {
    let directory = TemporaryDirectory()
    defer { directory.cleanUp() }
    let (journal, _) = try Journal.create(
      at: directory.path + "/j", passphrase: passphrase("right"), name: "A", options: testOptions)
    journal.lock()
    do {
      try journal.unlock(passphrase: passphrase("Right"))
      Issue.record("a wrong passphrase unlocked the journal")
    } catch {
      #expect(error.storeCode == .wrongPassphrase)
      do {
        let holds = !error.description.contains("Right")
        #expect(holds, "content differs (not printed)")
      }
    }
  }

  @Test func changingThePassphraseOverwritesTheOldWrap() throws {
    let directory = TemporaryDirectory()
    defer { directory.cleanUp() }
    let path = directory.path + "/j"
    let (journal, _) = try Journal.create(
      at: path, passphrase: passphrase("old one"), name: "A", options: testOptions)
    let caseID = try journal.createCase(type: .outreach)
    try journal.addNote(.other, text: "stays", in: caseID)
    let oldKeyFile = readFile(path + "/keys")
    try journal.changePassphrase(from: passphrase("old one"), to: passphrase("new one"))
    journal.lock()
    // The old slot's sealed keys appear in no file any more.
    let oldSealed = sealedSecrets(ofKeyFile: oldKeyFile)
    #expect(oldSealed.count == 112)
    let stillThere = anyFile(under: path, holds: oldSealed)
    #expect(!stillThere)
    #expect(throws: JournalError.self) { try journal.unlock(passphrase: passphrase("old one")) }
    try journal.unlock(passphrase: passphrase("new one"))
    #expect(try journal.state.cases[caseID]?.notes.count == 1)
  }

  @Test func duressPassphraseDestroysTheKeys() throws {
    let directory = TemporaryDirectory()
    defer { directory.cleanUp() }
    let path = directory.path + "/j"
    do {
      let (journal, _) = try Journal.create(
        at: path, passphrase: passphrase("real"), name: "A", options: testOptions)
      let caseID = try journal.createCase(type: .crisisPlace)
      try journal.addNote(.stayEvent, text: "sensitive", in: caseID)
      try journal.setDuressPassphrase(passphrase("duress"), confirming: passphrase("real"))
      journal.lock()
    }
    let oldKeyFile = readFile(path + "/keys")
    do {
      let reopened = try Journal.open(at: path, options: testOptions)
      #expect(try reopened.unlock(passphrase: passphrase("duress")) == .emptied)
      #expect(reopened.isWiped)
      #expect(throws: JournalError.self) { _ = try reopened.state }
    }
    // Afterwards no passphrase opens the old content: the real one included.
    do {
      let again = try Journal.open(at: path, options: testOptions)
      #expect(try again.unlock(passphrase: passphrase("real")) == .emptied)
      #expect(throws: JournalError.self) { _ = try again.state }
    }
    // The wrapped keys are gone from every file, and the database holds nothing.
    let sealed = sealedSecrets(ofKeyFile: oldKeyFile)
    #expect(sealed.count == 112)
    let stillThere = anyFile(under: path, holds: sealed)
    #expect(!stillThere)
    #expect(try Store.open(at: path).entryCount == 0)
  }

  @Test func panicWipesAndAFreshEnrolmentWorks() throws {
    let directory = TemporaryDirectory()
    defer { directory.cleanUp() }
    let adminPath = directory.path + "/admin"
    let workerPath = directory.path + "/worker"
    let (admin, _) = try Journal.create(
      at: adminPath, passphrase: passphrase("a"), name: "Admin", options: testOptions)
    let caseID = try admin.createCase(type: .outreach)
    try admin.addNote(.outreachContact, text: "first contact", in: caseID)
    let genesis = try admin.state.membership.devices.values.first { $0.role == .admin }!.admittedBy
    let person: PersonID
    do {
      let (worker, request) = try Journal.prepareDevice(
        at: workerPath, passphrase: passphrase("w"), options: testOptions)
      person = try admin.addDevice(request, role: .worker, name: "Worker")
      try worker.join(log: try admin.exportLog(), genesis: genesis)
      #expect(try worker.openCase(caseID).notes.count == 1)
      #expect(try worker.me == person)

      try worker.panic()
      #expect(worker.isWiped)
      #expect(try worker.unlock(passphrase: passphrase("w")) == .emptied)
      #expect(throws: JournalError.self) { _ = try worker.state }
    }
    // Back: a new device on the same laptop, added by the admin, takes the journal again.
    let (fresh, newRequest) = try Journal.prepareDevice(
      at: workerPath, passphrase: passphrase("w2"), options: testOptions)
    try admin.addDevice(newRequest, role: .worker, person: person)
    try fresh.join(log: try admin.exportLog(), genesis: genesis)
    #expect(try fresh.openCase(caseID).notes.count == 1)
  }

  @Test func joiningRefusesAnotherJournal() throws {
    let directory = TemporaryDirectory()
    defer { directory.cleanUp() }
    let (one, _) = try Journal.create(
      at: directory.path + "/one", passphrase: passphrase("a"), name: "A", options: testOptions)
    let (two, _) = try Journal.create(
      at: directory.path + "/two", passphrase: passphrase("b"), name: "B", options: testOptions)
    let (joining, request) = try Journal.prepareDevice(
      at: directory.path + "/new", passphrase: passphrase("c"), options: testOptions)
    try one.addDevice(request, role: .worker, name: "C")
    let genesisOfTwo = try two.state.membership.devices.values.first!.admittedBy
    #expect(throws: JournalError.self) {
      try joining.join(log: try one.exportLog(), genesis: genesisOfTwo)
    }
    // A log that has not admitted this device is refused too, and nothing of it is stored
    // (the join writes while membership is checked, and rolls back): reopened, the laptop
    // is still no member; admitted later, it joins.
    let genesisOfOne = try one.state.membership.devices.values.first { $0.role == .admin }!
      .admittedBy
    let strangerPath = directory.path + "/stranger"
    let request2: DeviceRequest
    do {
      let (stranger, request) = try Journal.prepareDevice(
        at: strangerPath, passphrase: passphrase("d"), options: testOptions)
      request2 = request
      do {
        try stranger.join(log: try one.exportLog(), genesis: genesisOfOne)
        Issue.record("a journal that does not admit this device was joined")
      } catch {
        #expect(error.code == .notEnrolled)
      }
      #expect(throws: JournalError.self) { _ = try stranger.identity }
      stranger.lock()
    }
    let reopened = try Journal.open(at: strangerPath, options: testOptions)
    try reopened.unlock(passphrase: passphrase("d"))
    #expect(throws: JournalError.self) { _ = try reopened.identity }
    try one.addDevice(request2, role: .worker, name: "D")
    try reopened.join(log: try one.exportLog(), genesis: genesisOfOne)
    #expect(try reopened.identity.genesis == genesisOfOne)
  }

  @Test func idleTimeoutLocks() throws {
    let directory = TemporaryDirectory()
    defer { directory.cleanUp() }
    let options = Journal.Options(passphraseCost: .testingOnly, idleTimeoutSeconds: 0.2)
    let (journal, _) = try Journal.create(
      at: directory.path + "/j", passphrase: passphrase("p"), name: "A", options: options)
    #expect(!journal.isLocked)
    var waited = 0.0
    while !journal.isLocked && waited < 5 {
      Thread.sleep(forTimeInterval: 0.05)
      waited += 0.05
    }
    #expect(journal.isLocked)
  }

  @Test func twoProcessesCannotOpenOneStore() throws {
    let directory = TemporaryDirectory()
    defer { directory.cleanUp() }
    let path = directory.path + "/j"
    let (journal, _) = try Journal.create(
      at: path, passphrase: passphrase("p"), name: "A", options: testOptions)
    do {
      _ = try Journal.open(at: path, options: testOptions)
      Issue.record("a second open of the same store succeeded")
    } catch {
      #expect(error.storeCode == .busy)
    }
    withExtendedLifetime(journal) {}
  }
}
