import Anker
import AnkerCrypto
import AnkerLog
import AnkerModel
import AnkerSync
import Foundation
import Testing

/// Laptops sync through a proxy that drops, reorders, duplicates, delays, truncates and flips
/// bytes. Each sync either succeeds or stops with a named error, in bounded time; no laptop
/// ever takes a wrong state; once the network is clean they all converge.
@Suite(.serialized) struct FaultProxyTests {
  static let seeds = UInt64(ProcessInfo.processInfo.environment["ANKER_PROXY_SEEDS"] ?? "") ?? 6

  @Test func laptopsConvergeThroughAFaultyNetwork() async throws {
    for seed in 0..<Self.seeds {
      try await run(seed: seed)
    }
  }

  private func run(seed: UInt64) async throws {
    let directory = TemporaryDirectory()
    defer { directory.cleanUp() }
    let relay = try RelayProcess(directory: directory.path)
    defer { relay.stop() }
    // The relay must sign-check the origin the laptops use: the proxy's.
    var clean = try FaultProxy(upstream: relay.port, seed: seed, faults: "none", rate: 0)
    let proxyPort = clean.port
    relay.stop()
    relay.extraArguments = ["--origin", clean.url]
    try relay.start(port: relay.port)
    let team = try await makeTeam(in: directory.path, relay: clean.url, workers: 2)
    let client = try team[0].createClient(alias: "Violet", code: "V-\(seed)", languages: [])
    let caseID = try team[0].createCase(type: .outreach, client: client)
    for journal in team { _ = try await journal.sync(relay: clean.url) }
    clean.stop()

    let faulty = try FaultProxy(
      upstream: relay.port, port: proxyPort, seed: seed,
      faults: "drop,reorder,duplicate,delay,truncate,flip", rate: 0.35)
    var options = SyncSession<JournalSyncLocal>.Options()
    options.pushBatch = 7
    options.pageSize = 9
    options.retryPause = .milliseconds(10)
    var random = SeededRandom(seed: seed)
    var named = 0
    for round in 0..<4 {
      for (index, journal) in team.enumerated() {
        for note in 0..<(5 + Int(random.next() % 10)) {
          try journal.addNote(.phoneCall, text: "r\(round) d\(index) n\(note)", in: caseID)
        }
        try journal.setField(CaseField.workerInCharge, to: "d\(index) r\(round)", in: caseID)
      }
      for journal in team.shuffled(using: &random) {
        let started = Date()
        do {
          let report = try await journal.sync(
            relay: faulty.url, transport: URLSessionTransport(timeoutSeconds: 5), options: options)
          named += report.faults.count
        } catch {
          // A stop is always a named sync error, never anything else.
          let isSync = error.code == .sync && error.cause is SyncError
          #expect(isSync)
          named += 1
        }
        #expect(Date().timeIntervalSince(started) < 120, "a sync took too long (seed \(seed))")
        // Never a wrong state: what a laptop holds always verifies and evaluates clean.
        try journal.verify()
        #expect(try journal.state.faults.isEmpty)
      }
    }
    faulty.stop()
    clean = try FaultProxy(
      upstream: relay.port, port: proxyPort, seed: seed, faults: "none", rate: 0)
    defer { clean.stop() }
    for _ in 0..<2 {
      for journal in team { _ = try await syncEventually(journal, relay: clean.url, tries: 5) }
    }
    let digests = try team.map { try $0.state.digest }
    #expect(Set(digests).count == 1, "seed \(seed) did not converge")
    #expect(Set(try team.map(entryCount)).count == 1)
    let notes = try team[0].state.cases[caseID]?.notes.count ?? 0
    #expect(notes >= 3 * 4 * 5)
    #expect(named > 0, "seed \(seed): the faults left no trace at all")
    for journal in team { journal.lock() }
  }
}
