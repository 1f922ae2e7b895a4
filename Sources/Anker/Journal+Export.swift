import AnkerCrypto
import AnkerLog
public import AnkerModel
import Foundation

/// Exporting one case for a subject-access request or a handover: every note, amendment and
/// strike with who wrote it and when. Protected fields (address, safe contact, safety plan,
/// no-contact numbers, the identity vault) are left out unless a second person approved
/// (DESIGN rule 12): abusers coerce such requests.
extension Journal {
  public enum ExportFormat: Sendable {
    case markdown
    case json
  }

  /// Fields an export leaves out without a second person's approval.
  public static let protectedFields: Set<String> = [
    CaseField.safeContact, CaseField.addressProtection, CaseField.safetyPlan,
    CaseField.noContactNumbers, "address",
  ]

  /// The case as a document. `includeProtected` needs a valid approval by another person
  /// for this device's person (`approveExport`); without one it throws `approvalNeeded`.
  /// The export is recorded in the read audit.
  public func exportCase(
    _ caseID: CaseID, format: ExportFormat, includeProtected: Bool = false
  ) throws(JournalError) -> String {
    let found = try openCase(caseID)
    let state = try state
    let me = try me
    let now = options.clock()
    if includeProtected {
      guard let me, found.exportApprovals.values.contains(where: { $0.allows(me, at: now) })
      else {
        throw JournalError(
          .approvalNeeded,
          "protected fields need a second person's approval: ask a colleague to approve the export")
      }
    }
    let document = ExportDocument(
      state: state, found: found, includeProtected: includeProtected, exportedAt: now)
    switch format {
    case .markdown: return document.markdown
    case .json: return document.json
    }
  }
}

extension Journal {
  /// Renders one case of `state` as `exportCase` does, for a reader that holds a state but no
  /// journal (`anker-restore`, reading with the paper key). It records no read audit and
  /// checks no approval: the caller decides about `includeProtected`.
  package static func renderCase(
    _ found: CaseState, in state: JournalState, format: ExportFormat, includeProtected: Bool,
    exportedAt: UInt64
  ) -> String {
    let document = ExportDocument(
      state: state, found: found, includeProtected: includeProtected, exportedAt: exportedAt)
    switch format {
    case .markdown: return document.markdown
    case .json: return document.json
    }
  }
}

/// The export's content, built once and rendered as Markdown or JSON.
struct ExportDocument {
  struct Item: Encodable {
    var kind: String
    var entry: String
    var time: String
    var eventTime: String?
    var author: String
    var text: String
    var amendments: [Item]?
    var struck: [Item]?
  }

  struct Body: Encodable {
    var caseID: String
    var type: String
    var status: String
    var created: String
    var exportedAt: String
    var protectedFieldsIncluded: Bool
    var client: [String: String]
    var fields: [String: [String]]
    var sets: [String: [String]]
    var notes: [Item]
    var riskAssessments: [Item]
    var safetyPlans: [Item]
    var consents: [Item]
  }

  let body: Body

