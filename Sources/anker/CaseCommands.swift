import Anker
import AnkerCrypto
import AnkerLog
import AnkerModel
import ArgumentParser
import Foundation

struct CaseCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "case",
    abstract: "Open, list, read and change cases.",
    discussion: """
      Cases are named by the first digits of their id (at least 4), as `anker case list` \
      shows them.
      """,
    subcommands: [
      NewCase.self, ListCases.self, ShowCase.self, SetField.self, ResolveField.self,
      CloseCase.self, ReopenCase.self, RestrictCase.self, ShredCase.self,
    ])
}

struct NewCase: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "new", abstract: "Open a new case.")

  @OptionGroup var options: JournalOptions

  @Option(
    help:
      "outreach, drop-in, phone-line, accompaniment, stabilisation-stay, temporary-housing, crisis-place, next-of-kin or professional."
  )
  var type: String

  @Option(help: "The client's code or alias (`anker client new` makes one).")
  var client: String?

  @Option(
    name: .customLong("restricted-to"), parsing: .upToNextOption,
    help: "Only these people may read the case (names or ids); admins always can.")
  var restrictedTo: [String] = []

  func run() async throws {
    guard let caseType = CaseType.named(type) else {
      throw ValidationError("unknown case type \(type); one of: \(CaseType.names)")
    }
    let journal = try options.openUnlocked()
    let clientID = try client.map { try Lookup.clientID($0, in: journal) }
    let people = try restrictedTo.map { try Lookup.person($0, in: journal) }
    let id = try journal.createCase(type: caseType, client: clientID, restrictedTo: people)
    print("Case \(id.description.prefix(8)) opened.")
  }
}

struct ListCases: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "list", abstract: "List the cases you can read.")

  @OptionGroup var options: JournalOptions

  @Option(help: "open or closed.")
  var status: String?

  @Option(help: "Only cases with this worker in charge.")
  var worker: String?

  @Option(help: "Only cases with this tag.")
  var tag: String?

  func run() async throws {
    let journal = try options.openUnlocked()
    let cases = try journal.cases(status: status, worker: worker, tag: tag)
    if cases.isEmpty {
      print("No cases.")
      return
    }
    for found in cases.sorted(by: { $0.created < $1.created }) {
      var line = "\(found.id.description.prefix(8))  \(Format.day(found.created))  "
      line +=
        "\((found.type?.name ?? "unknown").padding(toLength: 18, withPad: " ", startingAt: 0))"
      line += "\(found.status.padding(toLength: 7, withPad: " ", startingAt: 0))"
      line += "client \(found.clientCode ?? "-")  notes \(found.notes)"
      if found.hasConflict { line += "  CONFLICT" }
      if found.isRestricted { line += "  restricted" }
      print(line)
    }
  }
}

struct ShowCase: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "show", abstract: "Show a case: its fields and its timeline.",
    discussion: "Opening a case is recorded in the journal's read audit.")

  @OptionGroup var options: JournalOptions

  @Argument(help: "The case.")
  var caseID: String

  func run() async throws {
    let (journal, id) = try options.openCase(caseID)
    let found = try journal.openCase(id)
    let state = try journal.state
    let names = Dictionary(
      try journal.people().map { ($0.id, $0.name ?? "someone") }, uniquingKeysWith: { a, _ in a })
    func who(_ person: PersonID?) -> String { person.flatMap { names[$0] } ?? "someone" }
    print("Case \(id.description.prefix(8)) (\(found.type?.name ?? "unknown"), \(found.status))")
    if let client = found.client.flatMap({ state.clients[$0] }) {
      print("Client: \(client.code) (\(client.alias))")
    }
    for (field, register) in found.fields.sorted(by: { $0.key < $1.key })
    where field != CaseField.status {
      if register.isConflict {
        let values = register.candidates.map { "\"\($0.value)\" (\(who($0.author)))" }
        print("\(field): CONFLICT between \(values.joined(separator: " and "))")
        print("  resolve it: anker case resolve \(id.description.prefix(8)) \(field) VALUE")
      } else if let shown = register.shown {
        print("\(field): \(shown.value)")
      }
    }
    for (set, values) in found.sets.sorted(by: { $0.key < $1.key }) where !values.elements.isEmpty {
      print("\(set): \(values.elements.joined(separator: ", "))")
    }
    print("")
    for item in try journal.timeline(id) {
      switch item {
      case .note(let value):
        let mark =
          value.isStruck ? " [struck: \(value.strikes.map(\.reason).joined(separator: "; "))]" : ""
        print(
          "\(Format.time(value.eventTime))  \(value.kind.name) by \(who(value.author))  "
            + "[\(value.entry.short)]\(mark)")
        print(indent(value.amendments.last?.text ?? value.text))
        if !value.amendments.isEmpty { print("    (amended \(value.amendments.count)×)") }
      case .risk(let value):
        print(
          "\(Format.time(value.time.milliseconds))  risk assessment (\(value.instrument) "
            + "\(value.version)) by \(who(value.assessor)): \(value.judgement)"
            + (value.score.map { ", score \($0)" } ?? "") + "  [\(value.entry.short)]")
        if let review = value.nextReview { print("    next review \(Format.day(review))") }
      case .safetyPlan(let value):
        print(
          "\(Format.time(value.time.milliseconds))  safety plan by \(who(value.author))  [\(value.entry.short)]"
        )
        print(indent(value.text))
      case .consent(let value):
        let state = value.revokedBy.isEmpty ? "" : " (revoked)"
        print(
          "\(Format.time(value.time.milliseconds))  consent (\(value.form)) to share with "
            + "\(value.recipient) for \(value.purpose)\(state)  [\(value.entry.short)]")
      }
    }
  }

  private func indent(_ text: String) -> String {
    text.split(separator: "\n", omittingEmptySubsequences: false).map { "    " + $0 }.joined(
      separator: "\n")
  }
}

