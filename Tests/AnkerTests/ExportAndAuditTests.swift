import Anker
import AnkerCrypto
import AnkerLog
import AnkerModel
import AnkerStore
import Foundation
import Testing

@Suite struct ExportAndAuditTests {
  /// An admin and a worker on two laptops, the worker joined from the admin's log.
  func twoDevices(_ root: TemporaryDirectory) throws -> (admin: Journal, worker: Journal) {
    let (admin, _) = try Journal.create(
      at: root.path + "/admin", passphrase: passphrase("a"), name: "Admin Person",
      options: testOptions)
    let (worker, request) = try Journal.prepareDevice(
      at: root.path + "/worker", passphrase: passphrase("w"), options: testOptions)
    try admin.addDevice(request, role: .worker, name: "Worker Person")
    let genesis = try admin.state.membership.devices.values.first { $0.role == .admin }!
      .admittedBy
    try worker.join(log: try admin.exportLog(), genesis: genesis)
    return (admin, worker)
  }

  @Test func searchFindsWordsInMemory() throws {
    let root = TemporaryDirectory()
    defer { root.cleanUp() }
    let (journal, _) = try Journal.create(
      at: root.path + "/j", passphrase: passphrase("p"), name: "A", options: testOptions)
    let client = try journal.createClient(alias: "Lilja", code: "L-3")
    let first = try journal.createCase(type: .outreach, client: client)
    let second = try journal.createCase(type: .phoneLine)
    let note = try journal.addNote(
      .phoneCall, text: "Talked about the Café near the bridge", in: first)
    try journal.addNote(.phoneCall, text: "nothing to see", in: second)
    let hits = try journal.search("cafe BRIDGE")
    #expect(hits.map(\.caseID) == [first])
    #expect(hits.first?.entries == [note])
    #expect(try journal.search("lilja").first?.client == true)
    #expect(try journal.search("absent words").isEmpty)
  }

  @Test func exportLeavesProtectedFieldsOutUntilASecondPersonApproves() throws {
    let root = TemporaryDirectory()
    defer { root.cleanUp() }
    let (admin, worker) = try twoDevices(root)
    let caseID = try worker.createCase(type: .stabilisationStay)
    let note = try worker.addNote(.supportTalk, text: "first talk", in: caseID)
    try worker.amend(note: note, text: "she asked for a referral", in: caseID)
    let wrong = try worker.addNote(.other, text: "misfiled", in: caseID)
    try worker.strike(note: wrong, reason: "belongs elsewhere", in: caseID)
    try worker.setField(CaseField.safeContact, to: "sister, evenings only", in: caseID)
    try worker.writeSafetyPlan("leave by the back door", in: caseID)

    let markdown = try worker.exportCase(caseID, format: .markdown)
    do {
      let holds = markdown.contains("first talk")
      #expect(holds, "content differs (not printed)")
    }
    do {
      let holds = markdown.contains("she asked for a referral")
      #expect(holds, "content differs (not printed)")
    }
    do {
      let holds = markdown.contains("belongs elsewhere")
      #expect(holds, "content differs (not printed)")
    }
    do {
      let holds = markdown.contains("Worker Person")
      #expect(holds, "content differs (not printed)")
    }
    do {
      let holds = !markdown.contains("sister, evenings only")
      #expect(holds, "content differs (not printed)")
    }
    do {
      let holds = !markdown.contains("leave by the back door")
      #expect(holds, "content differs (not printed)")
    }
    let json = try worker.exportCase(caseID, format: .json)
    let decoded = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
    #expect((decoded?["notes"] as? [Any])?.count == 2)
    #expect(decoded?["protectedFieldsIncluded"] as? Bool == false)

    do {
      _ = try worker.exportCase(caseID, format: .markdown, includeProtected: true)
      Issue.record("protected fields were exported without an approval")
    } catch {
      #expect(error.code == .approvalNeeded)
    }
    // Approving one's own export does not count.
    #expect(throws: JournalError.self) { try worker.approveExport(of: caseID, for: try worker.me!) }
    // The admin, a second person, approves it.
    try admin.importLog(try worker.exportLog())
    try admin.approveExport(of: caseID, for: try worker.me!)
    try worker.importLog(try admin.exportLog())
    let full = try worker.exportCase(caseID, format: .markdown, includeProtected: true)
    do {
      let holds = full.contains("sister, evenings only")
      #expect(holds, "content differs (not printed)")
    }
    do {
      let holds = full.contains("leave by the back door")
      #expect(holds, "content differs (not printed)")
    }
  }

  /// Opening a case is logged locally, then written as an entry only admins can read.
  @Test func readsAreAuditedForAdminsOnly() throws {
    let root = TemporaryDirectory()
    defer { root.cleanUp() }
    let (admin, worker) = try twoDevices(root)
    let caseID = try admin.createCase(type: .outreach)
    try worker.importLog(try admin.exportLog())
    _ = try worker.openCase(caseID)
    _ = try worker.exportCase(caseID, format: .json)
    #expect(try worker.pendingReads == 2)
    try worker.flushReadAudit()
    #expect(try worker.pendingReads == 0)
    // The worker wrote the audit but cannot read it; the admin can.
    #expect(try worker.state.readAudit.isEmpty)
    try admin.importLog(try worker.exportLog())
    let audit = try admin.state.readAudit
    #expect(audit.count == 2)
    #expect(audit.allSatisfy { $0.caseID == caseID })
    #expect(audit.allSatisfy { (try? worker.me) == $0.person })
  }

  /// Reads made while offline stay sealed in the local read log across a lock; `lock`
  /// writes them when it can.
  @Test func offlineReadsAreKeptUntilWritten() throws {
    let root = TemporaryDirectory()
    defer { root.cleanUp() }
    let (journal, _) = try Journal.create(
      at: root.path + "/j", passphrase: passphrase("p"), name: "A", options: testOptions)
    let caseID = try journal.createCase(type: .outreach)
    _ = try journal.openCase(caseID)
    journal.lock()
    try journal.unlock(passphrase: passphrase("p"))
    #expect(try journal.pendingReads == 0)
    #expect(try journal.state.readAudit.count == 1)
  }

  @Test func shredErasesBodiesInTheStore() throws {
    let root = TemporaryDirectory()
    defer { root.cleanUp() }
    let path = root.path + "/j"
    let note: EntryID
    do {
      let (journal, _) = try Journal.create(
        at: path, passphrase: passphrase("p"), name: "A", options: testOptions)
      let caseID = try journal.createCase(type: .outreach)
      note = try journal.addNote(.other, text: "to be erased", in: caseID)
      try journal.shred(caseID)
      let state = try journal.state
      #expect(state.cases[caseID] == nil)
      #expect(state.erased.contains(note))
      journal.lock()
      try journal.unlock(passphrase: passphrase("p"))
      #expect(try journal.state.shreddedCases.contains(caseID))
      #expect(try journal.state.faults.isEmpty)
      journal.lock()
    }
    // The store keeps the signed header, not the body.
    let store = try Store.open(at: path)
    _ = try store.unlock(passphrase: passphrase("p"))
    let stored = try store.entries().first { $0.entry.id == note }
    #expect(stored != nil)
    #expect(stored?.entry.body == nil)
  }
}
