import Anker
import AnkerCrypto
import AnkerLog
import AnkerModel
import AnkerStore
import AnkerSync
import ArgumentParser
import Foundation

/// Hands the unlocked journal's keys to a key agent (DESIGN rule 9): later commands get them
/// from it, and nothing is ever written to a file.
func startAgent(for journal: Journal, directory: String) throws {
  guard let secrets = journal.unlockedSecrets else { return }
  do {
    try KeyAgent.start(
      directory: directory, secrets: secrets.packed, idleTimeoutSeconds: agentIdleSeconds(),
      executable: executablePath())
  } catch {
    throw CLIError(error.description, hint: "the journal stays locked; try `anker unlock` again")
  }
}

func executablePath() -> String {
  (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
    ?? CommandLine.arguments[0]
}

struct Init: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Create a new journal, with this laptop as its first admin.",
    discussion: """
      Prints the organisation's paper recovery key once. Write it on paper and keep it in a \
      safe: with it, `anker-restore` can rebuild the journal if every laptop is lost. It is \
      never stored anywhere, and nobody can show it again. You are asked to type back its \
      last group to prove it was written down.
      """)

  @OptionGroup var options: JournalOptions

  @Option(help: "Your name, as colleagues will see it (asked for when not given).")
  var name: String?

  @Option(
    help: ArgumentHelp(
      "Write the paper recovery key to this file descriptor instead of the screen (for "
        + "scripted set-ups; no typing back).", valueName: "fd"))
  var recoveryKeyFD: Int32?

  func run() async throws {
    let directory = options.directory
    let name = self.name ?? ask("Your name, as colleagues will see it: ")
    guard !name.trimmingCharacters(in: .whitespaces).isEmpty else {
      throw CLIError("a name is needed")
    }
    let passphrase = try options.readNewPassphrase("Choose a passphrase for this laptop: ")
    let (journal, recoveryKey) = try Journal.create(
      at: directory, passphrase: passphrase, name: name, options: journalOptions())
    let paper = recoveryKey.paperText
    if let fd = recoveryKeyFD {
      let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: false)
      handle.write(Data((paper + "\n").utf8))
    } else {
      print(
        """

        PAPER RECOVERY KEY: write it on paper now, keep it in the safe, never photograph it.

            \(paper)

        It will not be shown again.
        """)
      let lastGroup = paper.split(separator: "-").last.map(String.init) ?? paper
      var proven = false
      for _ in 0..<3 {
        let typed = ask("Type the key's last group to confirm you wrote it down: ")
        if ConstantTime.equals(
          Array(typed.trimmingCharacters(in: .whitespaces).uppercased().utf8),
          Array(lastGroup.uppercased().utf8))
        {
          proven = true
          break
        }
        note("that does not match; look at what you wrote")
      }
      guard proven else {
        throw CLIError(
          "the paper key was not confirmed",
          hint: "the journal exists; if the key is lost, make a new journal before using it")
      }
      // Scroll the key off the screen.
      print(String(repeating: "\n", count: 40))
    }
    try startAgent(for: journal, directory: directory)
    let identity = try journal.identity
    print("Journal created in \(directory).")
    print("Journal id:  \(identity.journal.hex)")
    print("Genesis id:  \(identity.genesis.hex)")
    print(
      "This laptop is unlocked. Next: `anker sync --relay URL` to put the journal on the relay.")
  }
}

