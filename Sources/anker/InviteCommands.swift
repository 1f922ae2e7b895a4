import Anker
import AnkerCrypto
import AnkerLog
import AnkerStore
import AnkerSync
import ArgumentParser
import Foundation

/// Invites (DESIGN rule 6, DECISIONS 38): an admin makes a one-time code, the new laptop
/// joins with it, the admin accepts after comparing a fingerprint out loud.
struct InviteCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "invite",
    abstract: "Invite a colleague's new laptop (admins).",
    discussion: """
      1. Here: `anker invite --name NAME` prints a one-time code and this laptop's fingerprint.
      2. Give the code to the colleague in person or on a channel you trust; it works once, \
      for 24 hours unless --hours says otherwise.
      3. On the new laptop: `anker join --relay URL` asks for the code and a passphrase, \
      and shows both fingerprints.
      4. Here: `anker invite accept`. Compare the new laptop's fingerprint out loud before \
      you say yes; then it joins.
      """,
    subcommands: [NewInvite.self, AcceptInvite.self, ListInvites.self, CancelInvite.self],
    defaultSubcommand: NewInvite.self)
}

func parseRole(_ text: String) throws -> Role {
  switch text {
  case "worker": return .worker
  case "admin": return .admin
  default: throw ValidationError("the role is worker or admin")
  }
}

func relayAddress(_ given: String?, in directory: String) throws -> String {
  guard let relay = given ?? RelayConfig.load(in: directory) else {
    throw CLIError("no relay is set for this journal", hint: "give it once: --relay URL")
  }
  return relay
}

func inviteID(_ invite: PendingInvite) -> String { String(invite.tokenHash.hex.prefix(8)) }

func whom(_ invite: PendingInvite, in journal: Journal) -> String {
  if let person = invite.person {
    let name = (try? journal.people().first { $0.id == person }?.name) ?? nil
    return (name ?? "person \(person.description.prefix(8))") + " (another laptop)"
  }
  return invite.name ?? "a new colleague"
}

struct NewInvite: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "new", abstract: "Make a one-time code for a new laptop.")
  @OptionGroup var options: JournalOptions
  @Option(help: "The new colleague's name (a new person), unless --person is given.")
  var name: String?
  @Option(help: "An existing person (name or id) getting another laptop.") var person: String?
  @Option(help: "worker or admin.") var role: String = "worker"
  @Option(help: "How many hours the code works (1 to 168).") var hours: Int = 24
  @Option(help: "The relay's address (default: the one this laptop syncs with).")
  var relay: String?

  func validate() throws {
    guard (name == nil) != (person == nil) else {
      throw ValidationError("give --name for a new colleague, or --person for another laptop")
    }
    guard (1...168).contains(hours) else { throw ValidationError("--hours is 1 to 168") }
  }

  func run() async throws {
    let role = try parseRole(self.role)
    let relay = try relayAddress(self.relay, in: options.directory)
    let journal = try options.openUnlocked()
    let existing = try person.map { try Lookup.person($0, in: journal) }
    let invite = try await journal.invite(
      relay: relay, role: role, name: name, person: existing,
      lifetime: UInt64(hours) * 3_600_000)
    print(
      """
      Invite \(inviteID(invite)) for \(whom(invite, in: journal)), as \(self.role), until \
      \(Format.time(invite.code.expires)).

      One-time code (give it only to them, in person or on a channel you trust):

          \(invite.code.text)

      On the new laptop:  anker join --relay \(relay)
      Your fingerprint:   \(invite.code.adminFingerprint)  (the new laptop shows it too)
      Then, here:         anker invite accept
      """)
  }
}

