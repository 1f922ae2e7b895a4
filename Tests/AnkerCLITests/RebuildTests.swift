import Foundation
import Testing

/// `anker-restore rebuild` through the built binaries (DESIGN rule 3): the paper key's
/// authority enrols a new admin laptop, which counts only after the time lock and which any
/// admin laptop can veto. The lock (72 hours) is passed with the test-only clock offset,
/// given to the relay (restarted on the same data) and to every program run after it.
///
/// Outputs may hold names and note text, so every check is a plain Bool computed first: a
/// failing `#expect` then prints neither the output nor what was looked for. Only stderr of
/// a failed command (which carries no content) and exit codes are printed.
@Suite(.serialized) struct RebuildTests {
  /// 73 hours: past the default 72-hour time lock.
  static let later = ["ANKER_TESTING_ONLY_CLOCK_OFFSET_SECONDS": String(73 * 3600)]

  /// A relay and a coordinator's laptop with a journal on it; returns the paper key and the
  /// journal id.
  func startJournal(_ scratch: Scratch, _ relay: Relay) throws -> (Laptop, String, String) {
    let admin = Laptop(directory: scratch.path + "/admin", passphrase: "coordinator passphrase")
    let created = try admin.anker([
      "init", "--name", "Coordinator", "--passphrase-fd", "0", "--recovery-key-fd", "1",
    ])
    let paperKey = created.stdout.split(separator: "\n").first.map(String.init) ?? ""
    let looksLikeAKey = paperKey.split(separator: "-").count >= 8
    #expect(looksLikeAKey, "no paper key came out of init")
    try admin.anker(["sync", "--relay", relay.url])
    let journalID = try #require(value(after: "Journal:", in: try admin.anker(["status"]).stdout))
    return (admin, paperKey, journalID)
  }

  /// `anker-restore` with the paper key, then the passphrase, on standard input.
  func restore(
    _ arguments: [String], paperKey: String, passphrase: String,
    environment: [String: String] = [:]
  ) throws -> Outcome {
    try run(
      "anker-restore", arguments + ["--recovery-key-fd", "0", "--passphrase-fd", "0"],
      stdin: paperKey + "\n" + passphrase + "\n", environment: environment)
  }

