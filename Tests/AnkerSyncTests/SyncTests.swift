import Anker
import AnkerCrypto
import AnkerLog
import AnkerModel
import AnkerStore
import AnkerSync
import Foundation
import Testing

@Suite(.serialized) struct SyncTests {
  @Test func twoLaptopsExchangeNotesThroughTheRelay() async throws {
    let setup = try await RelayTeam.start(workers: 1)
    defer { setup.stop() }
    let (relay, team) = (setup.relay, setup.team)
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

  /// A shred reaches the relay: every stored copy of an erased body is detached (the rows
  /// keep header and signature), found through the relay's DAG rather than an index.
  @Test func aShredDetachesTheBodiesOnTheRelay() async throws {
    let setup = try await RelayTeam.start(workers: 1)
    defer { setup.stop() }
    let (relay, team) = (setup.relay, setup.team)
    let (admin, worker) = (team[0], team[1])
    let client = try worker.createClient(alias: "Green", code: "G-1", languages: ["sv"])
    let caseID = try worker.createCase(type: .outreach, client: client)
    for index in 0..<3 {
      _ = try worker.addNote(.supportTalk, text: "talk \(index)", in: caseID)
    }
    let kept = try worker.createCase(type: .outreach, client: client)
    _ = try worker.addNote(.supportTalk, text: "kept", in: kept)
    #expect(try await worker.sync(relay: relay.url).isClean)
    #expect(try await admin.sync(relay: relay.url).isClean)
    let before = try relayBodies(in: relay)
    #expect(before.erased == 0)
    try admin.shred(caseID)
    #expect(try await admin.sync(relay: relay.url).isClean)
    let after = try relayBodies(in: relay)
    #expect(after.erased > 0, "the relay remembers no erased body")
    #expect(after.stillCarried == 0, "the relay still holds an erased body")
    #expect(after.withBody < before.withBody, "no body was detached on the relay")
    // The worker, who wrote the bodies, syncs the shred in and agrees with the admin.
    #expect(try await worker.sync(relay: relay.url).isClean)
    #expect(try admin.state.digest == worker.state.digest)
  }
}

/// Reads the relay's store beside the running relay: how many entries carry a body, how many
/// body hashes are erased, and how many stored entries still carry an erased body.
private func relayBodies(in relay: RelayProcess) throws -> (
  withBody: Int, erased: Int, stillCarried: Int
) {
  let db = try SQLiteDatabase(path: relay.directory + "/data/relay.sqlite", create: false)
  var erased = Set<[UInt8]>()
  let hashes = try db.statement("SELECT body_hash FROM erased")
  while try hashes.step() { erased.insert(hashes.blob(0)) }
  hashes.reset()
  var withBody = 0
  var stillCarried = 0
  let rows = try db.statement("SELECT data FROM entry")
  while try rows.step() {
    let entry = try Entry(decoding: rows.blob(0))
    guard entry.body != nil else { continue }
    withBody += 1
    if erased.contains(entry.header.bodyHash.bytes) { stillCarried += 1 }
  }
  rows.reset()
  return (withBody, erased.count, stillCarried)
}
