import Anker
import AnkerCrypto
import AnkerLog
import AnkerSync
import ArgumentParser
import Foundation

/// Recovery enrolments (DESIGN rule 3): the paper key enrolled a new admin laptop, which
/// counts only after a time lock that any admin laptop can veto. Admins are alerted loudly
/// (`anker status`, `anker sync`); the enrolled laptop is told when it counts, or that it
/// was vetoed.
struct VetoEnrolment: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "veto",
    abstract: "Veto a laptop enrolled with the paper recovery key (admins).",
    discussion: """
      When every admin laptop is lost, `anker-restore rebuild` enrols a new admin laptop with \
      the paper key. It becomes an admin only after a time lock (72 hours by default); until \
      then `anker status` on every admin laptop shows the enrolment and its id. If nobody you \
      trust started it, someone else holds the paper key: veto it with the first digits of \
      its id, then run `anker sync` at once, since the veto counts only if written before the \
      time lock ends. A vetoed laptop is never admitted.
      """)
  @OptionGroup var options: JournalOptions
  @Argument(help: "The enrolment's id (its first digits, at least 4).") var enrolment: String

  func run() async throws {
    let journal = try options.openUnlocked()
    let wanted = enrolment.lowercased()
    guard wanted.count >= 4 else { throw ValidationError("give at least 4 digits of the id") }
    let matches = try journal.recoveryEnrolments().filter { $0.id.hex.hasPrefix(wanted) }
    guard matches.count == 1 else {
      throw CLIError(
        matches.isEmpty ? "no recovery enrolment has an id starting \(wanted)" : "several match",
        hint: "`anker status` and `anker devices list` show recovery enrolments",
        code: matches.isEmpty ? Exit.notFound : Exit.failure)
    }
    let found = matches[0]
    switch found.standing {
    case .vetoed:
      print("That recovery enrolment is vetoed already.")
      return
    case .admitted:
      throw CLIError(
        "the time lock of that recovery enrolment has run out: its laptop is an admin",
        hint: "revoke it instead: anker devices revoke \(found.fingerprint)", code: Exit.refused)
    case .pending:
      break
    }
    try journal.vetoRecoveryEnrolment(found.id)
    print(
      "Vetoed. Run `anker sync` now: the veto counts only if written before "
        + "\(Format.utc(found.vetoDeadline)), and the relay refuses the laptop once it has it.")
  }
}

enum RecoveryAlert {
  /// Lines to show loudly while a recovery enrolment's time lock runs, or for a week after
  /// one made another laptop an admin; none otherwise.
  static func lines(_ journal: Journal, folder: String) throws -> [String] {
    let me = try journal.device
    let isAdmin = try journal.state.membership.devices[me.key].map {
      $0.role == .admin && !$0.isRemoved
    }
    var out = [String]()
    let now = wallClock()
    for enrolment in try journal.recoveryEnrolments() {
      let short = String(enrolment.id.hex.prefix(8))
      let who = enrolment.personName.map { "for \($0)" } ?? "for a new person"
      if enrolment.standing == .admitted, enrolment.device != me.key,
        now < enrolment.effectiveAt + 7 * 86_400_000
      {
        out += [
          "!! A laptop enrolled with the paper recovery key became an ADMIN at "
            + "\(Format.utc(enrolment.effectiveAt)): laptop \(enrolment.fingerprint), \(who).",
          "!!   Not expected? Revoke it: anker devices revoke \(enrolment.fingerprint)",
        ]
      }
      guard enrolment.standing == .pending else { continue }
      if enrolment.device == me.key {
        out += [
          "THIS LAPTOP was enrolled with the paper recovery key (enrolment \(short)).",
          "  It becomes an admin at \(Format.utc(enrolment.effectiveAt)) unless an admin laptop "
            + "vetoes it before then; the relay refuses it until then.",
          "  Afterwards run `anker-restore rebuild --finish --to \(folder)` with the paper key.",
        ]
        continue
      }
      out += [
        "!! RECOVERY ENROLMENT PENDING: the paper recovery key enrolled a new ADMIN laptop.",
        "!!   enrolment \(short), laptop \(enrolment.fingerprint), \(who)",
        "!!   It becomes an admin at \(Format.utc(enrolment.effectiveAt)) unless an admin laptop "
          + "vetoes it before \(Format.utc(enrolment.vetoDeadline)).",
        isAdmin == true
          ? "!!   Not started by someone you trust? Veto it now: anker devices veto \(short), "
            + "then anker sync."
          : "!!   Not started by someone you trust? Tell an admin at once: they can veto it.",
      ]
    }
    return out
  }

  /// This laptop was enrolled with the paper key, its lock has run out, but it does not hold
  /// the journal's keys yet.
  static func needsFinish(_ journal: Journal) throws -> Bool {
    guard let own = try journal.ownRecoveryEnrolment, own.standing == .admitted else {
      return false
    }
    return try !journal.state.newestEpochRecipients.contains(journal.device.box)
  }

  /// What to tell a laptop the relay refused because of its recovery enrolment; nil for any
  /// other refusal.
  static func refusal(_ error: JournalError, in journal: Journal, folder: String) -> CLIError? {
    switch (error.cause as? SyncError)?.relayCode {
    case "pendingEnrolment"?:
      let until = (try? journal.ownRecoveryEnrolment).map { Format.utc($0.effectiveAt) }
      return CLIError(
        "the relay refuses this laptop until its recovery enrolment's time lock runs out"
          + (until.map { " at \($0)" } ?? "")
          + "; any admin laptop can veto it until then",
        hint:
          "nothing is lost; after that time run `anker-restore rebuild --finish --to \(folder)`",
        code: Exit.relayFault)
    case "recoveryVetoed"?:
      return CLIError(
        "an admin laptop VETOED this laptop's recovery enrolment: it will never be admitted",
        hint: "if that was a mistake, an admin can invite a new laptop (`anker invite`)",
        code: Exit.relayFault)
    default:
      return nil
    }
  }
}

extension Format {
  /// A time for recovery deadlines, in UTC so that everyone reads the same.
  static func utc(_ milliseconds: UInt64) -> String {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_GB_POSIX")
    formatter.timeZone = TimeZone(identifier: "UTC")
    formatter.dateFormat = "yyyy-MM-dd HH:mm"
    return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
      + " UTC"
  }
}
