import Foundation
import Testing

/// A whole field day through the built binaries, as the people at a shelter would run them:
/// a relay; the coordinator's laptop creates the journal; two workers join; all three write
/// offline while the relay is down; they sync; a concurrent safety-field edit shows as a
/// conflict and is resolved; a worker's laptop is revoked and reads nothing new; a case is
/// shredded. Note text never appears in a failure message.
@Suite(.serialized) struct FieldDayTests {
  @Test(.timeLimit(.minutes(5))) func aFieldDay() throws {
    let scratch = Scratch()
    defer { scratch.cleanUp() }
    let relay = try Relay(directory: scratch.path)
    defer { relay.stop() }

    // The coordinator's laptop creates the journal; the paper key goes to a descriptor.
    let admin = Laptop(directory: scratch.path + "/admin", passphrase: "coordinator passphrase")
    defer { admin.lock() }
    let created = try admin.anker([
      "init", "--name", "Coordinator", "--passphrase-fd", "0", "--recovery-key-fd", "1",
    ])
    let paperKey = created.stdout.split(separator: "\n").first.map(String.init) ?? ""
    #expect(paperKey.split(separator: "-").count >= 8, "no paper key came out of init")
    try admin.anker(["sync", "--relay", relay.url])
    let status = try admin.anker(["status"]).stdout
    let journalID = try #require(value(after: "Journal:", in: status))
    #expect(value(after: "Genesis:", in: status)?.count == 64)

    // Two workers join with invites: the coordinator makes a one-time code, the laptop
    // joins with it, both fingerprints are compared, the coordinator accepts.
    var workers = [Laptop]()
    for index in 1...2 {
      let worker = Laptop(
        directory: scratch.path + "/worker\(index)", passphrase: "worker \(index) passphrase")
      let shown = try enrol(worker, by: admin, relay: relay.url, name: "Worker \(index)")
      #expect(shown.adminShown != nil && shown.adminShown == shown.adminOnLaptop)
      let laptopPrint = try #require(shown.laptopShown)
      #expect(shown.accepted.contains("New laptop's fingerprint: \(laptopPrint)"))
      #expect(shown.joined.contains("Joined the journal"))
      let code = shown.code
      // The code worked once.
      let again = Laptop(directory: scratch.path + "/again\(index)", passphrase: "another one")
      let reused = try again.anker(
        ["join", "--relay", relay.url, "--code-fd", "0", "--passphrase-fd", "0", "--wait", "0"],
        stdin: code + "\n" + again.passphrase + "\n", expect: 5)
      #expect(reused.stderr.contains("anker: error:"))
      again.lock()
      workers.append(worker)
    }
    defer { for worker in workers { worker.lock() } }
    let (first, second) = (workers[0], workers[1])

    // The coordinator opens a case for a client and everyone gets it.
    try admin.anker(["client", "new", "--alias", "Rose", "--code", "R-17"])
    let opened = try admin.anker(["case", "new", "--type", "outreach", "--client", "R-17"])
    let caseID = try #require(
      opened.stdout.split(separator: " ").dropFirst().first.map(String.init))
    try admin.anker(["sync"])
    for worker in workers { try worker.anker(["sync"]) }

    // The relay goes down; everyone writes offline.
    relay.stop()
    let written = [
      (first, "outreach-contact", "Met at the station at night; she wants to talk again."),
      (second, "support-talk", "Support talk at the office about housing."),
      (admin, "accompaniment-police", "Went with her to the police to report."),
    ]
    for (laptop, kind, text) in written {
      try laptop.anker(["note", "add", caseID, "--kind", kind], stdin: text)
    }
    try second.anker(
      [
        "risk", caseID, "--instrument", "DASH", "--version", "2009", "--judgement", "high",
        "--score", "14",
      ], stdin: "q1=yes\nq2=unknown\n")
    // The same safety field, set differently on two laptops.
    try first.anker(["case", "set", caseID, "riskLevel", "high"])
    try second.anker(["case", "set", caseID, "riskLevel", "medium"])
    let offline = try first.anker(["sync"], expect: 4)
    #expect(offline.stderr.contains("anker: error:"), "an offline sync says so")