struct Join: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Join a journal from a new laptop, with an admin's invite code.",
    discussion: """
      Asks for the one-time code an admin made with `anker invite` (or reads it from \
      --code-fd) and a passphrase for this laptop, makes this laptop's keys, and sends the \
      request. Both fingerprints are shown: the admin's must match what the admin's laptop \
      shows, and yours must match what `anker invite accept` shows there. Compare them out \
      loud. Then it waits for the admin; if it stops waiting, run `anker join` again later. \
      A journal other than the one the invite names, or added by another admin, is refused.
      """)

  @OptionGroup var options: JournalOptions

  @Option(help: "The relay's address, e.g. https://relay.example.org.")
  var relay: String?

  @Option(
    help: ArgumentHelp(
      "Read the invite code from this file descriptor instead of the terminal (scripts).",
      valueName: "fd"))
  var codeFD: Int32?

  @Option(help: "Wait this many seconds for the admin to accept (0: send and stop).")
  var wait: Int = 600

  func run() async throws {
    let directory = options.directory
    let journal: Journal
    var pending: PendingJoin?
    var code: InviteCode?
    if Store.exists(at: directory), !(try options.open().isWiped) {
      journal = try options.openUnlocked()
      if (try? journal.identity) != nil {
        throw CLIError("this laptop is a member of a journal already", code: Exit.refused)
      }
      pending = try journal.pendingJoin()
    } else {
      // The code is read and checked before anything is made, so a typo costs nothing.
      code = try readCode()
      let passphrase = try options.readNewPassphrase("Choose a passphrase for this laptop: ")
      (journal, _) = try Journal.prepareDevice(
        at: directory, passphrase: passphrase, options: journalOptions())
      try startAgent(for: journal, directory: directory)
    }
    let relay = try relayAddress(self.relay, in: directory)
    if pending == nil {
      let invite = try code ?? readCode()
      pending = try await journal.requestEnrolment(with: invite, relay: relay)
      RelayConfig.save(relay, in: directory)
      print("Request sent.")
    }
    guard let pending else { return }
    print("Admin's fingerprint:       \(pending.adminFingerprint)")
    print("This laptop's fingerprint: \(try journal.deviceRequest.fingerprint)")
    print("Compare both out loud with the admin's screen.")
    let deadline = Date().addingTimeInterval(Double(max(0, wait)))
    var joined = try await journal.finishJoin(relay: relay)
    if !joined && wait > 0 { note("waiting for the admin to accept (Ctrl-C stops)…") }
    while !joined && Date() < deadline {
      try await Task.sleep(for: .seconds(2))
      joined = try await journal.finishJoin(relay: relay)
    }
    guard joined else {
      print("Not accepted yet. Once the admin has run `anker invite accept`, run `anker join`.")
      return
    }
    RelayConfig.saveLastSync(Store.wallClock(), in: directory)
    let cases = try journal.cases().count
    print("Joined the journal: \(cases) case(s) readable on this laptop.")
  }

  /// Reads the code (terminal without echo, or --code-fd).
  private func readCode() throws -> InviteCode {
    let secret =
      if let codeFD { try readSecretLine(from: codeFD) } else {
        try readFromTerminal("Invite code: ")
      }
    let text = secret.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
    do {
      return try InviteCode(text: text)
    } catch .notAnInvite {
      throw CLIError("that is not an invite code", hint: "it starts with anker-invite:")
    } catch {
      throw CLIError(
        "the invite code has a typo or is cut short", hint: "copy it again, all of it")
    }
  }
}

/// The relay this laptop syncs with, in `relay` beside the store: an address, not a secret
/// (SECURITY.md says so).
enum RelayConfig {
  static func load(in directory: String) -> String? {
    (try? String(contentsOfFile: directory + "/relay", encoding: .utf8))?
      .trimmingCharacters(in: .whitespacesAndNewlines)
  }

  /// Keeps the address for the next sync; says so if it cannot (what was done stands).
  static func save(_ relay: String, in directory: String) {
    let saved = FileManager.default.createFile(
      atPath: directory + "/relay", contents: Data((relay + "\n").utf8),
      attributes: [.posixPermissions: 0o600])
    if !saved {
      note("could not keep the relay's address in \(directory)/relay: give --relay next time")
    }
  }

