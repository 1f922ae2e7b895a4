import Anker
import AnkerCrypto
import AnkerLog
import AnkerModel
import AnkerStore
import AnkerSync
import ArgumentParser
import Foundation

struct Sync: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Exchange notes with colleagues through the relay.",
    discussion: """
      Sends what this laptop wrote, takes what others wrote, and says what came and went, \
      any conflicts to resolve and anything the relay did wrong. An interrupted sync loses \
      nothing: run it again.
      """)

  @OptionGroup var options: JournalOptions

  @Option(help: "The relay's address (remembered after the first sync).")
  var relay: String?

  @Option(
    help: "Progress on stderr: auto (once a sync takes over a second), always, or never.")
  var progress: ProgressLine.Mode = .auto

  func run() async throws {
    guard let relay = relay ?? RelayConfig.load(in: options.directory) else {
      throw CLIError(
        "no relay is set for this journal", hint: "give it once: anker sync --relay URL")
    }
    let journal = try options.openUnlocked()
    let progress = ProgressLine(mode: self.progress)
    var syncOptions = SyncSession<JournalSyncLocal>.Options()
    syncOptions.progress = { progress.update($0) }
    let report: SyncReport
    do {
      report = try await journal.sync(relay: relay, options: syncOptions)
      progress.finish()
    } catch {
      progress.finish()
      if let refusal = RecoveryAlert.refusal(error, in: journal, folder: options.directory) {
        throw refusal
      }
      throw error
    }
    RelayConfig.save(relay, in: options.directory)
    RelayConfig.saveLastSync(wallClock(), in: options.directory)
    print("Synced: \(report.pushed) sent, \(report.received) received.")
    for line in try RecoveryAlert.lines(journal, folder: options.directory) { print(line) }
    if try RecoveryAlert.needsFinish(journal) {
      print(
        "This laptop's recovery enrolment counts now: run `anker-restore rebuild --finish --to "
          + "\(options.directory)` with the paper key to receive the journal's keys.")
    }
    let conflicts = try journal.state.openConflicts
    if !conflicts.isEmpty {
      print("\(conflicts.count) conflict(s) to resolve (`anker status` lists them).")
    }
    for fault in report.faults {
      print("RELAY FAULT: \(fault)")
      // Two checkpoints the relay signed: keep them to show what it did (README).
      switch fault {
      case .rollback(_, _, _, let proof?), .fork(_, _, let proof?): print("  proof: \(proof.text)")
      default: break
      }
    }
    if !report.isClean { throw ExitCode(Exit.relayFault.rawValue) }
  }
}

struct Status: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "What is waiting: unsynced entries, last sync, conflicts, reviews due.")

  @OptionGroup var options: JournalOptions

  func run() async throws {
    let journal = try options.openUnlocked()
    let identity = try journal.identity
    let state = try journal.state
    for line in try RecoveryAlert.lines(journal, folder: options.directory) { print(line) }
    print("Journal:     \(identity.journal.hex)")
    print("Genesis:     \(identity.genesis.hex)")
    print("Relay:       \(RelayConfig.load(in: options.directory) ?? "none yet")")
    print(
      "Last sync:   \(RelayConfig.lastSync(in: options.directory).map(Format.time) ?? "never")")
    print("Unsynced:    \(try journal.unsyncedCount) entries")
    let readable = state.cases.values.filter(\.readable)
    print(
      "Cases:       \(readable.filter { !$0.isClosed }.count) open, "
        + "\(readable.filter(\.isClosed).count) closed")
    let conflicts = state.openConflicts
    print("Conflicts:   \(conflicts.count)")
    for conflict in conflicts {
      print(
        "  case \(conflict.caseID.description.prefix(8)) \(conflict.field)"
          + (conflict.isSafetyCritical ? " (safety: resolve it by hand)" : ""))
    }
    let due = state.reviewsDue(now: wallClock())
    print("Reviews due: \(due.count)")
    for item in due {
      print("  case \(item.caseID.description.prefix(8)) since \(Format.day(item.due))")
    }
    if !state.faults.isEmpty {
      print("Faults:      \(state.faults.count) (run `anker-restore verify`)")
    }
  }
}

struct Export: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Export one case for a subject-access request.",
    discussion: """
      Needs a consent recorded for the purpose (default subject-access) that is still valid, \
      or --override with a reason, which is written into the case. Protected fields (address, \
      safe contact, safety plan) are left out unless --include-protected and a colleague \
      approved it with `anker export approve`. The export is plaintext: keep it off shared \
      disks and delete it once handed over.
      """,
    subcommands: [ExportCase.self, ApproveExport.self], defaultSubcommand: ExportCase.self)
}

struct ExportCase: AsyncParsableCommand {
  static let configuration = CommandConfiguration(commandName: "case", abstract: "Export a case.")
  @OptionGroup var options: JournalOptions
  @Argument(help: "The case.") var caseID: String
  @Option(help: "markdown or json.") var format: String = "markdown"
  @Option(help: "The file to write (it must not exist).") var to: String
  @Option(help: "The consent's purpose that must be recorded.") var purpose = "subject-access"
  @Option(help: "Export without that consent; the reason is written into the case.")
  var override: String?
  @Flag(help: "Include protected fields (needs a colleague's approval).")
  var includeProtected = false