struct AcceptInvite: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "accept", abstract: "Admit the laptops that used your invites.",
    discussion: """
      Shows each new laptop's fingerprint; compare it out loud with the one on the new \
      laptop's screen before you answer yes. Then the laptop is added and this laptop syncs, \
      so the new one can finish joining. A request that does not carry the invite's code is \
      refused and the invite cancelled: someone else used the code.
      """)
  @OptionGroup var options: JournalOptions
  @Option(help: "The relay's address (default: the one this laptop syncs with).")
  var relay: String?
  @Option(help: "Wait this many seconds for a request to arrive (0: only look once).")
  var wait: Int = 300
  @Flag(help: "Do not ask to confirm the fingerprint (scripts that compared it already).")
  var yes = false

  func run() async throws {
    let relay = try relayAddress(self.relay, in: options.directory)
    let journal = try options.openUnlocked()
    guard !(try journal.invites()).isEmpty else {
      throw CLIError("this laptop has no open invites", hint: "make one: anker invite --name NAME")
    }
    let deadline = Date().addingTimeInterval(Double(max(0, wait)))
    var requests = try await journal.enrolmentRequests(relay: relay)
    if requests.isEmpty && wait > 0 { note("waiting for the new laptop's request (Ctrl-C stops)…") }
    while requests.isEmpty && Date() < deadline {
      try await Task.sleep(for: .seconds(2))
      requests = try await journal.enrolmentRequests(relay: relay)
    }
    guard !requests.isEmpty else {
      throw CLIError(
        "no laptop has used your invites yet",
        hint: "on the new laptop: anker join --relay \(relay); then run this again",
        code: Exit.notFound)
    }
    var admitted = 0
    var refused = 0
    for (invite, request) in requests {
      print("Invite \(inviteID(invite)) for \(whom(invite, in: journal)):")
      guard invite.code.authenticates(request) else {
        refused += 1
        print("  REFUSED: the request does not carry the invite's code. Someone else used it.")
        try? await journal.cancelInvite(invite, relay: relay)
        print("  The invite is cancelled; make a new one and hand it over in person.")
        continue
      }
      print("  New laptop's fingerprint: \(request.fingerprint)")
      if !yes {
        let answer = ask("  Does the new laptop show the same fingerprint? (yes/no) ")
        guard answer.lowercased().hasPrefix("y") else {
          refused += 1
          try? await journal.cancelInvite(invite, relay: relay)
          print("  Not added; the invite is cancelled.")
          continue
        }
      }
      do { try journal.admit(request, with: invite) } catch {
        refused += 1
        print("  Not added: \(cliError(error).message)")
        continue
      }
      admitted += 1
      print("  Added.")
    }
    if admitted > 0 {
      let report = try await journal.sync(relay: relay)
      RelayConfig.saveLastSync(Store.wallClock(), in: options.directory)
      // The relay forgets the used invites (this laptop did already).
      for invite in requests.map(\.invite) {
        try? await journal.cancelInvite(invite, relay: relay)
      }
      print(
        "Synced (\(report.pushed) sent). The new laptop can finish: `anker join` there.")
    }
    if refused > 0 { throw ExitCode(Exit.refused.rawValue) }
  }
}

struct ListInvites: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "list", abstract: "List the invites this laptop made that are still open.")
  @OptionGroup var options: JournalOptions

  func run() async throws {
    let journal = try options.openUnlocked()
    let invites = try journal.invites()
    guard !invites.isEmpty else {
      print("No open invites.")
      return
    }
    let now = Store.wallClock()
    for invite in invites {
      let state =
        invite.code.expires > now ? "until \(Format.time(invite.code.expires))" : "ran out"
      print(
        "\(inviteID(invite))  \(whom(invite, in: journal))  \(invite.code.role == .admin ? "admin" : "worker")  \(state)"
      )
    }
  }
}

struct CancelInvite: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "cancel", abstract: "Cancel an invite (its code stops working).")
  @OptionGroup var options: JournalOptions
  @Argument(help: "The invite's id, as `anker invite list` shows it.") var id: String
  @Option(help: "The relay's address (default: the one this laptop syncs with).")
  var relay: String?

  func run() async throws {
    let relay = try relayAddress(self.relay, in: options.directory)
    let journal = try options.openUnlocked()
    let matches = try journal.invites().filter { inviteID($0).hasPrefix(id.lowercased()) }
    guard matches.count == 1, id.count >= 4 else {
      throw CLIError(
        matches.isEmpty ? "no open invite has that id" : "give more of the invite's id",
        hint: "`anker invite list` shows them", code: matches.isEmpty ? Exit.notFound : Exit.failure
      )
    }
    try await journal.cancelInvite(matches[0], relay: relay)
    print("Invite \(inviteID(matches[0])) cancelled.")
  }
}
