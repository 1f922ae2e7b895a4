import Anker
import AnkerCrypto
import AnkerLog
import AnkerModel
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
    abstract: "Join a journal from a new laptop.",
    discussion: """
      Two steps. First `anker join --prepare` makes this laptop's keys and prints a device \
      request and a fingerprint. An admin adds the request with `anker devices add`, and you \
      both compare the fingerprint out loud. Then `anker join --relay URL --journal-id ID \
      --genesis ID` (the ids `anker init` and `anker status` show) fetches the journal. A \
      relay that offers any other journal is refused.
      """)

  @OptionGroup var options: JournalOptions

  @Flag(help: "Make this laptop's keys and print its device request.")
  var prepare = false

  @Option(help: "The relay's address, e.g. https://relay.example.org.")
  var relay: String?

  @Option(name: .customLong("journal-id"), help: "The journal's id (64 hexadecimal digits).")
  var journalID: String?

  @Option(help: "The journal's genesis id (64 hexadecimal digits).")
  var genesis: String?

  func run() async throws {
    if prepare {
      let passphrase = try options.readNewPassphrase("Choose a passphrase for this laptop: ")
      let (journal, request) = try Journal.prepareDevice(
        at: options.directory, passphrase: passphrase, options: journalOptions())
      try startAgent(for: journal, directory: options.directory)
      print("Device request: \(DeviceRequestCode.encode(request))")
      print("Fingerprint:    \(request.fingerprint)")
      print("Give the request to an admin; compare the fingerprint out loud when they add it.")
      return
    }
    guard let relay, let journalHex = journalID, let genesisHex = genesis else {
      throw ValidationError("give --prepare, or all of --relay, --journal-id and --genesis")
    }
    guard let journalID = Digest256(hex: journalHex), let genesisID = Digest256(hex: genesisHex)
    else {
      throw ValidationError("--journal-id and --genesis are 64 hexadecimal digits each")
    }
    let local = try options.openUnlocked()
    do {
      try await local.join(relay: relay, journal: journalID, genesis: genesisID)
    } catch {
      throw CLIError(
        cliError(error).message,
        hint: "has an admin added this laptop (`anker devices add`) and synced since?",
        code: cliError(error).code)
    }
    RelayConfig.save(relay, in: options.directory)
    let cases = try local.cases().count
    print("Joined the journal: \(cases) case(s) readable on this laptop.")
  }
}

/// A device request as text: `anker-device:` and the hex of its signing and box keys.
enum DeviceRequestCode {
  static let prefix = "anker-device:"

  static func encode(_ request: DeviceRequest) -> String {
    prefix + Hex.encode(request.device.bytes + request.box.bytes)
  }

  static func decode(_ text: String) -> DeviceRequest? {
    let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
    guard trimmed.hasPrefix(prefix),
      let bytes = Hex.decode(String(trimmed.dropFirst(prefix.count))),
      bytes.count == 64, let device = Signing.PublicKey(bytes[0..<32]),
      let box = Box.PublicKey(bytes[32..<64])
    else { return nil }
    return DeviceRequest(device: device, box: box)
  }
}

/// The relay this laptop syncs with, in `relay` beside the store: an address, not a secret
/// (SECURITY.md says so).
enum RelayConfig {
  static func load(in directory: String) -> String? {
    (try? String(contentsOfFile: directory + "/relay", encoding: .utf8))?
      .trimmingCharacters(in: .whitespacesAndNewlines)
  }

  static func save(_ relay: String, in directory: String) {
    FileManager.default.createFile(
      atPath: directory + "/relay", contents: Data((relay + "\n").utf8),
      attributes: [.posixPermissions: 0o600])
  }

  static func lastSync(in directory: String) -> UInt64? {
    (try? String(contentsOfFile: directory + "/last-sync", encoding: .utf8))
      .flatMap { UInt64($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
  }

  static func saveLastSync(_ time: UInt64, in directory: String) {
    FileManager.default.createFile(
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