  @Test(.timeLimit(.minutes(3))) func everyLaptopIsLostAndANewAdminWaitsOutTheLock() throws {
    let scratch = Scratch()
    defer { scratch.cleanUp() }
    let relay = try Relay(directory: scratch.path)
    defer { relay.stop() }
    let (admin, paperKey, journalID) = try startJournal(scratch, relay)
    defer { admin.lock() }

    // A worker joins; both write; everything is on the relay.
    let worker = Laptop(directory: scratch.path + "/worker", passphrase: "worker passphrase")
    defer { worker.lock() }
    try enrol(worker, by: admin, relay: relay.url, name: "Worker")
    try admin.anker(["client", "new", "--alias", "Rose", "--code", "R-17"])
    let opened = try admin.anker(["case", "new", "--type", "outreach", "--client", "R-17"])
    let caseID = try #require(
      opened.stdout.split(separator: " ").dropFirst().first.map(String.init))
    let texts = [
      "Met her at the drop-in; she wants to leave him.",
      "Called the shelter about a room for her and the children.",
    ]
    try admin.anker(["note", "add", caseID, "--kind", "outreach-contact"], stdin: texts[0])
    try admin.anker(["sync"])
    try worker.anker(["sync"])
    try worker.anker(["note", "add", caseID, "--kind", "phone-call"], stdin: texts[1])
    try worker.anker(["sync"])
    let lost = try admin.anker(["devices", "list"]).stdout
    let adminFingerprint = try #require(
      lost.split(separator: "\n").first { $0.contains("(this laptop)") }?
        .split(separator: " ").dropFirst().first.map(String.init))

    // Every laptop is lost.
    admin.lock()
    worker.lock()
    try FileManager.default.removeItem(atPath: admin.directory)
    try FileManager.default.removeItem(atPath: worker.directory)

    // The coordinator rebuilds on a new laptop with the paper key.
    let fresh = Laptop(directory: scratch.path + "/new", passphrase: "new laptop passphrase")
    defer { fresh.lock() }
    let rebuilt = try restore(
      [
        "rebuild", "--relay", relay.url, "--journal", journalID, "--to", fresh.directory,
        "--name", "New coordinator",
      ], paperKey: paperKey, passphrase: fresh.passphrase)
    #expect(rebuilt.status == 0, "rebuild exited \(rebuilt.status): \(rebuilt.stderr)")
    let clean = rebuilt.stdout.contains("result              clean")
    #expect(clean, "the checks of rebuild were not clean")
    let effective = try #require(value(after: "takes effect", in: rebuilt.stdout))
    let when = String(effective.prefix { $0 != "(" }).trimmingCharacters(in: .whitespaces)
    let inUTC = when.hasSuffix("UTC")
    #expect(inUTC, "rebuild does not say when the enrolment takes effect")
    let saysVeto = rebuilt.stdout.contains("anker devices veto")
    #expect(saysVeto, "rebuild does not say how an admin vetoes")
    let printedName = rebuilt.stdout.contains("New coordinator")
    #expect(!printedName, "rebuild printed a person's name")

    // While the lock runs: sync is refused (exit 4) naming when it ends; nothing is readable.
    try fresh.anker(["unlock", "--passphrase-fd", "0"])
    let waiting = try fresh.anker(["sync"], expect: 4)
    let namesTheEnd = waiting.stderr.contains("time lock") && waiting.stderr.contains(when)
    #expect(namesTheEnd, "the refused sync does not say when the lock ends: \(waiting.stderr)")
    let toldSo = try fresh.anker(["status"]).stdout.contains("THIS LAPTOP was enrolled")
    #expect(toldSo, "status on the enrolled laptop does not say it waits")
    let listedEarly = try fresh.anker(["case", "list"]).stdout.contains(caseID)
    #expect(!listedEarly, "the new laptop lists the case before the lock ran out")
    let tooSoon = try restore(
      ["rebuild", "--finish", "--to", fresh.directory], paperKey: paperKey,
      passphrase: fresh.passphrase)
    #expect(tooSoon.status == 5, "finish before the lock exited \(tooSoon.status)")
    let explained = tooSoon.stderr.contains("time lock")
    #expect(explained, "finish before the lock does not say why: \(tooSoon.stderr)")

    // 73 hours later (by every clock): the relay admits the laptop, and --finish hands it
    // the keys.
    relay.stop()
    relay.environment = Self.later
    try relay.start()
    var later = fresh
    later.environment = Self.later
    let pointsOn = try later.anker(["sync"]).stdout.contains("rebuild --finish")
    #expect(pointsOn, "sync after the lock does not point to --finish")
    let finished = try restore(
      ["rebuild", "--finish", "--to", fresh.directory], paperKey: paperKey,
      passphrase: fresh.passphrase, environment: Self.later)
    #expect(finished.status == 0, "finish exited \(finished.status): \(finished.stderr)")
    let readable = finished.stdout.contains("1 case(s) readable")
    #expect(readable, "finish does not report the one case readable")
    let namesLost = finished.stdout.contains("anker devices revoke \(adminFingerprint)")
    #expect(namesLost, "finish does not list the lost admin laptop to revoke")

    // The new admin reads every note written before, writes, syncs, revokes a lost laptop.
    let listed = try later.anker(["case", "list"]).stdout.contains(caseID)
    #expect(listed, "the new admin does not list the case")
    let shown = try later.anker(["case", "show", caseID]).stdout
    let readsAll = texts.allSatisfy { shown.contains($0) }
    #expect(readsAll, "a note written before the loss is missing on the new admin laptop")
    try later.anker(["note", "add", caseID, "--kind", "phone-call"], stdin: "After the rebuild.")
    try later.anker(["sync"])
    try later.anker(["devices", "revoke", adminFingerprint])
    try later.anker(["sync"])
    let devices = try later.anker(["devices", "list"]).stdout
    let namedAdmin = devices.contains("New coordinator (admin)")
    #expect(namedAdmin, "the new person is not named, or not an admin")
    let revoked = devices.split(separator: "\n").contains {
      $0.contains(adminFingerprint) && $0.contains("REVOKED")
    }
    #expect(revoked, "the lost laptop is not shown revoked")
    let admitted = devices.contains("admitted")
    #expect(admitted, "the enrolment is not shown admitted")
    let wrote = try later.anker(["case", "show", caseID]).stdout.contains("After the rebuild.")
    #expect(wrote, "the new admin's own note is missing")

    // Nothing of the paper key, the passphrase or a note lies in the new laptop's folder.
    later.lock()
    let secrets = [paperKey, fresh.passphrase] + texts
    let leaked = try FileManager.default.subpathsOfDirectory(atPath: fresh.directory).contains {
      path in
      guard let data = FileManager.default.contents(atPath: fresh.directory + "/" + path) else {
        return false
      }
      return secrets.contains { data.range(of: Data($0.utf8)) != nil }
    }
    #expect(!leaked, "a secret or a note is in the clear in the new laptop's folder")
  }

  @Test(.timeLimit(.minutes(3))) func anAdminLaptopVetoesTheEnrolment() throws {
    let scratch = Scratch()
    defer { scratch.cleanUp() }
    let relay = try Relay(directory: scratch.path)
    defer { relay.stop() }
    let (admin, paperKey, journalID) = try startJournal(scratch, relay)
    defer { admin.lock() }
    let opened = try admin.anker(["case", "new", "--type", "outreach"])
    let caseID = try #require(
      opened.stdout.split(separator: " ").dropFirst().first.map(String.init))
    let text = "Accompanied her to the hospital."
    try admin.anker(["note", "add", caseID, "--kind", "accompaniment-hospital"], stdin: text)
    try admin.anker(["sync"])

    // Someone with the paper key enrols a laptop while the admin's still exists.
    let intruder = Laptop(directory: scratch.path + "/other", passphrase: "other passphrase")
    defer { intruder.lock() }
    let rebuilt = try restore(
      [
        "rebuild", "--relay", relay.url, "--journal", journalID, "--to", intruder.directory,
        "--name", "Someone",
      ], paperKey: paperKey, passphrase: intruder.passphrase)
    #expect(rebuilt.status == 0, "rebuild exited \(rebuilt.status): \(rebuilt.stderr)")
    let enrolment = try #require(
      value(after: "enrolment", in: rebuilt.stdout)?.split(separator: " ").first)
    let short = String(enrolment.prefix(8))

    // The admin's next sync and status alert loudly, with the veto command.
    let alerted = try admin.anker(["sync"]).stdout.contains("RECOVERY ENROLMENT PENDING")
    #expect(alerted, "the admin's sync does not alert")
    let status = try admin.anker(["status"]).stdout
    let statusAlerts =
      status.contains("RECOVERY ENROLMENT PENDING")
      && status.contains("anker devices veto \(short)")
    #expect(statusAlerts, "the admin's status does not alert with the veto command")
    let pendingListed = try admin.anker(["devices", "list"]).stdout.split(separator: "\n")
      .contains { $0.contains(short) && $0.contains("PENDING") }
    #expect(pendingListed, "devices list does not show the pending enrolment")

    // The admin vetoes and syncs.
    let vetoed = try admin.anker(["devices", "veto", short]).stdout.contains("Vetoed")
    #expect(vetoed, "the veto was not confirmed")
    try admin.anker(["sync"])
    let stillAlerting = try admin.anker(["status"]).stdout.contains("RECOVERY ENROLMENT PENDING")
    #expect(!stillAlerting, "status still alerts after the veto")
    let vetoListed = try admin.anker(["devices", "list"]).stdout.contains("VETOED")
    #expect(vetoListed, "devices list does not show the veto")

    // The enrolled laptop is refused now and after the lock; it never becomes an admin.
    try intruder.anker(["unlock", "--passphrase-fd", "0"])
    let refused = try intruder.anker(["sync"], expect: 4)
    let saysVetoed = refused.stderr.contains("VETOED")
    #expect(saysVetoed, "the refused sync does not say vetoed: \(refused.stderr)")
    relay.stop()
    relay.environment = Self.later
    try relay.start()
    var late = intruder
    late.environment = Self.later
    let stillRefused = try late.anker(["sync"], expect: 4)
    let saysVetoedLater = stillRefused.stderr.contains("VETOED")
    #expect(saysVetoedLater, "after the lock, sync does not say vetoed: \(stillRefused.stderr)")
    let finish = try restore(
      ["rebuild", "--finish", "--to", intruder.directory], paperKey: paperKey,
      passphrase: intruder.passphrase, environment: Self.later)
    #expect(finish.status == 5, "finish after a veto exited \(finish.status)")
    let finishSaysVetoed = finish.stderr.contains("VETOED")
    #expect(finishSaysVetoed, "finish after a veto does not say so: \(finish.stderr)")
    let reads = try late.anker(["case", "list"]).stdout.contains(caseID)
    #expect(!reads, "the vetoed laptop lists the case")
    var adminLater = admin
    adminLater.environment = Self.later
    try adminLater.anker(["sync"])
    let devices = try adminLater.anker(["devices", "list"]).stdout
    let shownVetoed = devices.contains("VETOED") && !devices.contains("admitted")
    #expect(shownVetoed, "after the lock, the enrolment is not shown vetoed")
    let laptops = devices.split(separator: "\n").filter { $0.hasPrefix("  laptop") }.count
    #expect(laptops == 1, "\(laptops) member laptops, not the admin's alone")
  }
}