    // The relay is back: everyone syncs twice round.
    try relay.start()
    // Progress goes to stderr while a sync runs (counts only).
    let shown = try first.anker(["sync", "--progress", "always"])
    #expect(shown.stderr.contains("anker: sending:"), "no progress was shown")
    #expect(shown.stdout.contains("Synced:"))
    for _ in 0..<2 {
      for laptop in [first, second, admin] { try laptop.anker(["sync"]) }
    }
    let conflicted = try admin.anker(["status"]).stdout
    #expect(conflicted.contains("riskLevel (safety"), "the concurrent edit is not a conflict")
    try admin.anker(["case", "resolve", caseID, "riskLevel", "high"])
    try admin.anker(["sync"])
    for worker in workers { try worker.anker(["sync"]) }
    for laptop in [first, second, admin] {
      let shown = try laptop.anker(["case", "show", caseID]).stdout
      // Checks on case output are Bools first, so a failure never prints note text.
      let resolved = shown.contains("riskLevel: high") && !shown.contains("CONFLICT")
      #expect(resolved, "the conflict is not resolved on a laptop")
      for (_, _, text) in written {
        let present = shown.contains(text)
        #expect(present, "a note written offline is missing on a laptop")
      }
      let assessed = shown.contains("risk assessment (DASH 2009)")
      #expect(assessed, "the risk assessment is missing on a laptop")
    }

    // The second worker's laptop is revoked: its requests are refused, and what is written
    // afterwards never reaches it.
    let fingerprint = try #require(
      try second.anker(["devices", "list"]).stdout.split(separator: "\n")
        .first { $0.contains("(this laptop)") }?
        .split(separator: " ").dropFirst().first.map(String.init))
    try admin.anker(["devices", "revoke", fingerprint])
    try admin.anker(["sync"])
    try admin.anker(["note", "add", caseID, "--kind", "phone-call"], stdin: "Called after revoke.")
    try admin.anker(["sync"])
    let refused = try second.anker(["sync"], expect: 4)
    #expect(refused.stderr.contains("removed"), "the revoked laptop is not told why")
    let stale = try second.anker(["case", "show", caseID]).stdout
    let leaked = stale.contains("Called after revoke.")
    #expect(!leaked, "a revoked laptop read a new note")
    try first.anker(["sync"])
    let reached = try first.anker(["case", "show", caseID]).stdout.contains("Called after revoke.")
    #expect(reached, "a note written after the revocation did not reach a member")

    // A second case is shredded; it disappears for everyone.
    let doomed = try admin.anker(["case", "new", "--type", "phone-line"])
    let doomedID = try #require(
      doomed.stdout.split(separator: " ").dropFirst().first.map(String.init))
    try admin.anker(["note", "add", doomedID, "--kind", "phone-call"], stdin: "To be shredded.")
    try admin.anker(["sync"])
    try first.anker(["sync"])
    #expect(try first.anker(["case", "list"]).stdout.contains(doomedID))
    try admin.anker(["case", "shred", doomedID, "--yes"])
    try admin.anker(["sync"])
    try first.anker(["sync"])
    #expect(!(try first.anker(["case", "list"]).stdout.contains(doomedID)))
    let counts = try first.anker(["stats"]).stdout
    #expect(counts.contains("outreach-contact 1") && counts.contains("support-talk 1"))

    // Every laptop is lost: with the paper key alone, anker-restore takes the journal from
    // the relay, checks it, and its export holds what the workers wrote, minus the shred.
    for laptop in [first, second, admin] { laptop.lock() }
    try FileManager.default.removeItem(atPath: admin.directory)
    for worker in workers { try FileManager.default.removeItem(atPath: worker.directory) }
    let source = [
      "--relay", relay.url, "--journal", journalID, "--recovery-key-fd", "0",
    ]
    let verified = try run("anker-restore", ["verify"] + source, stdin: paperKey + "\n")
    #expect(verified.status == 0, "anker-restore verify: \(verified.stderr)")
    let exportFolder = scratch.path + "/restored"
    let exported = try run(
      "anker-restore", ["export", "--to", exportFolder] + source, stdin: paperKey + "\n")
    #expect(exported.status == 0, "anker-restore export: \(exported.stderr)")
    let files = try FileManager.default.contentsOfDirectory(atPath: exportFolder)
    let markdown = try files.filter { $0.hasSuffix(".md") }.map {
      try String(contentsOfFile: exportFolder + "/" + $0, encoding: .utf8)
    }
    #expect(markdown.count == 1, "the export holds \(markdown.count) cases, not the one kept")
    let restored = markdown.joined()
    for (_, _, text) in written {
      let present = restored.contains(text)
      #expect(present, "a note is missing from the restored export")
    }
    let late = restored.contains("Called after revoke.")
    #expect(late, "the note written after the revocation is missing from the export")
    let shredded = restored.contains("To be shredded.")
    #expect(!shredded, "the shredded case came back")
    #expect(!files.contains { $0.contains(doomedID) })
  }
}
