import Anker
import AnkerCrypto
import AnkerLog
import AnkerModel
import AnkerSync
import Foundation
import Testing

@Suite(.serialized) struct RelayServiceTests {
  /// An entry refused by the relay (here: over the journal's quota) stays in the writer's
  /// outbox, is named, and is left out of the writer's attestation (so no honest relay is
  /// accused). Then a lying relay drops an entry it had stored and a device had attested:
  /// another laptop names the relay as withholding it, and every sync finishes.
  @Test func refusedAndWithheldEntriesAreNamedAndSyncsFinish() async throws {
    let directory = TemporaryDirectory()
    defer { directory.cleanUp() }
    let relay = try RelayProcess(directory: directory.path, arguments: ["--quota", "40000"])
    defer { relay.stop() }
    let team = try await makeTeam(in: directory.path, relay: relay.url, workers: 1)
    let (admin, worker) = (team[0], team[1])
    let client = try worker.createClient(alias: "Grey", code: "G-2", languages: [])
    let caseID = try worker.createCase(type: .outreach, client: client)
    _ = try await worker.sync(relay: relay.url)
    let long = String(repeating: "a long note ", count: 3000)
    let big = try worker.addNote(.supportTalk, text: long, in: caseID)
    let report = try await worker.sync(relay: relay.url)
    let refused = report.faults.contains {
      if case .refused(_, let ids, "quotaExceeded") = $0 { return ids.contains(big) }
      return false
    }
    #expect(refused)
    let honest = try await admin.sync(relay: relay.url)
    #expect(honest.isClean, "an honest relay was accused")

    // Without the quota, the next note reaches the relay and the worker attests it.
    relay.stop()
    relay.extraArguments = []
    try relay.start(port: relay.port)
    let note = try worker.addNote(.phoneCall, text: "short", in: caseID)
    _ = try await worker.sync(relay: relay.url)
    // The relay now loses the newest entries it stored (as a lying one would hide them).
    relay.stop()
    let database = directory.path + "/data/relay.sqlite"
    let python = Process()
    python.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    python.arguments = [
      "python3", "-c",
      """
      import sqlite3, sys
      db = sqlite3.connect(sys.argv[1])
      head = db.execute('SELECT head FROM journal').fetchone()[0]
      db.execute('DELETE FROM entry WHERE seq > ?', (head - 2,))
      chain = db.execute('SELECT chain FROM entry WHERE seq = ?', (head - 2,)).fetchone()[0]
      db.execute('UPDATE journal SET head = ?, chain = ?', (head - 2, chain))
      db.commit()
      """,
      database,
    ]
    try python.run()
    python.waitUntilExit()
    try #require(python.terminationStatus == 0)
    try relay.start(port: relay.port)
    let seen = try await admin.sync(relay: relay.url)
    let withheld = seen.faults.contains {
      if case .withheld(let name, let ids) = $0 { return name == relay.url && ids.contains(note) }
      return false
    }
    #expect(withheld)
    #expect(try admin.state.cases[caseID] != nil)
    // The worker notices the relay went back, and repairs it; then the admin gets it all.
    let repaired = try await worker.sync(relay: relay.url)
    #expect(repaired.faults.contains { if case .rollback = $0 { true } else { false } })
    _ = try await admin.sync(relay: relay.url)
    #expect(try admin.state.cases[caseID]?.notes[note] != nil)
  }

  /// `/health`, `/metrics` and `/v1/relay` answer; metrics count stores and rejections.
  @Test func healthAndMetrics() async throws {
    let setup = try await RelayTeam.start(workers: 1)
    defer { setup.stop() }
    let (relay, team) = (setup.relay, setup.team)
    try team[0].removeDevice(try team[1].device.key)
    _ = try await team[0].sync(relay: relay.url)
    _ = try? await team[1].sync(relay: relay.url)
    let transport = URLSessionTransport(timeoutSeconds: 10)
    let health = try await transport.send(
      .init(method: "GET", url: relay.url + "/health", headers: [], body: []))
    #expect(health.status == 200)
    #expect(String(decoding: health.body, as: UTF8.self).contains("\"ok\""))
    let metrics = try await transport.send(
      .init(method: "GET", url: relay.url + "/metrics", headers: [], body: []))
    let text = String(decoding: metrics.body, as: UTF8.self)
    #expect(metrics.status == 200)
    #expect(text.contains("anker_relay_entries_stored_total"))
    #expect(text.contains("anker_relay_rejections_total{reason=\"revoked\"}"))
    #expect(text.contains("anker_relay_push_seconds_bucket"))
    // No journal ids or device keys in the figures.
    let journal = try team[0].identity.journal.hex
    #expect(!text.contains(journal))
    #expect(!text.contains(try team[1].device.key.digest.hex))
  }

  /// Without TLS the relay refuses to listen beyond loopback; with a certificate it serves
  /// HTTPS.
  @Test func tlsIsRequiredBeyondLoopback() throws {
    let directory = TemporaryDirectory()
    defer { directory.cleanUp() }
    let status = try RelayProcess.tool([
      "serve", "--host", "0.0.0.0", "--port", "0", "--data", directory.path + "/data",
    ])
    #expect(status != 0)
    let certificate = directory.path + "/cert.pem"
    let key = directory.path + "/key.pem"
    let openssl = Process()
    openssl.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
    openssl.arguments = [
      "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
      "-keyout", key, "-out", certificate, "-days", "1", "-subj", "/CN=127.0.0.1", "-addext",
      "subjectAltName=IP:127.0.0.1",
    ]
    openssl.standardOutput = FileHandle.nullDevice
    openssl.standardError = FileHandle.nullDevice
    try openssl.run()
    openssl.waitUntilExit()
    try #require(openssl.terminationStatus == 0)
    let relay = try RelayProcess(
      directory: directory.path, arguments: ["--tls-certificate", certificate, "--tls-key", key])
    defer { relay.stop() }
    let curl = Process()
    curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
    curl.arguments = [
      "-s", "--noproxy", "*", "--cacert", certificate, "https://127.0.0.1:\(relay.port)/health",
    ]
    let output = Pipe()
    curl.standardOutput = output
    curl.standardError = FileHandle.nullDevice
    try curl.run()
    curl.waitUntilExit()
    let body = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    #expect(curl.terminationStatus == 0)
    #expect(body.contains("\"ok\""))
  }
}
