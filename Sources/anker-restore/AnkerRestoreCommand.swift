import AnkerCrypto
import AnkerLog
import AnkerRestore
import AnkerSync
import ArgumentParser
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// `anker-restore`: rebuild a journal from a relay backup or a relay with the paper key,
/// and prove what can be proven about its completeness.
@main
struct AnkerRestoreCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "anker-restore",
    abstract:
      "Check, export or rebuild a journal with its paper recovery key after a loss.",
    discussion: """
      The paper key is typed at the terminal (not shown) or read from a file descriptor with \
      --recovery-key-fd; it is never taken from an argument or the environment. The report \
      on standard output holds counts and entry ids, never content or names.

      Exit codes:
        0   clean (verify), or the export was written
        1   faults were found (verify); export refused because of them (see --accept-faults)
        2   the journal does not belong to this recovery key, or the key is not valid
        3   the backup, relay or checkpoint file cannot be read (damaged, truncated, no answer)
        4   the export directory, or rebuild's journal folder, cannot be made, opened or written
        5   rebuild --finish: the time lock still runs, or an admin vetoed the enrolment
        64  usage error (options missing or contradictory, journal not chosen)
      """,
    subcommands: [Verify.self, Export.self, RebuildCommand.self])
}

enum Exit {
  static let faults: Int32 = 1
  static let notThisJournal: Int32 = 2
  static let unreadable: Int32 = 3
  static let exportFailed: Int32 = 4
  static let notInForce: Int32 = 5
  static let usage: Int32 = 64

  static func code(for error: RestoreError) -> Int32 {
    switch error.code {
    case .notThisJournal, .invalidRecoveryKey: notThisJournal
    case .unreadableSource, .invalidCheckpoint: unreadable
    case .exportFailed, .rebuildFailed: exportFailed
    case .enrolmentNotInForce: notInForce
    case .journalNotChosen: usage
    }
  }
}

/// Where the journal comes from, the paper key and the checkpoint.
struct SourceOptions: ParsableArguments {
  @Option(help: "A relay backup (`anker-relay backup --to FILE`) or a relay's relay.sqlite.")
  var backup: String?

  @Option(help: "A relay's address, http(s)://host[:port]; needs --journal.")
  var relay: String?

  @Option(help: "The journal id (64 hex digits); needed when the source holds several.")
  var journal: String?

  @Option(
    name: .customLong("recovery-key-fd"),
    help: "Read the paper key from this open file descriptor instead of the terminal.")
  var recoveryKeyFD: Int32?

  @Option(help: "The checkpoint file kept beside the paper key (`anker checkpoint`).")
  var checkpoint: String?

  func validate() throws {
    guard (backup == nil) != (relay == nil) else {
      throw ValidationError("give exactly one of --backup FILE and --relay URL")
    }
    if relay != nil && journal == nil {
      throw ValidationError("--relay needs --journal ID")
    }
    if let journal, Digest256(hex: journal) == nil {
      throw ValidationError("--journal is 64 hexadecimal digits")
    }
    if let fd = recoveryKeyFD, fd < 0 {
      throw ValidationError("--recovery-key-fd is a file descriptor number")
    }
  }

  /// Reads everything and runs every check.
  func restore() async throws(RestoreError) -> Restoration {
    try await readAndCheck(
      backup: backup, relay: relay, journal: journal, recoveryKeyFD: recoveryKeyFD,
      checkpoint: checkpoint
    ).restoration
  }
}

/// Reads the journal (a backup, or a relay through the recovery authority) and runs every
/// check; returns the paper key too, for `rebuild`.
func readAndCheck(
  backup: String?, relay: String?, journal: String?, recoveryKeyFD: Int32?, checkpoint: String?
) async throws(RestoreError) -> (restoration: Restoration, recovery: RecoveryKey) {
  let progress = Progress()
  let checkpointFile = try readCheckpoint(checkpoint)
  let journalID = journal.flatMap(Digest256.init(hex:))
  // A backup is read before the key is asked for, so a wrong path costs no typing.
  var read: RestoreInput?
  if let backup {
    progress.say("reading \(backup)")
    read = try RestoreInput.backup(backup, journal: journalID)
  }
  let recovery = try PaperKey.obtain(fd: recoveryKeyFD)
  let input: RestoreInput
  if let read {
    input = read
  } else {
    input = try await RestoreInput.relay(
      url: relay!, journal: journalID!, authority: recovery.authorityKey, clock: restoreClock,
      progress: { progress.say("pulled \($0) entries") })
  }
  defer { progress.done() }
  let restoration = try Restoration(
    input: input, recovery: recovery, checkpoint: checkpointFile, now: restoreClock(),
    progress: { progress.say($0) })
  return (restoration, recovery)
}

