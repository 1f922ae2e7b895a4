import AnkerCrypto
import AnkerLog
import AnkerModel
import Foundation
import Testing

@testable import Anker

/// Unlocking from the stored snapshot gives the journal evaluating every entry gives.
@Suite struct SnapshotJournalTests {
  /// The session's state and whether it came from a snapshot (its DAG is the frontier).
  func inside(_ journal: Journal) -> (state: JournalState?, partial: Bool) {
    journal.locked { (journal.session?.state, journal.session?.dagIsPartial ?? false) }
  }

  @Test func lockWritesASnapshotThatUnlockUses() throws {
    let root = TemporaryDirectory()
    defer { root.cleanUp() }
    let (journal, _) = try Journal.create(
      at: root.path + "/j", passphrase: passphrase("p"), name: "A", options: testOptions)
    let client = try journal.createClient(alias: "Rose", code: "R-1")
    let caseID = try journal.createCase(type: .outreach, client: client)
    try journal.setIdentity("legalName", to: "someone", of: client)
    let note = try journal.addNote(.supportTalk, text: "one", in: caseID)
    try journal.amend(note: note, text: "two", in: caseID)
    try journal.restrict(caseID, to: [try journal.me!])
    try journal.addNote(.other, text: "after the restriction", in: caseID)
    journal.lock()
    try journal.unlock(passphrase: passphrase("p"))
    let fromSnapshot = inside(journal)
    #expect(fromSnapshot.partial)
    // Content writes go on from the snapshot's frontier.
    try journal.addNote(.phoneCall, text: "three", in: caseID)
    let second = try journal.createCase(type: .dropIn)
    #expect(inside(journal).partial)
    let incremental = try #require(inside(journal).state)
    try journal.verify()  // loads and evaluates every entry
    let full = try #require(inside(journal).state)
    #expect(!inside(journal).partial)
    #expect(incremental.digest == full.digest)
    #expect(incremental.logDigest == full.logDigest)
    #expect(incremental.keys.caseKeys.count == full.keys.caseKeys.count)
    #expect(full.cases[caseID]?.notes.count == 3)
    #expect(full.cases[second] != nil)
    do {
      let holds = full.clients[client]?.identity["legalName"]?.shown?.value == "someone"
      #expect(holds, "content differs (not printed)")
    }
  }

  /// Killed without locking: the snapshot is older than the last rows, which are this
  /// device's own; they are applied on top.
  @Test func ownEntriesAfterTheSnapshotAreAppliedOnTop() throws {
    let root = TemporaryDirectory()
    defer { root.cleanUp() }
    let path = root.path + "/j"
    let caseID: CaseID
    do {
      let (journal, _) = try Journal.create(
        at: path, passphrase: passphrase("p"), name: "A", options: testOptions)
      caseID = try journal.createCase(type: .outreach)
      journal.lock()
      try journal.unlock(passphrase: passphrase("p"))
      for index in 0..<5 { try journal.addNote(.other, text: "late \(index)", in: caseID) }
      // No lock: the process "dies" here (the journal is dropped without a snapshot).
      journal.locked { journal.session = nil }
    }
    let journal = try Journal.open(at: path, options: testOptions)
    try journal.unlock(passphrase: passphrase("p"))
    #expect(inside(journal).partial)
    #expect(try journal.state.cases[caseID]?.notes.count == 5)
    let before = try journal.state.digest
    try journal.verify()
    #expect(try journal.state.digest == before)
  }

  /// Entries from another device stored after the snapshot: evaluated from every entry.
  @Test func othersEntriesAfterTheSnapshotEvaluateEverything() throws {
    let root = TemporaryDirectory()
    defer { root.cleanUp() }
    let (admin, _) = try Journal.create(
      at: root.path + "/admin", passphrase: passphrase("a"), name: "Admin", options: testOptions)
    let caseID = try admin.createCase(type: .outreach)
    let (worker, request) = try Journal.prepareDevice(
      at: root.path + "/worker", passphrase: passphrase("w"), options: testOptions)
    try admin.addDevice(request, role: .worker, name: "Worker")
    let genesis = try admin.state.membership.devices.values.first { $0.role == .admin }!
      .admittedBy
    try worker.join(log: try admin.exportLog(), genesis: genesis)
    admin.lock()
    try admin.unlock(passphrase: passphrase("a"))
    #expect(inside(admin).partial)
    try worker.addNote(.outreachContact, text: "from the worker", in: caseID)
    try admin.importLog(try worker.exportLog())
    #expect(!inside(admin).partial)
    #expect(try admin.state.cases[caseID]?.notes.count == 1)
    // A device removal from a snapshot session loads everything first.
    admin.lock()
    try admin.unlock(passphrase: passphrase("a"))
    #expect(inside(admin).partial)
    try admin.removeDevice(request.device)
    #expect(!inside(admin).partial)
    #expect(try admin.state.membership.devices[request.device]?.isRemoved == true)
  }
}
