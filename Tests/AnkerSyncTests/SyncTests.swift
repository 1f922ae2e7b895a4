import Anker
import AnkerCrypto
import AnkerLog
import AnkerModel
import AnkerSync
import Foundation
import Testing

@Suite(.serialized) struct SyncTests {
  @Test func twoLaptopsExchangeNotesThroughTheRelay() async throws {
    let directory = TemporaryDirectory()
    defer { directory.cleanUp() }
    let relay = try RelayProcess(directory: directory.path)
    defer { relay.stop() }
    let team = try await makeTeam(in: directory.path, relay: relay.url, workers: 1)
    let (admin, worker) = (team[0], team[1])
    let client = try worker.createClient(alias: "Blue", code: "B-1", languages: ["sv"])
    let caseID = try worker.createCase(type: .outreach, client: client)
    let note = try worker.addNote(.outreachContact, text: "met at the station", in: caseID)
    let pushed = try await worker.sync(relay: relay.url)
    #expect(pushed.isClean)
    #expect(pushed.pushed >= 3)
    let pulled = try await admin.sync(relay: relay.url)
    #expect(pulled.isClean)
    #expect(pulled.received >= 3)
    let seen = try admin.state.cases[caseID]?.notes[note]?.text == "met at the station"
    #expect(seen, "the admin does not read the worker's note (content not printed)")
    // Both now hold the same journal.
    _ = try await worker.sync(relay: relay.url)
    #expect(try admin.state.digest == worker.state.digest)
  }
}