/// A field's value: given on the command line for ordinary fields, read from standard input
/// (or the editor) for protected ones, which must never reach shell history.
func fieldValue(_ field: String, given: String?) throws -> String {
  if let given {
    guard !Journal.protectedFields.contains(field) else {
      throw CLIError(
        "\(field) is protected: its value is not typed on the command line",
        hint: "leave the value out and give it on standard input or in the editor")
    }
    return given
  }
  return try TextInput.read(field)
}

struct SetField: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "set", abstract: "Set a case's field.",
    discussion: """
      Fields: status, workerInCharge, riskLevel (low, medium, high), safeContact, \
      addressProtection, noContactNumbers, or any other name. Protected fields (safeContact, \
      addressProtection, noContactNumbers, address) are read from standard input or the editor.
      """)

  @OptionGroup var options: JournalOptions
  @Argument(help: "The case.") var caseID: String
  @Argument(help: "The field.") var field: String
  @Argument(help: "The value (left out for protected fields).") var value: String?

  func run() async throws {
    let (journal, id) = try options.openCase(caseID)
    try journal.setField(field, to: try fieldValue(field, given: value), in: id)
    print("Set.")
  }
}

struct ResolveField: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "resolve", abstract: "Resolve a conflict on a case's field.",
    discussion: """
      Two colleagues who set a field while offline leave both values: `anker case show` marks \
      it CONFLICT. Safety fields are never resolved automatically; choose the value here.
      """)

  @OptionGroup var options: JournalOptions
  @Argument(help: "The case.") var caseID: String
  @Argument(help: "The field.") var field: String
  @Argument(help: "The value that stands (left out for protected fields).") var value: String?

  func run() async throws {
    let (journal, id) = try options.openCase(caseID)
    try journal.resolve(field, to: try fieldValue(field, given: value), in: id)
    print("Resolved.")
  }
}

struct CloseCase: AsyncParsableCommand {
  static let configuration = CommandConfiguration(commandName: "close", abstract: "Close a case.")
  @OptionGroup var options: JournalOptions
  @Argument(help: "The case.") var caseID: String

  func run() async throws {
    let journal = try options.openUnlocked()
    try journal.closeCase(try Lookup.caseID(caseID, in: journal))
    print("Closed.")
  }
}

struct ReopenCase: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "reopen", abstract: "Reopen a closed case.")
  @OptionGroup var options: JournalOptions
  @Argument(help: "The case.") var caseID: String

  func run() async throws {
    let journal = try options.openUnlocked()
    try journal.reopenCase(try Lookup.caseID(caseID, in: journal))
    print("Reopened.")
  }
}

struct RestrictCase: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "restrict", abstract: "Let only the named people read a case from now on.",
    discussion: "Starts a new key for the case, sealed to those people's laptops only.")
  @OptionGroup var options: JournalOptions
  @Argument(help: "The case.") var caseID: String
  @Option(name: .customLong("to"), parsing: .upToNextOption, help: "Names or ids of people.")
  var people: [String]

  func run() async throws {
    let (journal, id) = try options.openCase(caseID)
    try journal.restrict(id, to: try people.map { try Lookup.person($0, in: journal) })
    print("Restricted.")
  }
}

