import Anker
import AnkerCrypto
import AnkerModel
import AnkerStore
import AnkerSync
import AnkerTerminal
import ArgumentParser
import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Options every command that opens the journal takes.
struct JournalOptions: ParsableArguments {
  @Option(
    name: .customLong("journal"),
    help: ArgumentHelp(
      "The journal's folder on this laptop (default: $ANKER_JOURNAL, else "
        + "~/.local/share/anker/journal).", valueName: "folder"))
  var folder: String?

  @Option(
    help: ArgumentHelp(
      "Read the passphrase from this open file descriptor instead of the terminal (scripts).",
      valueName: "fd"))
  var passphraseFD: Int32?

  /// The folder as an absolute path: the key agent is found by it from anywhere.
  var directory: String {
    URL(fileURLWithPath: folder ?? defaultJournalDirectory()).standardizedFileURL.path
  }
}

func environment(_ name: String) -> String? {
  ProcessInfo.processInfo.environment[name].flatMap { $0.isEmpty ? nil : $0 }
}

func defaultJournalDirectory() -> String {
  if let set = environment("ANKER_JOURNAL") { return set }
  let home = environment("HOME") ?? NSHomeDirectory()
  return home + "/.local/share/anker/journal"
}

/// What the CLI reports: `anker: error:` with a message, an optional hint, and an exit code.
struct CLIError: Error {
  var message: String
  var hint: String?
  var code: ExitCode

  init(_ message: String, hint: String? = nil, code: ExitCode = .failure) {
    self.message = message
    self.hint = hint
    self.code = code
  }
}

/// The exit codes every command documents (`anker --help`).
enum Exit {
  static let failure = ExitCode(1)
  static let locked = ExitCode(2)
  static let wrongPassphrase = ExitCode(3)
  static let relayFault = ExitCode(4)
  static let refused = ExitCode(5)
  static let notFound = ExitCode(6)
}

/// Turns a library error into what a coordinator can act on. Messages are the library's
/// (which never carry content, names or keys).
func cliError(_ error: any Error) -> CLIError {
  if let error = error as? CLIError { return error }
  guard let error = error as? JournalError else {
    return CLIError("\(error)")
  }
  switch error.code {
  case .locked:
    return CLIError(
      error.message, hint: "run `anker unlock` first", code: Exit.locked)
  case .store:
    switch error.storeCode {
    case .wrongPassphrase?:
      return CLIError(
        error.message, hint: "check the passphrase and try again", code: Exit.wrongPassphrase)
    case .tooManyAttempts?:
      return CLIError(error.message, code: Exit.wrongPassphrase)
    case .wiped?:
      return CLIError(
        error.message, hint: "ask an admin for a new invite, then run `anker join`",
        code: Exit.refused)
    case .notFound?:
      return CLIError(
        error.message, hint: "create a journal with `anker init`, or join one with `anker join`",
        code: Exit.notFound)
    default:
      return CLIError(error.message)
    }
  case .model:
    switch error.modelCode {
    case .notAdmin?, .noAccess?:
      return CLIError(error.message, code: Exit.refused)
    case .unknownCase?:
      return CLIError(error.message, hint: "`anker case list` shows the cases", code: Exit.notFound)
    default:
      return CLIError(error.message, code: Exit.refused)
    }
  case .approvalNeeded:
    return CLIError(
      error.message, hint: "a colleague runs `anker export approve CASE --for YOU`",
      code: Exit.refused)
  case .notEnrolled:
    return CLIError(
      error.message, hint: "ask an admin for an invite, then run `anker join --relay URL`",
      code: Exit.refused)
  case .sync:
    if let code = (error.cause as? SyncError)?.relayCode,
      ["unknownInvite", "inviteUsed", "inviteExpired"].contains(code)
    {
      return CLIError(
        error.message, hint: "ask the admin for a new invite; tell them if it was used",
        code: Exit.refused)
    }
    if (error.cause as? SyncError)?.relayCode == "journalNotAllowed" {
      return CLIError(
        error.message,
        hint: "give the relay's operator the journal id (`anker status` shows it)",
        code: Exit.refused)
    }
    return CLIError(
      error.message, hint: "run `anker sync` again; nothing was lost", code: Exit.relayFault)
  default:
    return CLIError(error.message)
  }
}

/// Prints `anker: error:` (and a hint) on stderr and exits with the error's code.
func fail(_ error: any Error) -> Never {
  let error = cliError(error)
  FileHandle.standardError.write(Data("anker: error: \(error.message)\n".utf8))
  if let hint = error.hint {
    FileHandle.standardError.write(Data("anker: hint: \(hint)\n".utf8))
  }
  exit(error.code.rawValue)
}

func note(_ line: String) {
  FileHandle.standardError.write(Data("anker: \(line)\n".utf8))
}

/// The journal options this binary uses. A test-only cost, named so nobody sets it by
/// accident, keeps the end-to-end tests fast; a real journal always uses the default.
func journalOptions() -> Journal.Options {
  let weak = environment("ANKER_TESTING_ONLY_WEAK_PASSPHRASE_COST") == "1"
  return Journal.Options(
    passphraseCost: weak ? .testingOnly : .moderate, idleTimeoutSeconds: nil, clock: wallClock)
}

