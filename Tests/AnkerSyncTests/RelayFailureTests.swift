import Anker
import AnkerCrypto
import AnkerLog
import AnkerModel
import AnkerStore
import AnkerSync
import Foundation
import Testing

@Suite(.serialized) struct RelayFailureTests {
  /// SIGKILL the relay while a laptop pushes, restart it on the same store: every entry it
  /// acknowledged is there, none twice, and the laptops finish syncing.
  @Test func killingTheRelayDuringPushesLosesNothing() async throws {
    let setup = try await RelayTeam.start(workers: 1)
    defer { setup.stop() }
    let (relay, team) = (setup.relay, setup.team)
    let (admin, worker) = (team[0], team[1])
    let client = try worker.createClient(alias: "Blue", code: "B-1", languages: [])
    let caseID = try worker.createCase(type: .outreach, client: client)
    var random = SeededRandom(seed: 7)
    var options = SyncSession<JournalSyncLocal>.Options()
    options.pushBatch = 10
    options.attempts = 1
    for round in 0..<6 {
      for index in 0..<60 {
        try worker.addNote(.phoneCall, text: "call \(round)-\(index)", in: caseID)
      }
      let url = relay.url
      let sync = Task { [options] in try await worker.sync(relay: url, options: options) }
      try await Task.sleep(for: .milliseconds(Int(random.next() % 40)))
      relay.kill()
      _ = try? await sync.value
      try relay.start(port: relay.port)
    }
    let final = try await syncEventually(worker, relay: relay.url)
    #expect(final.isClean)
    try await syncEventually(admin, relay: relay.url)
    let report = try await syncEventually(worker, relay: relay.url)
    let count = try entryCount(worker)
    // The relay's sequence numbers count stored entries: a duplicate would show here.
    #expect(report.relayHead == UInt64(count))
    #expect(try entryCount(admin) == count)
    #expect(try admin.state.digest == worker.state.digest)
    let notes = try admin.state.cases[caseID]?.notes.count ?? 0
    #expect(notes == 360)
  }