struct ShredCase: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "shred", abstract: "Destroy a case for good (admins).",
    discussion: """
      Erases the case's notes and keys on every laptop and on the relay once they sync: \
      nobody, not even the paper recovery key, can read it afterwards. Asks you to type the \
      case's first 8 digits unless --yes is given.
      """)
  @OptionGroup var options: JournalOptions
  @Argument(help: "The case.") var caseID: String
  @Flag(help: "Do not ask.") var yes = false

  func run() async throws {
    let (journal, id) = try options.openCase(caseID)
    let short = String(id.description.prefix(8))
    if !yes {
      let typed = ask("Type \(short) to destroy this case for good: ")
      guard typed.trimmingCharacters(in: .whitespaces).lowercased() == short else {
        throw CLIError("nothing was destroyed")
      }
    }
    try journal.shred(id)
    print("Case \(short) shredded. Sync to erase it everywhere.")
  }
}

struct ClientCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "client", abstract: "Clients: an alias and a code; identity in a vault.",
    subcommands: [NewClient.self, ListClients.self, ClientIdentity.self])
}

struct NewClient: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "new", abstract: "Add a client by alias and code (no real names here).")
  @OptionGroup var options: JournalOptions
  @Option(help: "What colleagues call her (not her legal name).") var alias: String
  @Option(help: "A short code, e.g. R-17.") var code: String
  @Option(help: "An age band, e.g. 25-34.") var ageBand: String?
  @Option(parsing: .upToNextOption, help: "Languages she speaks.") var languages: [String] = []
  @Option(help: "Her pronouns.") var pronouns: String?

  func run() async throws {
    let journal = try options.openUnlocked()
    let id = try journal.createClient(
      alias: alias, code: code, ageBand: ageBand, languages: languages, pronouns: pronouns)
    print("Client \(code) added (\(id.description.prefix(8))).")
  }
}

struct ListClients: AsyncParsableCommand {
  static let configuration = CommandConfiguration(commandName: "list", abstract: "List clients.")
  @OptionGroup var options: JournalOptions

  func run() async throws {
    let journal = try options.openUnlocked()
    let clients = try journal.state.clients.values.sorted { $0.code < $1.code }
    if clients.isEmpty { print("No clients.") }
    for client in clients {
      print("\(client.id.description.prefix(8))  \(client.code)  \(client.alias)")
    }
  }
}

struct ClientIdentity: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "identity",
    abstract: "Put a value in a client's identity vault (legal name, ID number, address).",
    discussion: """
      The value is read from standard input or the editor, never the command line. The vault \
      has its own key: only the people named with --restricted-to (and admins) read it.
      """)
  @OptionGroup var options: JournalOptions
  @Argument(help: "The client's code or alias.") var client: String
  @Argument(help: "The field, e.g. legalName.") var field: String
  @Option(
    name: .customLong("restricted-to"), parsing: .upToNextOption, help: "People who may read it.")
  var restrictedTo: [String] = []

  func run() async throws {
    let journal = try options.openUnlocked()
    let id = try Lookup.clientID(client, in: journal)
    let people = try restrictedTo.map { try Lookup.person($0, in: journal) }
    try journal.setIdentity(field, to: try TextInput.read(field), of: id, restrictedTo: people)
    print("Stored in the identity vault.")
  }
}

struct NoteCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "note", abstract: "Write, amend and strike notes.",
    discussion: """
      The text comes from standard input (`anker note add CASE < file`) or, on a terminal, \
      from $EDITOR, whose file lives on a memory file system and is wiped after. Never type \
      note text on the command line.
      """,
    subcommands: [AddNote.self, AmendNote.self, StrikeNote.self])
}

struct AddNote: AsyncParsableCommand {
  static let configuration = CommandConfiguration(commandName: "add", abstract: "Add a note.")
  @OptionGroup var options: JournalOptions
  @Argument(help: "The case.") var caseID: String
  @Option(
    help: """
      outreach-contact, support-talk, help-with-authorities, accompaniment-hospital, \
      accompaniment-police, accompaniment-outpatient, phone-call, stay-event or other.
      """)
  var kind: String = "other"
  @Option(help: "When it happened, e.g. \"2026-11-23 14:30\" (default: now).") var at: String?

  func run() async throws {
    guard let noteKind = NoteKind.named(kind) else {
      throw ValidationError("unknown kind \(kind); one of: \(NoteKind.names)")
    }
    let eventTime = try at.map(Format.parse)
    let (journal, id) = try options.openCase(caseID)
    let text = try TextInput.read("note")
    let entry = try journal.addNote(noteKind, text: text, eventTime: eventTime, in: id)
    print("Note \(entry.short) added.")
  }
}