/// ANKER_TESTING_ONLY_CLOCK_OFFSET_SECONDS shifts the wall clock this binary uses, so the
/// end-to-end tests pass a recovery time lock (an hour at the least) without waiting. Never
/// on a real laptop (README, SECURITY.md); a warning says so whenever it is set.
let clockOffsetMilliseconds: Int64 = {
  guard let text = environment("ANKER_TESTING_ONLY_CLOCK_OFFSET_SECONDS") else { return 0 }
  guard let seconds = Int64(text), abs(seconds) < 10 * 365 * 86_400 else {
    note("error: ANKER_TESTING_ONLY_CLOCK_OFFSET_SECONDS is not a number of seconds")
    exit(ExitCode.validationFailure.rawValue)
  }
  note(
    "WARNING: ANKER_TESTING_ONLY_CLOCK_OFFSET_SECONDS shifts this laptop's clock by "
      + "\(seconds) s: for tests only")
  return seconds * 1000
}()

/// The wall clock (ms since 1970), shifted for tests only.
@Sendable func wallClock() -> UInt64 {
  UInt64(max(0, Int64(clamping: Store.wallClock()) + clockOffsetMilliseconds))
}

/// The key agent's idle timeout (minutes) from ANKER_AGENT_IDLE_MINUTES, 30 by default.
func agentIdleSeconds() -> Int {
  60 * (environment("ANKER_AGENT_IDLE_MINUTES").flatMap(Int.init).map { max(1, $0) } ?? 30)
}

extension JournalOptions {
  /// Opens the journal and unlocks it with the key agent's secrets.
  func openUnlocked() throws -> Journal {
    let journal = try open()
    guard let packed = KeyAgent.fetch(directory: directory) else {
      if journal.isWiped {
        throw CLIError(
          "this laptop's keys were destroyed", hint: "ask an admin for a new enrolment",
          code: Exit.refused)
      }
      throw CLIError(
        "the journal is locked",
        hint: "run `anker unlock` (it stays unlocked until "
          + "`anker lock` or \(agentIdleSeconds() / 60) minutes without use)", code: Exit.locked)
    }
    do {
      try journal.unlock(secrets: try DeviceSecrets(packed: packed))
    } catch {
      throw CLIError(
        "the key agent's keys do not open this journal",
        hint: "run `anker lock`, then `anker unlock`", code: Exit.locked)
    }
    return journal
  }

  /// Opens the journal unlocked and finds the case `text` names.
  func openCase(_ text: String) throws -> (Journal, CaseID) {
    let journal = try openUnlocked()
    return (journal, try Lookup.caseID(text, in: journal))
  }

  func open() throws -> Journal {
    guard Store.exists(at: directory) else {
      throw CLIError(
        "there is no journal in \(directory)",
        hint: "create one with `anker init`, join one with `anker join`, or give --journal",
        code: Exit.notFound)
    }
    return try Journal.open(at: directory, options: journalOptions())
  }

  /// Reads the passphrase once (terminal without echo, or --passphrase-fd).
  func readPassphrase(_ prompt: String) throws -> SecureBytes {
    if let passphraseFD { return try readSecretLine(from: passphraseFD) }
    return try readFromTerminal(prompt)
  }

  /// Reads a new passphrase: twice on a terminal; once from --passphrase-fd.
  func readNewPassphrase(_ prompt: String) throws -> SecureBytes {
    if let passphraseFD { return try readSecretLine(from: passphraseFD) }
    let first = try readFromTerminal(prompt)
    let second = try readFromTerminal("Type it again: ")
    guard first.constantTimeEquals(second) else {
      throw CLIError("the two passphrases differ; nothing was changed")
    }
    guard first.count >= 8 else {
      throw CLIError(
        "a passphrase needs at least 8 characters",
        hint: "several unrelated words are easy to remember and hard to guess")
    }
    return first
  }
}

/// Reads one line from a file descriptor into secure memory (without the newline).
func readSecretLine(from fd: Int32) throws -> SecureBytes {
  let line: SecureBytes?
  do { line = try SecretInput.line(from: fd) } catch {
    throw CLIError(
      "cannot read from file descriptor \(fd)",
      hint: "open it for the command, e.g. --passphrase-fd 3 3<file")
  }
  guard let line else { throw CLIError("no passphrase was given") }
  return line
}

/// Reads a line from the terminal with echo off.
func readFromTerminal(_ prompt: String) throws -> SecureBytes {
  let line: SecureBytes?
  do { line = try SecretInput.terminalLine(prompt: prompt) } catch .noTerminal {
    throw CLIError(
      "no terminal to read the passphrase from",
      hint: "scripts give it on a file descriptor: --passphrase-fd 3 3<file")
  } catch {
    throw CLIError("the terminal could not be read")
  }
  guard let line else { throw CLIError("no passphrase was given") }
  return line
}

/// Reads a plain answer (not secret) from the terminal, or from stdin when there is none.
func ask(_ prompt: String) -> String {
  FileHandle.standardError.write(Data(prompt.utf8))
  return readLine(strippingNewline: true) ?? ""
}
