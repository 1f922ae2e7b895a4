import Anker
import AnkerCrypto
import AnkerLog
import AnkerStore
import AnkerSync
import Foundation
import Testing

/// DESIGN rule 2 on the relay: once a removal stands, it takes no new entry of the removed
/// device, not even one whose sequence number is below the cut (a fork of its chain).
@Suite(.serialized) struct RemovalCutTests {
  @Test func aForkOfARemovedDevicesChainIsRefused() async throws {
    let setup = try await RelayTeam.start(workers: 1)
    defer { setup.stop() }
    let (relay, team) = (setup.relay, setup.team)
    let (admin, worker) = (team[0], team[1])
    let client = try worker.createClient(alias: "Teal", code: "T-3", languages: [])
    let caseID = try worker.createCase(type: .outreach, client: client)
    _ = try worker.addNote(.phoneCall, text: "called back", in: caseID)
    _ = try await worker.sync(relay: relay.url)
    _ = try await admin.sync(relay: relay.url)
    let key = try #require(worker.unlockedSecrets).signing
    let own = try Wire.decodeBatch(try worker.exportLog()).filter { $0.author == key.publicKey }
      .sorted { $0.sequence < $1.sequence }
    try #require(own.count >= 3)
    try admin.removeDevice(key.publicKey)
    _ = try await admin.sync(relay: relay.url)

    // The removed laptop's key makes a second entry 2: same author, a sequence below the
    // cut, another place in the DAG. An admin's laptop carries it to the relay.
    let heads = try Wire.decodeBatch(try admin.exportLog())
    let top = try #require(heads.max { $0.lamport < $1.lamport })
    let fork = EntryDraft(
      journal: own[0].header.journal, author: key.publicKey, sequence: 2, prev: own[0].id,
      parents: [own[0].id, top.id], lamport: top.lamport + 1
    ).sign(body: try #require(own[1].body), with: key)
    let adminKey = try #require(admin.unlockedSecrets).signing
    let carrier = try RelayClient(
      url: relay.url, journal: own[0].header.journal, device: adminKey,
      transport: URLSessionTransport(), clock: { Store.wallClock() })
    guard
      case .answer(let response) = await carrier.send(
        "POST", carrier.journalPath + "/entries", body: Wire.encodeBatch([fork]))
    else {
      Issue.record("the relay did not answer")
      return
    }
    #expect(response.status == 200, "\(String(decoding: response.body, as: UTF8.self))")
    let result = try JSONDecoder().decode(PushResult.self, from: Data(response.body))
    #expect(result.accepted == 0)
    #expect(result.refused.map(\.reason) == ["revoked"])
  }
}