  static func lastSync(in directory: String) -> UInt64? {
    (try? String(contentsOfFile: directory + "/last-sync", encoding: .utf8))
      .flatMap { UInt64($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
  }

  /// Only shown to people ("last synced …"): a failure to keep it changes nothing else.
  static func saveLastSync(_ time: UInt64, in directory: String) {
    _ = FileManager.default.createFile(
      atPath: directory + "/last-sync", contents: Data("\(time)\n".utf8),
      attributes: [.posixPermissions: 0o600])
  }
}

struct Unlock: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Unlock the journal for this session.",
    discussion: """
      Asks for the passphrase and keeps the keys in a key agent process (in memory only, \
      never in a file) until `anker lock`, `anker panic`, or ANKER_AGENT_IDLE_MINUTES \
      (default 30) minutes without use.
      """)

  @OptionGroup var options: JournalOptions

  func run() async throws {
    let journal = try options.open()
    if KeyAgent.fetch(directory: options.directory) != nil {
      print("The journal is unlocked already.")
      return
    }
    let passphrase = try options.readPassphrase("Passphrase: ")
    if try journal.unlock(passphrase: passphrase) == .emptied {
      // The duress passphrase: say nothing that tells it apart from an empty journal.
      print("Unlocked.")
      return
    }
    try startAgent(for: journal, directory: options.directory)
    print("Unlocked.")
  }
}

struct Lock: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Lock the journal: the key agent forgets the keys.")

  @OptionGroup var options: JournalOptions

  func run() throws {
    if KeyAgent.stop(directory: options.directory) {
      print("Locked.")
    } else {
      print("The journal was locked already.")
    }
  }
}

struct Passphrase: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Change this laptop's passphrase.",
    discussion: "The old passphrase is asked first; the keys are re-wrapped, notes untouched.")

  @OptionGroup var options: JournalOptions

  func run() async throws {
    let journal = try options.open()
    let old = try options.readPassphrase("Current passphrase: ")
    let new = try options.readNewPassphrase("New passphrase: ")
    try journal.changePassphrase(from: old, to: new)
    print("The passphrase is changed.")
  }
}

struct Panic: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Destroy this laptop's keys now.",
    discussion: """
      Nothing stored on this laptop can be read afterwards, with any passphrase. Entries not \
      yet synced are lost. What was synced comes back after a new enrolment. Asks you to \
      type PANIC unless --now is given.
      """)

  @OptionGroup var options: JournalOptions

  @Flag(help: "Do not ask.")
  var now = false

  func run() async throws {
    let journal = try options.open()
    if !now {
      let typed = ask("Type PANIC to destroy this laptop's keys: ")
      guard typed.trimmingCharacters(in: .whitespaces) == "PANIC" else {
        throw CLIError("nothing was destroyed")
      }
    }
    _ = KeyAgent.stop(directory: options.directory)
    try journal.panic()
    print("The keys are destroyed.")
  }
}

/// The key agent itself: started by `unlock`, not by people.
struct Agent: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "The key agent (started by `anker unlock`).", shouldDisplay: false)

  @Option var directory: String
  @Option var idleTimeout: Int = 1800

  func run() throws {
    KeyAgent.serve(directory: directory, idleTimeoutSeconds: idleTimeout)
  }
}

struct Checkpoint: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Write a signed checkpoint of everything this laptop holds.",
    discussion: """
      Keep the file beside the paper recovery key. `anker-restore --checkpoint FILE` then \
      proves a restore holds everything up to it, even an author's newest entries.
      """)

  @OptionGroup var options: JournalOptions

  @Option(help: "The file to write (it must not exist).")
  var to: String

  func run() async throws {
    let journal = try options.openUnlocked()
    guard !FileManager.default.fileExists(atPath: to) else {
      throw CLIError("\(to) exists already", hint: "choose a new file name")
    }
    let attestation = try journal.headCheckpoint()
    guard
      FileManager.default.createFile(
        atPath: to, contents: Data(CheckpointFile(attestation).text.utf8),
        attributes: [.posixPermissions: 0o600])
    else { throw CLIError("could not write \(to)") }
    print("Checkpoint written: \(attestation.count) entries, \(attestation.heads.count) head(s).")
  }
}
