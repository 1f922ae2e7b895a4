import AnkerCrypto
import AnkerLog
import Foundation

/// What a restore found: counts and entry ids only, never content, names or keys, so the
/// text is safe to print, mail or keep.
public struct RestoreReport: Sendable {
  /// An entry that failed a check, named by id (and the relay's sequence number when known).
  public struct Finding: Hashable, Sendable {
    public var id: EntryID?
    public var sequence: UInt64?
    public var reason: String

    var line: String {
      let name = id.map { "entry \($0.hex)" } ?? "an entry"
      let place = sequence.map { " (relay sequence \($0))" } ?? ""
      return "\(name)\(place): \(reason)"
    }
  }

  public struct CheckpointResult: Hashable, Sendable {
    public var time: UInt64
    public var entries: UInt64
    /// The signing device's fingerprint, as enrolment screens show it.
    public var device: String
    public var missingHeads: [EntryID]
    /// The signer is no device of this journal: the checkpoint proves nothing.
    public var signerUnknown = false
    public var wrongJournal = false

    public var isComplete: Bool { missingHeads.isEmpty && !signerUnknown && !wrongJournal }
  }

  public let journal: JournalID
  public let source: String
  public var paperKey = "named by the genesis"
  public var recordsRead = 0
  public var signaturesChecked = 0
  public var authenticated = 0
  public var placed = 0
  public var waiting = 0
  public var sourceFaults: [String] = []
  /// Entries that do not decode, are filed under another id, or whose signature fails.
  public var tampered: [Finding] = []
  /// Authentic entries that do not fit the DAG (wrong Lamport number, broken `prev`, a
  /// second root).
  public var misfits: [Finding] = []
  public var missingParents: [EntryID] = []
  /// Entries by non-members, or by removed devices after their cut.
  public var notMembers: [Finding] = []
  /// Records written without the right to, or that do not parse.
  public var refused: [Finding] = []
  public var missingBodies: [EntryID] = []
  public var equivocations: [[EntryID]] = []
  public var unreadableCases: [String] = []
  /// Written by a device the recovery authority enrolled whose time lock still runs.
  public var pendingEnrolment: [EntryID] = []
  public var warnings: [String] = []
  public var checkpoint: CheckpointResult?
  public var openCases = 0
  public var closedCases = 0
  public var shreddedCases = 0
  public var erasedEntries = 0
  public var unreadableEntries = 0
  public var people = 0
  public var devices = 0
  public var removedDevices = 0

  init(journal: JournalID, source: String) {
    self.journal = journal
    self.source = source
  }

  /// How many faults: each one makes `verify` fail and `export` refuse.
  public var faultCount: Int {
    sourceFaults.count + tampered.count + misfits.count + missingParents.count
      + (waiting > 0 && missingParents.isEmpty ? 1 : 0) + notMembers.count + refused.count
      + missingBodies.count + equivocations.count + unreadableCases.count
      + (checkpoint.map { $0.isComplete ? 0 : max(1, $0.missingHeads.count) } ?? 0)
  }

  public var isClean: Bool { faultCount == 0 }

  /// The report as plain text, one topic a line and findings indented below it.
  public var text: String {
    var out = "anker-restore report\n"
    func line(_ label: String, _ value: String) {
      out += label.padding(toLength: 20, withPad: " ", startingAt: 0) + value + "\n"
    }
    func list(_ label: String, _ items: [String]) {
      line(label, items.isEmpty ? "none" : "\(items.count)")
      for item in items.prefix(50) { out += "  - \(item)\n" }
      if items.count > 50 { out += "  - … and \(items.count - 50) more\n" }
    }
    line("journal", journal.hex)
    line("source", source)
    line("paper key", paperKey)
    line(
      "entries",
      "\(placed) restored (\(recordsRead) read, \(authenticated) authentic, "
        + "\(signaturesChecked) signatures checked, \(erasedEntries) erased by shreds)")
    line(
      "cases",
      "\(openCases + closedCases + unreadableCases.count) (open \(openCases), closed "
        + "\(closedCases), shredded \(shreddedCases), unreadable \(unreadableCases.count))")
    line("people", "\(people), devices \(devices) (\(removedDevices) removed)")
    list("source faults", sourceFaults)
    list("forged or tampered", tampered.map(\.line))
    list("misfits", misfits.map(\.line))
    var gaps = missingParents.map { "entry \($0.hex) is cited as a parent but missing" }
    if waiting > 0 {
      gaps.append("\(waiting) entries wait for missing ancestors and cannot be restored")
    }
    list("gaps", gaps)
    list("not members", notMembers.map(\.line))
    list("refused records", refused.map(\.line))
    list(
      "missing bodies",
      missingBodies.map { "entry \($0.hex): body missing and no erasure lists it" })
    list(
      "equivocations",
      equivocations.map { "entries " + $0.map(\.hex).joined(separator: ", ") + ": one slot" })
    list(
      "unreadable",
      unreadableCases.map { "case \($0): the paper key cannot read it" })
    if !pendingEnrolment.isEmpty {
      list(
        "pending",
        pendingEnrolment.map { "entry \($0.hex): by a recovery enrolment still time-locked" })
    }
    if !warnings.isEmpty { list("warnings", warnings) }
    if let checkpoint {
      if checkpoint.isComplete {
        line(
          "checkpoint",
          "complete up to checkpoint \(Self.date(checkpoint.time)), \(checkpoint.entries) "
            + "entries, device \(checkpoint.device)")
      } else {
        line(
          "checkpoint",
          "NOT complete up to checkpoint \(Self.date(checkpoint.time)), \(checkpoint.entries) "
            + "entries, device \(checkpoint.device)")
        if checkpoint.wrongJournal { out += "  - the checkpoint is of another journal\n" }
        if checkpoint.signerUnknown {
          out += "  - the checkpoint is signed by no device of this journal\n"
        }
        for head in checkpoint.missingHeads {
          out += "  - head \(head.hex) is missing: withheld or removed\n"
        }
      }
    } else {
      line(
        "checkpoint",
        "none given: entries removed after the newest one any other cites "
          + "cannot be detected (give --checkpoint)")
    }
    line("result", isClean ? "clean" : "\(faultCount) fault(s)")
    return out
  }

  static func date(_ milliseconds: UInt64) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.timeZone = TimeZone(identifier: "UTC")
    return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
  }
}