  func run() async throws {
    let exportFormat: Journal.ExportFormat
    switch format {
    case "markdown", "md": exportFormat = .markdown
    case "json": exportFormat = .json
    default: throw ValidationError("the format is markdown or json")
    }
    guard !FileManager.default.fileExists(atPath: to) else {
      throw CLIError("\(to) exists already", hint: "choose a new file name")
    }
    let (journal, id) = try options.openCase(caseID)
    let found = try journal.openCase(id)
    let now = wallClock()
    let consented = found.consents.values.contains {
      $0.purpose == purpose && $0.isValid(at: now)
    }
    if !consented {
      guard let override else {
        throw CLIError(
          "this case has no valid consent for \(purpose)",
          hint: "record it (`anker consent record`), or give --override REASON", code: Exit.refused)
      }
      _ = try journal.addNote(
        .other, text: "Exported without a consent for \(purpose). Reason: \(override)", in: id)
    }
    let document = try journal.exportCase(
      id, format: exportFormat, includeProtected: includeProtected)
    guard
      FileManager.default.createFile(
        atPath: to, contents: Data(document.utf8), attributes: [.posixPermissions: 0o600])
    else { throw CLIError("could not write \(to)") }
    note("\(to) is PLAINTEXT: hand it over, then delete it")
    print("Exported case \(id.description.prefix(8)).")
  }
}

struct ApproveExport: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "approve",
    abstract: "Approve a colleague's export of a case's protected fields (24 hours).")
  @OptionGroup var options: JournalOptions
  @Argument(help: "The case.") var caseID: String
  @Option(name: .customLong("for"), help: "The colleague (name or id).") var person: String

  func run() async throws {
    let (journal, id) = try options.openCase(caseID)
    try journal.approveExport(of: id, for: try Lookup.person(person, in: journal))
    print("Approved for 24 hours.")
  }
}

struct Stats: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Anonymised counts for a funder's report: contacts per month and kind.",
    discussion: "No names, codes or case ids: only counts of notes by month and kind.")
  @OptionGroup var options: JournalOptions

  func run() async throws {
    let journal = try options.openUnlocked()
    let counts = try journal.state.contactsPerMonth()
    if counts.isEmpty { print("No contacts recorded.") }
    for month in counts.keys.sorted() {
      let row = counts[month] ?? [:]
      let parts = NoteKind.allCases.compactMap { kind in
        row[kind].map { "\(kind.name) \($0)" }
      }
      print("\(month)  total \(row.values.reduce(0, +))  " + parts.joined(separator: ", "))
    }
  }
}

struct Devices: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "The journal's people and their laptops.",
    subcommands: [ListDevices.self, RevokeDevice.self, VetoEnrolment.self],
    defaultSubcommand: ListDevices.self)
}

struct ListDevices: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "list", abstract: "List people and their laptops.")
  @OptionGroup var options: JournalOptions

  func run() async throws {
    let journal = try options.openUnlocked()
    let membership = try journal.state.membership
    let me = try journal.device.key
    for person in try journal.people() {
      print(
        "\(person.name ?? "(no name)")\(person.isAdmin ? " (admin)" : "")  [\(person.id.description.prefix(8))]"
      )
      for device in membership.devices.values.filter({ $0.person == person.id }).sorted(by: {
        $0.key < $1.key
      }) {
        let fingerprint = DeviceRequest(device: device.key, box: device.box).fingerprint
        var line = "  laptop \(fingerprint)  \(device.role == .admin ? "admin" : "worker")"
        if device.isRemoved { line += "  REVOKED" }
        if device.key == me { line += "  (this laptop)" }
        print(line)
      }
    }
    let enrolments = try journal.recoveryEnrolments()
    if !enrolments.isEmpty { print("Enrolments with the paper recovery key:") }
    for enrolment in enrolments {
      var line = "  \(enrolment.id.hex.prefix(8))  laptop \(enrolment.fingerprint)  "
      switch enrolment.standing {
      case .pending:
        line +=
          "PENDING until \(Format.utc(enrolment.effectiveAt)) (veto before "
          + "\(Format.utc(enrolment.vetoDeadline)))"
      case .vetoed: line += "VETOED"
      case .admitted: line += "admitted \(Format.utc(enrolment.effectiveAt))"
      }
      if enrolment.device == me { line += "  (this laptop)" }
      print(line)
    }
  }
}

struct RevokeDevice: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "revoke", abstract: "Revoke a laptop (admins): it reads nothing new.",
    discussion: """
      Starts new keys for the journal and every case it could read, so nothing written from \
      now on is readable on the revoked laptop. Give its fingerprint (as `anker devices \
      list` shows it; the first groups are enough).
      """)
  @OptionGroup var options: JournalOptions
  @Argument(help: "The laptop's fingerprint.") var fingerprint: String

  func run() async throws {
    let journal = try options.openUnlocked()
    let wanted = fingerprint.lowercased()
    guard wanted.count >= 4 else { throw ValidationError("give at least 4 digits") }
    let matches = try journal.state.membership.devices.values.filter {
      !$0.isRemoved
        && DeviceRequest(device: $0.key, box: $0.box).fingerprint.hasPrefix(wanted)
    }
    guard matches.count == 1 else {
      throw CLIError(
        matches.isEmpty ? "no laptop has that fingerprint" : "several laptops match; give more",
        hint: "`anker devices list` shows fingerprints",
        code: matches.isEmpty ? Exit.notFound : Exit.failure)
    }
    try journal.removeDevice(matches[0].key)
    print("Revoked. Run `anker sync` so colleagues get the new keys.")
  }
}
