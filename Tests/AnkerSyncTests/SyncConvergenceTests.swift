import Anker
import AnkerCrypto
import AnkerLog
import AnkerModel
import AnkerSync
import Foundation
import Testing

/// Three laptops write offline and sync in random orders and interleavings (some syncs run
/// at the same time) against one real relay: they must end with identical state digests.
@Suite(.serialized) struct SyncConvergenceTests {
  static let schedules =
    Int(ProcessInfo.processInfo.environment["ANKER_SYNC_SCHEDULES"] ?? "") ?? 52

  @Test func threeLaptopsConvergeWhateverTheSchedule() async throws {
    let directory = TemporaryDirectory()
    defer { directory.cleanUp() }
    let relay = try RelayProcess(directory: directory.path)
    defer { relay.stop() }
    for seed in 0..<UInt64(Self.schedules) {
      try await runSchedule(seed: seed, in: directory.path + "/s\(seed)", relay: relay.url)
    }
  }

  private func runSchedule(seed: UInt64, in path: String, relay: String) async throws {
    var random = SeededRandom(seed: seed)
    let team = try await makeTeam(in: path, relay: relay, workers: 2)
    let client = try team[0].createClient(alias: "Client \(seed)", code: "C-\(seed)", languages: [])
    let shared = try team[0].createCase(type: .outreach, client: client)
    for journal in team { _ = try await journal.sync(relay: relay) }
    var cases = [shared]
    for step in 0..<14 {
      let device = team[Int(random.next() % 3)]
      switch random.next() % 6 {
      case 0, 1:
        let caseID = cases[Int(random.next() % UInt64(cases.count))]
        // Another laptop's new case is only known once synced there.
        if (try? device.state.cases[caseID]) != nil {
          try device.addNote(.supportTalk, text: "note \(seed)-\(step)", in: caseID)
        }
      case 2:
        // Concurrent edits of one field become a visible conflict, never a silent loss.
        try device.setField(CaseField.workerInCharge, to: "W\(step)", in: shared)
      case 3:
        let other = try device.createClient(alias: "A\(step)", code: "K\(step)", languages: [])
        cases.append(try device.createCase(type: .dropIn, client: other))
      default:
        // Some laptops sync at the same time.
        let chosen = team.filter { _ in random.next() % 2 == 0 }
        try await withThrowingTaskGroup(of: Void.self) { group in
          for journal in chosen { group.addTask { _ = try await journal.sync(relay: relay) } }
          try await group.waitForAll()
        }
      }
    }
    for _ in 0..<2 {
      for journal in team.shuffled(using: &random) { _ = try await journal.sync(relay: relay) }
    }
    let digests = try team.map { try $0.state.digest }
    #expect(Set(digests).count == 1, "schedule \(seed) did not converge")
    let counts = try team.map(entryCount)
    #expect(Set(counts).count == 1, "schedule \(seed): laptops hold different entries")
    for journal in team { journal.lock() }
  }
}