  init(state: JournalState, found: CaseState, includeProtected: Bool, exportedAt: UInt64) {
    func name(_ person: PersonID?) -> String {
      guard let person else { return "unknown" }
      return state.people[person]?.name.shown?.value
        ?? "person \(Hex.encode(Array(person.bytes.prefix(4))))"
    }
    let notes = found.notes.values.sorted { ($0.recorded, $0.entry) < ($1.recorded, $1.entry) }
      .map { note in
        Item(
          kind: "\(note.kind)", entry: note.entry.hex, time: Self.date(note.recorded.milliseconds),
          eventTime: Self.date(note.eventTime), author: name(note.author), text: note.text,
          amendments: note.amendments.map {
            Item(
              kind: "amendment", entry: $0.entry.hex, time: Self.date($0.time.milliseconds),
              author: name($0.author), text: $0.text)
          },
          struck: note.strikes.map {
            Item(
              kind: "strike", entry: $0.entry.hex, time: Self.date($0.time.milliseconds),
              author: name($0.author), text: $0.reason)
          })
      }
    let risks = found.risks.values.sorted { $0.time < $1.time }.map {
      Item(
        kind: "riskAssessment", entry: $0.entry.hex, time: Self.date($0.time.milliseconds),
        author: name($0.assessor),
        text:
          "\($0.instrument) \($0.version): \($0.judgement)"
          + ($0.score.map { ", score \($0)" } ?? "") + "; answers: "
          + $0.answers.joined(separator: ", "))
    }
    let plans =
      includeProtected
      ? found.safetyPlans.values.sorted { $0.time < $1.time }.map {
        Item(
          kind: "safetyPlan", entry: $0.entry.hex, time: Self.date($0.time.milliseconds),
          author: name($0.author), text: $0.text)
      } : []
    let consents = found.consents.values.sorted { $0.time < $1.time }.map {
      Item(
        kind: "consent", entry: $0.entry.hex, time: Self.date($0.time.milliseconds),
        author: "",
        text: "\($0.purpose) → \($0.recipient) (\($0.form))"
          + ($0.expiry.map { ", until \(Self.date($0))" } ?? "")
          + ($0.revokedBy.isEmpty ? "" : ", revoked"))
    }
    var fields: [String: [String]] = [:]
    for (field, register) in found.fields
    where includeProtected || !Journal.protectedFields.contains(field) {
      fields[field] = register.candidates.map(\.value)
    }
    var client: [String: String] = [:]
    if let known = found.client.flatMap({ state.clients[$0] }) {
      client["alias"] = known.alias
      client["code"] = known.code
      if let ageBand = known.ageBand { client["ageBand"] = ageBand }
      if includeProtected {
        for (field, register) in known.identity { client[field] = register.shown?.value }
      }
    }
    body = Body(
      caseID: found.id.description, type: found.type.map { "\($0)" } ?? "unknown",
      status: found.status, created: Self.date(found.created?.milliseconds ?? 0),
      exportedAt: Self.date(exportedAt), protectedFieldsIncluded: includeProtected,
      client: client, fields: fields, sets: found.sets.mapValues(\.elements), notes: notes,
      riskAssessments: risks, safetyPlans: plans, consents: consents)
  }

  static func date(_ milliseconds: UInt64) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.timeZone = TimeZone(identifier: "UTC")
    return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
  }

  var json: String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    let data = (try? encoder.encode(body)) ?? Data()
    return String(decoding: data, as: UTF8.self)
  }

  var markdown: String {
    var out = "# Case \(body.caseID.prefix(12))\n\n"
    out += "- Type: \(body.type)\n- Status: \(body.status)\n- Created: \(body.created)\n"
    out += "- Exported: \(body.exportedAt)\n"
    out +=
      body.protectedFieldsIncluded
      ? "- Protected fields: included (approved by a second person)\n"
      : "- Protected fields: left out (address, safe contact, safety plan)\n"
    if !body.client.isEmpty {
      out += "\n## Client\n\n"
      for key in body.client.keys.sorted() { out += "- \(key): \(body.client[key]!)\n" }
    }
    if !body.fields.isEmpty || !body.sets.isEmpty {
      out += "\n## Fields\n\n"
      for key in body.fields.keys.sorted() {
        out += "- \(key): \(body.fields[key]!.joined(separator: " | "))\n"
      }
      for key in body.sets.keys.sorted() {
        out += "- \(key): \(body.sets[key]!.joined(separator: ", "))\n"
      }
    }
    func section(_ title: String, _ items: [Item]) {
      guard !items.isEmpty else { return }
      out += "\n## \(title)\n"
      for item in items {
        out += "\n### \(item.kind), \(item.eventTime ?? item.time)\n\n"
        out += "Written by \(item.author) at \(item.time) (entry \(item.entry.prefix(12)))\n\n"
        out += item.text + "\n"
        for amendment in item.amendments ?? [] {
          out += "\n> Amended by \(amendment.author) at \(amendment.time): \(amendment.text)\n"
        }
        for strike in item.struck ?? [] {
          out += "\n> Struck as erroneous by \(strike.author) at \(strike.time): \(strike.text)\n"
        }
      }
    }
    section("Notes", body.notes)
    section("Risk assessments", body.riskAssessments)
    section("Safety plans", body.safetyPlans)
    section("Consents", body.consents)
    return out
  }
}