private func readCheckpoint(_ checkpoint: String?) throws(RestoreError) -> CheckpointFile? {
  guard let checkpoint else { return nil }
  guard let text = try? String(contentsOfFile: checkpoint, encoding: .utf8) else {
    throw RestoreError(.invalidCheckpoint, "cannot read the checkpoint file \(checkpoint)")
  }
  do { return try CheckpointFile(parsing: text) } catch {
    throw RestoreError(
      .invalidCheckpoint, "the checkpoint file \(checkpoint) is not valid: \(error.message)",
      hint: "use the file `anker checkpoint` wrote, unedited")
  }
}

/// A one-line progress indication on standard error, only when it is a terminal.
final class Progress: Sendable {
  let enabled = isatty(2) == 1

  func say(_ text: String) {
    guard enabled else { return }
    FileHandle.standardError.write(Data("\r\u{1b}[Kanker-restore: \(text)…".utf8))
  }

  func done() {
    guard enabled else { return }
    FileHandle.standardError.write(Data("\r\u{1b}[K".utf8))
  }
}

func fail(_ error: RestoreError) -> ExitCode {
  var text = "anker-restore: error: \(error.message)\n"
  if let hint = error.hint { text += "anker-restore: hint: \(hint)\n" }
  FileHandle.standardError.write(Data(text.utf8))
  return ExitCode(Exit.code(for: error))
}

struct Verify: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Run every check and print the report (exit 0 only when clean).",
    discussion: "Exit codes: 0 clean, 1 faults, 2 not this key's journal or an invalid key, "
      + "3 unreadable source or checkpoint, 64 usage (see anker-restore --help).")

  @OptionGroup var source: SourceOptions

  func run() async throws {
    let restoration: Restoration
    do { restoration = try await source.restore() } catch { throw fail(error) }
    print(restoration.report.text, terminator: "")
    guard restoration.report.isClean else { throw ExitCode(Exit.faults) }
  }
}

struct Export: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Check, then write every readable case as plaintext Markdown and JSON.",
    discussion: """
      Writes case-<id>.md and case-<id>.json per case into a new directory (0700, files \
      0600). Shredded cases are left out. THE FILES ARE PLAINTEXT: write them to an encrypted \
      disk only, and delete them once the journal is rebuilt.
      """)

  @OptionGroup var source: SourceOptions

  @Option(help: "The directory to create (or an empty one), on an encrypted disk.")
  var to: String

  @Flag(help: "Export even though the checks found faults.")
  var acceptFaults = false

  @Flag(
    help: "Include protected fields (address, safe contact, safety plan, identity vault).")
  var includeProtected = false

  func run() async throws {
    let restoration: Restoration
    do { restoration = try await source.restore() } catch { throw fail(error) }
    let report = restoration.report
    print(report.text, terminator: "")
    guard report.isClean || acceptFaults else {
      throw fail(
        RestoreError(
          .exportFailed, "the checks found \(report.faultCount) fault(s): nothing was exported",
          hint: "read the report; --accept-faults exports what can be read anyway"),
        code: Exit.faults)
    }
    let exported: Restoration.Exported
    do {
      exported = try restoration.export(
        to: to, includeProtected: includeProtected,
        now: restoreClock())
    } catch { throw fail(error) }
    print("exported            \(exported.casesWritten) case(s) into \(exported.directory)")
    if exported.casesSkipped > 0 {
      print("not exported        \(exported.casesSkipped) case(s) the paper key cannot read")
    }
    FileHandle.standardError.write(
      Data(
        """
        anker-restore: WARNING: \(exported.directory) holds PLAINTEXT case files. Keep them \
        on an encrypted disk only, share them with no one, and delete them (securely) as soon \
        as the journal is rebuilt.

        """.utf8))
  }
}

func fail(_ error: RestoreError, code: Int32) -> ExitCode {
  _ = fail(error)
  return ExitCode(code)
}
