import Anker
import AnkerCrypto
import Foundation
import Testing

/// An operator's list of the journals a relay takes (`anker-relay serve --journals FILE`).
@Suite(.serialized) struct RelayAdmissionTests {
  @Test func aRelayWithAListTakesOnlyTheJournalsOnIt() async throws {
    let directory = TemporaryDirectory()
    defer { directory.cleanUp() }
    let list = directory.path + "/journals"
    try "# journals this relay takes\n".write(toFile: list, atomically: true, encoding: .utf8)
    let relay = try RelayProcess(directory: directory.path, arguments: ["--journals", list])
    defer { relay.stop() }
    let (admin, _) = try Journal.create(
      at: directory.path + "/admin", passphrase: passphrase("admin pass"), name: "Admin",
      options: testOptions)
    await #expect {
      _ = try await admin.sync(relay: relay.url)
    } throws: { relayCode($0) == "journalNotAllowed" }
    // The operator adds the id (the file is read again: no restart).
    let id = try admin.identity.journal.hex
    try "# journals this relay takes\n\(id)  # the shelter\n".write(
      toFile: list, atomically: true, encoding: .utf8)
    let report = try await admin.sync(relay: relay.url)
    #expect(report.isClean && report.pushed >= 1)
    // Taking the id off again leaves an existing journal working.
    try "".write(toFile: list, atomically: true, encoding: .utf8)
    #expect(try await admin.sync(relay: relay.url).isClean)
  }
}