  /// Replace the relay's store with an older backup: the laptops notice (the relay signed a
  /// later checkpoint before) and re-send what it lacks; nothing is lost.
  @Test func anOlderBackupIsRepaired() async throws {
    let setup = try await RelayTeam.start(workers: 1)
    defer { setup.stop() }
    let (directory, relay, team) = (setup.directory, setup.relay, setup.team)
    let (admin, worker) = (team[0], team[1])
    let client = try admin.createClient(alias: "Green", code: "G-1", languages: [])
    let caseID = try admin.createCase(type: .outreach, client: client)
    try admin.addNote(.outreachContact, text: "before the backup", in: caseID)
    _ = try await admin.sync(relay: relay.url)
    _ = try await worker.sync(relay: relay.url)
    let backup = directory.path + "/relay-backup.sqlite"
    #expect(
      try RelayProcess.tool(["backup", "--data", directory.path + "/data", "--to", backup]) == 0)
    // A second backup to the same file is refused rather than overwritten.
    #expect(
      try RelayProcess.tool(["backup", "--data", directory.path + "/data", "--to", backup]) != 0)
    for index in 0..<5 {
      try admin.addNote(.supportTalk, text: "admin after \(index)", in: caseID)
      try worker.addNote(.supportTalk, text: "worker after \(index)", in: caseID)
    }
    _ = try await admin.sync(relay: relay.url)
    _ = try await worker.sync(relay: relay.url)
    _ = try await admin.sync(relay: relay.url)
    // The operator restores the old backup (the relay's key stays on the server).
    relay.stop()
    let data = directory.path + "/data"
    for suffix in ["", "-wal", "-shm"] {
      try? FileManager.default.removeItem(atPath: data + "/relay.sqlite" + suffix)
    }
    #expect(try RelayProcess.tool(["restore", "--from", backup, "--data", data]) == 0)
    // Restoring over a store is refused.
    #expect(try RelayProcess.tool(["restore", "--from", backup, "--data", data]) != 0)
    try relay.start(port: relay.port)
    let adminReport = try await admin.sync(relay: relay.url)
    #expect(adminReport.faults.contains { if case .rollback = $0 { true } else { false } })
    // The admin had pushed after the backup: the relay signed a higher checkpoint for it then
    // and a lower one now. The two, read back from their text, prove the rollback.
    let proofs = adminReport.faults.compactMap { fault -> RelayProof? in
      if case .rollback(_, _, _, let proof) = fault { return proof }
      return nil
    }
    #expect(proofs.count == 1)
    if let proof = proofs.first {
      let read = try RelayProof(parsing: proof.text)
      #expect(read == proof && read.later.sequence < read.earlier.sequence)
      #expect(read.earlier.journal == (try admin.identity.journal))
      // Swapped, they prove nothing.
      #expect(RelayProof(earlier: proof.later, later: proof.earlier) == nil)
      #expect(throws: WireError.self) {
        _ = try RelayProof(
          parsing: Hex.encode(proof.later.encoded) + " " + Hex.encode(proof.earlier.encoded))
      }
    }
    let workerReport = try await worker.sync(relay: relay.url)
    // The worker had pulled less far: it sees the relay's history either go back or no longer
    // extend the checkpoint the relay signed for it. Both are named, both repaired.
    #expect(
      workerReport.faults.contains {
        switch $0 {
        case .rollback, .fork: true
        default: false
        }
      })
    _ = try await admin.sync(relay: relay.url)
    let settled = try await worker.sync(relay: relay.url)
    #expect(settled.isClean)
    #expect(try admin.state.digest == worker.state.digest)
    #expect(settled.relayHead == UInt64(try entryCount(worker)))
    #expect(try admin.state.cases[caseID]?.notes.count == 11)
  }

  /// A removed laptop is refused by the relay with a clear error; a request sent twice is
  /// refused the second time.
  @Test func revokedDevicesAndReplaysAreRefused() async throws {
    let setup = try await RelayTeam.start(workers: 1)
    defer { setup.stop() }
    let (relay, team) = (setup.relay, setup.team)
    let (admin, worker) = (team[0], team[1])
    try admin.removeDevice(try worker.device.key)
    _ = try await admin.sync(relay: relay.url)
    let client = try worker.createClient(alias: "Red", code: "R-1", languages: [])
    _ = try worker.createCase(type: .outreach, client: client)
    var code: String?
    do { _ = try await worker.sync(relay: relay.url) } catch { code = relayCode(error) }
    #expect(code == "revoked")

    // Replay: the same signed request, byte for byte, twice.
    let key = Signing.PrivateKey()
    var random = SystemRandom()
    let recovery = RecoveryKey()
    let genesis = JournalWriter.genesis(
      device: key, box: Box.PrivateKey().publicKey, person: PersonID(using: &random),
      recovery: (recovery.boxKey.publicKey, recovery.authorityKey.publicKey),
      now: Store.wallClock(), using: &random)
    let path = "/v1/journals/\(genesis.header.journal.hex)"
    let body = genesis.encoded
    let headers = RequestSignature.headers(
      signedBy: key, origin: relay.url, journal: genesis.header.journal, method: "PUT",
      pathWithQuery: path, body: body, time: Store.wallClock(), nonce: random.bytes(16))
    let transport = URLSessionTransport(timeoutSeconds: 10)
    let request = HTTPExchange.Request(
      method: "PUT", url: relay.url + path, headers: headers, body: body)
    let first = try await transport.send(request)
    #expect(first.status == 201)
    let second = try await transport.send(request)
    #expect(second.status == 401)
    let error = try JSONDecoder().decode(RelayErrorBody.self, from: Data(second.body))
    #expect(error.error == "replayed")
    // A stale time is refused with the relay's time, so a client can retry.
    let stale = RequestSignature.headers(
      signedBy: key, origin: relay.url, journal: genesis.header.journal, method: "GET",
      pathWithQuery: path + "/entries?after=0", body: [], time: Store.wallClock() - 3_600_000,
      nonce: random.bytes(16))
    let staleAnswer = try await transport.send(
      .init(method: "GET", url: relay.url + path + "/entries?after=0", headers: stale, body: []))
    let staleError = try JSONDecoder().decode(RelayErrorBody.self, from: Data(staleAnswer.body))
    #expect(staleAnswer.status == 401 && staleError.error == "staleTime")
    #expect(staleError.serverTime != nil)
  }

  /// A store of format 3 (with an index on entry ids) is taken as it is: the relay drops the
  /// index, and still serves entries by id (through its in-memory index) and takes new ones.
  @Test func aFormatThreeStoreOpensWithoutTheIdIndex() async throws {
    let setup = try await RelayTeam.start(workers: 1)
    defer { setup.stop() }
    let (directory, relay, team) = (setup.directory, setup.relay, setup.team)
    let (admin, worker) = (team[0], team[1])
    let client = try admin.createClient(alias: "Lilac", code: "L-1", languages: [])
    let caseID = try admin.createCase(type: .outreach, client: client)
    try admin.addNote(.outreachContact, text: "before the upgrade", in: caseID)
    _ = try await admin.sync(relay: relay.url)
    _ = try await worker.sync(relay: relay.url)
    relay.stop()
    let path = directory.path + "/data/relay.sqlite"
    do {
      let db = try SQLiteDatabase(path: path, create: false)
      try db.execute(
        "CREATE UNIQUE INDEX entry_id ON entry (journal, id); PRAGMA user_version = 3;")
      db.close()
    }
    try relay.start(port: relay.port)
    let log = try Wire.splitBatch(try admin.exportLog()).map { try Entry(decoding: Array($0)) }
    let adminKey = try #require(admin.unlockedSecrets).signing
    let carrier = try RelayClient(
      url: relay.url, journal: log[0].header.journal, device: adminKey,
      transport: URLSessionTransport(), clock: { Store.wallClock() })
    for entry in [log[0], log[log.count - 1]] {
      guard
        case .answer(let response) = await carrier.send(
          "GET", carrier.journalPath + "/entries/" + entry.id.hex)
      else {
        Issue.record("the relay did not answer")
        return
      }
      #expect(response.status == 200)
      #expect(response.body == entry.encoded)
    }
    guard
      case .answer(let fetched) = await carrier.send(
        "POST", carrier.journalPath + "/entries/fetch", body: Wire.encodeIDs(log.map(\.id)))
    else {
      Issue.record("the relay did not answer")
      return
    }
    #expect(try Wire.decodeBatch(fetched.body).map(\.id) == log.map(\.id))
    try worker.addNote(.phoneCall, text: "after the upgrade", in: caseID)
    #expect(try await worker.sync(relay: relay.url).isClean)
    #expect(try await admin.sync(relay: relay.url).isClean)
    #expect(try admin.state.digest == worker.state.digest)
    let db = try SQLiteDatabase(path: path, create: false)
    #expect(try db.scalarText("PRAGMA user_version") == "4")
    #expect(
      try db.scalarText("SELECT count(*) FROM sqlite_master WHERE name = 'entry_id'") == "0")
  }
}
