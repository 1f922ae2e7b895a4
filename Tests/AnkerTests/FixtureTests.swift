import Anker
import AnkerModel
import Foundation
import Testing

/// A store written by the first store format (migration "1-initial", key file format 1) is
/// committed under `Fixtures/store-v1`; every later version must keep opening it. Migrations
/// are append-only: never regenerate this fixture to make a change pass.
///
/// `ANKER_WRITE_FIXTURE=1 swift test --filter FixtureTests` wrote it (once).
@Suite struct FixtureTests {
  static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("Fixtures/store-v1").path
  static let passphraseText = "fixture passphrase v1"

  @Test func opensAStoreWrittenByTheFirstFormat() throws {
    if ProcessInfo.processInfo.environment["ANKER_WRITE_FIXTURE"] == "1" { try write() }
    let root = TemporaryDirectory()
    defer { root.cleanUp() }
    let copy = root.path + "/store"
    try FileManager.default.copyItem(atPath: Self.fixture, toPath: copy)
    let journal = try Journal.open(at: copy, options: testOptions)
    try journal.unlock(passphrase: passphrase(Self.passphraseText))
    let state = try journal.state
    #expect(state.faults.isEmpty)
    let found = try #require(state.cases.values.first)
    #expect(found.type == .outreach)
    do {
      let holds = found.notes.values.map(\.text) == ["fixture note v1"]
      #expect(holds, "content differs (not printed)")
    }
    do {
      let holds = found.notes.values.first?.amendments.map(\.text) == ["fixture amendment v1"]
      #expect(holds, "content differs (not printed)")
    }
    do {
      let holds = found.sets["tags"]?.elements == ["fixture"]
      #expect(holds, "content differs (not printed)")
    }
    do {
      let holds = found.safetyPlans.values.map(\.text) == ["fixture plan v1"]
      #expect(holds, "content differs (not printed)")
    }
    #expect(found.consents.count == 1)
    do {
      let holds = state.clients.values.map(\.alias) == ["Fixture Alias"]
      #expect(holds, "content differs (not printed)")
    }
    #expect(state.readAudit.count == 1)
    do {
      let holds = try journal.people().map(\.name) == ["Fixture Person"]
      #expect(holds, "content differs (not printed)")
    }
    // And it still takes writes, and reads back in full from its entries.
    try journal.addNote(.other, text: "written by this version", in: found.id)
    #expect(try journal.state.cases[found.id]?.notes.count == 2)
    try journal.verify()
    #expect(try journal.state.cases[found.id]?.notes.count == 2)
  }

  func write() throws {
    try? FileManager.default.removeItem(atPath: Self.fixture)
    let (journal, _) = try Journal.create(
      at: Self.fixture, passphrase: passphrase(Self.passphraseText), name: "Fixture Person",
      options: testOptions)
    let client = try journal.createClient(alias: "Fixture Alias", code: "F-1")
    let caseID = try journal.createCase(type: .outreach, client: client)
    let note = try journal.addNote(.outreachContact, text: "fixture note v1", in: caseID)
    try journal.amend(note: note, text: "fixture amendment v1", in: caseID)
    try journal.updateSet("tags", element: "fixture", add: true, in: caseID)
    try journal.writeSafetyPlan("fixture plan v1", in: caseID)
    try journal.recordConsent(
      purpose: "referral", recipient: "clinic", form: .oral, expiry: nil, in: caseID)
    _ = try journal.openCase(caseID)
    journal.lock()
    try? FileManager.default.removeItem(atPath: Self.fixture + "/lock")
  }
}