struct AmendNote: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "amend", abstract: "Amend a note (the original stays in the history).")
  @OptionGroup var options: JournalOptions
  @Argument(help: "The case.") var caseID: String
  @Argument(help: "The note's id (first digits).") var noteID: String

  func run() async throws {
    let (journal, id) = try options.openCase(caseID)
    let found = try journal.openCase(id)
    let note = try Lookup.entry(noteID, among: Array(found.notes.keys), what: "note")
    let entry = try journal.amend(note: note, text: try TextInput.read("amendment"), in: id)
    print("Amendment \(entry.short) added.")
  }
}

struct StrikeNote: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "strike", abstract: "Strike a note out, with a reason (it stays in the history).",
    discussion: "The reason is read from standard input or the editor.")
  @OptionGroup var options: JournalOptions
  @Argument(help: "The case.") var caseID: String
  @Argument(help: "The note's id (first digits).") var noteID: String

  func run() async throws {
    let (journal, id) = try options.openCase(caseID)
    let found = try journal.openCase(id)
    let note = try Lookup.entry(noteID, among: Array(found.notes.keys), what: "note")
    let entry = try journal.strike(note: note, reason: try TextInput.read("reason"), in: id)
    print("Struck (\(entry.short)).")
  }
}

struct Risk: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Record a risk assessment.",
    discussion: """
      The answers are read from standard input or the editor, one `question=answer` per line \
      (an answer may be `unknown`).
      """)
  @OptionGroup var options: JournalOptions
  @Argument(help: "The case.") var caseID: String
  @Option(help: "The instrument, e.g. DASH.") var instrument: String
  @Option(help: "Its version.") var version: String = "1"
  @Option(help: "low, medium or high.") var judgement: String
  @Option(help: "The score, if the instrument has one.") var score: UInt64?
  @Option(help: "When to review it, e.g. 2026-12-01.") var nextReview: String?

  func run() async throws {
    let level: Judgement
    switch judgement {
    case "low": level = .low
    case "medium": level = .medium
    case "high": level = .high
    default: throw ValidationError("the judgement is low, medium or high")
    }
    let review = try nextReview.map(Format.parse)
    let (journal, id) = try options.openCase(caseID)
    let answers = try TextInput.read("answers").split(whereSeparator: \.isNewline)
      .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    let entry = try journal.recordRiskAssessment(
      instrument: instrument, version: version, answers: answers, score: score,
      judgement: level, nextReview: review, in: id)
    print("Risk assessment \(entry.short) recorded.")
  }
}

struct Plan: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Write a new version of a case's safety plan.",
    discussion: "The plan is read from standard input or the editor.")
  @OptionGroup var options: JournalOptions
  @Argument(help: "The case.") var caseID: String
  @Flag(help: "This version settles a conflict between two plans.") var resolving = false

  func run() async throws {
    let (journal, id) = try options.openCase(caseID)
    let entry = try journal.writeSafetyPlan(
      try TextInput.read("safety plan"), in: id, resolving: resolving)
    print("Safety plan \(entry.short) written.")
  }
}

struct ConsentCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "consent", abstract: "Record or revoke a client's consent.",
    subcommands: [GiveConsent.self, RevokeConsent.self])
}

struct GiveConsent: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "record", abstract: "Record a consent.",
    discussion: "An export for a subject-access request needs a consent for subject-access.")
  @OptionGroup var options: JournalOptions
  @Argument(help: "The case.") var caseID: String
  @Option(help: "What it allows, e.g. subject-access or share-with-social-services.")
  var purpose: String
  @Option(help: "Who may receive it, e.g. the client herself.") var recipient: String
  @Option(help: "written or oral.") var form: String = "written"
  @Option(help: "When it ends, e.g. 2027-05-01.") var expires: String?

  func run() async throws {
    let consentForm: Consent.Form
    switch form {
    case "written": consentForm = .written
    case "oral": consentForm = .oral
    default: throw ValidationError("the form is written or oral")
    }
    let expiry = try expires.map(Format.parse)
    let (journal, id) = try options.openCase(caseID)
    let entry = try journal.recordConsent(
      purpose: purpose, recipient: recipient, form: consentForm, expiry: expiry, in: id)
    print("Consent \(entry.short) recorded.")
  }
}

struct RevokeConsent: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "revoke", abstract: "Revoke a consent.")
  @OptionGroup var options: JournalOptions
  @Argument(help: "The case.") var caseID: String
  @Argument(help: "The consent's id (first digits).") var consentID: String

  func run() async throws {
    let (journal, id) = try options.openCase(caseID)
    let found = try journal.openCase(id)
    let consent = try Lookup.entry(consentID, among: Array(found.consents.keys), what: "consent")
    _ = try journal.revokeConsent(consent, in: id)
    print("Consent revoked.")
  }
}
