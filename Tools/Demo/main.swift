import Anker
import AnkerCrypto
import AnkerModel
import AnkerSync
import Foundation

/// The main job's worker flow (`Tools/run`): two laptops, offline notes, a sync through a
/// real relay, and one concurrent edit shown as a conflict, then resolved. It prints what
/// happens, never note text, names or keys.
@main
struct Demo {
  static func main() async {
    let arguments = CommandLine.arguments
    guard arguments.count == 3 else {
      FileHandle.standardError.write(Data("usage: anker-demo RELAY-URL WORK-DIRECTORY\n".utf8))
      exit(2)
    }
    do {
      try await run(relay: arguments[1], directory: arguments[2])
    } catch {
      FileHandle.standardError.write(Data("anker-demo: \(error)\n".utf8))
      exit(1)
    }
  }

  static func say(_ line: String) { print(line) }

  static func run(relay: String, directory: String) async throws {
    let options = Journal.Options(passphraseCost: .interactive, idleTimeoutSeconds: nil)
    try? FileManager.default.removeItem(atPath: directory)
    say("== relay \(relay)")

    // The coordinator's laptop creates the journal. The paper recovery key would be printed
    // once for the safe; the demo does not show it.
    let (coordinator, _) = try Journal.create(
      at: directory + "/coordinator",
      passphrase: SecureBytes(copying: Array("demo: coordinator".utf8)),
      name: "Coordinator", options: options)
    say("coordinator laptop: journal created (paper recovery key set aside, not shown)")

    // A worker's laptop asks to join; the coordinator admits it and syncs.
    let (worker, request) = try Journal.prepareDevice(
      at: directory + "/worker", passphrase: SecureBytes(copying: Array("demo: worker".utf8)),
      options: options)
    say("worker laptop: device fingerprint \(request.fingerprint) (compare it on both screens)")
    try coordinator.addDevice(request, role: .worker, name: "Worker")
    let first = try await coordinator.sync(relay: relay)
    say("coordinator: synced, \(first.pushed) entries pushed")
    let identity = try coordinator.identity
    try await worker.join(relay: relay, journal: identity.journal, genesis: identity.genesis)
    say("worker: joined through the relay (genesis \(identity.genesis.short))")

    let client = try coordinator.createClient(alias: "Client A", code: "A-1", languages: ["sv"])
    let caseID = try coordinator.createCase(type: .outreach, client: client)
    _ = try await coordinator.sync(relay: relay)
    _ = try await worker.sync(relay: relay)
    say("coordinator: opened a case and synced; the worker has it")

    // Both laptops are offline now: no sync while they write.
    try worker.addNote(
      .outreachContact, text: "Met at the drop-in, wants to talk again.", in: caseID)
    try worker.addNote(.phoneCall, text: "Called back on the weekend line.", in: caseID)
    try coordinator.addNote(.supportTalk, text: "Support talk at the office.", in: caseID)
    try worker.setField(CaseField.riskLevel, to: "high", in: caseID)
    try coordinator.setField(CaseField.riskLevel, to: "medium", in: caseID)
    say("offline: the worker wrote 2 notes, the coordinator 1; both set the risk level")

    for (name, journal) in [("worker", worker), ("coordinator", coordinator), ("worker", worker)] {
      let report = try await journal.sync(relay: relay)
      say(
        "\(name): synced, \(report.pushed) pushed, \(report.received) received"
          + (report.isClean ? "" : ", relay faults: \(report.faults)"))
    }

    let seenByWorker = try worker.state.cases[caseID]
    let seenByCoordinator = try coordinator.state.cases[caseID]
    say(
      "notes on the case: worker sees \(seenByWorker?.notes.count ?? 0), "
        + "coordinator sees \(seenByCoordinator?.notes.count ?? 0)")
    let risk = seenByCoordinator?.fields[CaseField.riskLevel]
    say(
      "risk level: \(risk?.values.count ?? 0) concurrent values -> "
        + ((risk?.isConflict ?? false)
          ? "shown as a CONFLICT (safety-critical: never auto-resolved)" : "no conflict"))
    try coordinator.resolve(CaseField.riskLevel, to: "high", in: caseID)
    _ = try await coordinator.sync(relay: relay)
    _ = try await worker.sync(relay: relay)
    let resolved = try worker.state.cases[caseID]?.fields[CaseField.riskLevel]
    say("coordinator resolved it; the worker now sees \(resolved?.values.count ?? 0) value")
    let same = try worker.state.digest == coordinator.state.digest
    say(
      "both laptops: state digest \(try worker.state.digest.short) (\(same ? "identical" : "DIFFERENT"))"
    )
    worker.lock()
    coordinator.lock()
    guard same, risk?.isConflict == true, resolved?.values.count == 1 else {
      throw DemoError.unexpected
    }
    say("== done")
  }

  enum DemoError: Error { case unexpected }
}
