import AnkerCrypto
import AnkerLog

/// One value of a multi-value register, with who wrote it and when.
public struct RegisterValue: Hashable, Sendable {
  public let entry: EntryID
  public let value: String
  public let time: Timestamp
  public let author: PersonID?
}

/// A multi-value register: every value no later write replaced. Concurrent values are all
/// kept; `shown` picks one by (time, entry id) for ordinary fields.
public struct Register: Hashable, Sendable {
  public internal(set) var values: [EntryID: RegisterValue] = [:]

  /// The concurrent values, oldest first.
  public var candidates: [RegisterValue] {
    values.values.sorted { ($0.time, $0.entry) < ($1.time, $1.entry) }
  }

  public var shown: RegisterValue? { candidates.last }
  public var isConflict: Bool { values.count > 1 }

  mutating func write(_ value: RegisterValue, replacing: [EntryID]) {
    for id in replacing { values[id] = nil }
    values[value.entry] = value
  }
}

/// An add-wins observed-remove set: an element is present while some add of it was not
/// observed by a remove.
public struct ObservedRemoveSet: Hashable, Sendable {
  var adds: [String: Set<EntryID>] = [:]

  public var elements: [String] { adds.filter { !$0.value.isEmpty }.keys.sorted() }

  mutating func add(_ element: String, tag: EntryID) { adds[element, default: []].insert(tag) }

  mutating func remove(_ element: String, observed: [EntryID]) {
    adds[element]?.subtract(observed)
  }

  /// The add tags a remover observes now.
  public func tags(of element: String) -> [EntryID] { (adds[element] ?? []).sorted() }
}

/// The kinds of case the shelters keep.
public enum CaseType: UInt8, Hashable, Sendable, CaseIterable {
  case outreach = 1
  case dropIn, phoneLine, accompaniment, stabilisationStay, temporaryHousing
  case crisisPlace, nextOfKin, professional
}

/// The kinds of note workers write.
public enum NoteKind: UInt8, Hashable, Sendable, CaseIterable {
  case outreachContact = 1
  case supportTalk, helpWithAuthorities, accompanimentHospital
  case accompanimentPolice, accompanimentOutpatient, phoneCall, stayEvent, other
}

public struct Amendment: Hashable, Sendable {
  public let entry: EntryID
  public let text: String
  public let time: Timestamp
  public let author: PersonID?
}

public struct Strike: Hashable, Sendable {
  public let entry: EntryID
  public let reason: String
  public let time: Timestamp
  public let author: PersonID?
}

/// A note: append-only. Amendments and strikes are later entries pointing at it; a struck
/// note stays legible.
public struct Note: Hashable, Sendable {
  public let entry: EntryID
  public let kind: NoteKind
  /// When what it records happened (ms since 1970), as the worker gave it.
  public let eventTime: UInt64
  /// When it was written.
  public let recorded: Timestamp
  public let author: PersonID?
  public let text: String
  public internal(set) var amendments: [Amendment] = []
  public internal(set) var strikes: [Strike] = []
  /// Written while the case was closed.
  public internal(set) var late = false
  public var isStruck: Bool { !strikes.isEmpty }
}

public enum Judgement: UInt8, Hashable, Sendable, Comparable {
  case low = 1
  case medium, high
  public static func < (lhs: Judgement, rhs: Judgement) -> Bool { lhs.rawValue < rhs.rawValue }
}

public struct RiskAssessment: Hashable, Sendable {
  public let entry: EntryID
  public let instrument: String
  public let version: String
  /// "question=answer" pairs; an answer may be "unknown".
  public let answers: [String]
  public let score: UInt64?
  public let judgement: Judgement
  public let assessor: PersonID?
  /// When the next review is due (ms since 1970).
  public let nextReview: UInt64?
  public let time: Timestamp
}

public struct SafetyPlanVersion: Hashable, Sendable {
  public let entry: EntryID
  public let text: String
  public let time: Timestamp
  public let author: PersonID?
}

public struct Consent: Hashable, Sendable {
  public enum Form: UInt8, Hashable, Sendable {
    case written = 1
    case oral
  }
  public let entry: EntryID
  public let purpose: String
  public let recipient: String
  public let form: Form
  public let expiry: UInt64?
  public let time: Timestamp
  public internal(set) var revokedBy: [EntryID] = []

  public func isValid(at now: UInt64) -> Bool {
    revokedBy.isEmpty && (expiry.map { now < $0 } ?? true)
  }
}

/// A second person's approval that `approvedFor` may export the case's protected fields
/// (address, safe contact, safety plan), until `expiry` (ms).
public struct ExportApproval: Hashable, Sendable {
  public let entry: EntryID
  public let approvedBy: PersonID?
  public let approvedFor: PersonID
  public let expiry: UInt64
  public let time: Timestamp

  /// Valid for `person` at `now` when someone else approved it and it has not expired.
  public func allows(_ person: PersonID, at now: UInt64) -> Bool {
    approvedFor == person && approvedBy != nil && approvedBy != person && now < expiry
  }
}

/// One case as this reader sees it.
public struct CaseState: Hashable, Sendable {
  public let id: CaseID
  /// Whether this reader holds the case's key.
  public internal(set) var readable = false
  public internal(set) var type: CaseType?
  public internal(set) var client: ClientID?
  public internal(set) var created: Timestamp?
  public internal(set) var createdBy: PersonID?
  /// The people a restricted case's newest key generation is sealed to (empty: open case).
  public internal(set) var restrictedTo: [PersonID] = []
  public internal(set) var generation: UInt64 = 0
  public internal(set) var fields: [String: Register] = [:]
  public internal(set) var sets: [String: ObservedRemoveSet] = [:]
  public internal(set) var notes: [EntryID: Note] = [:]
  public internal(set) var risks: [EntryID: RiskAssessment] = [:]
  public internal(set) var safetyPlans: [EntryID: SafetyPlanVersion] = [:]
  public internal(set) var consents: [EntryID: Consent] = [:]
  /// Second persons' approvals to export the protected fields.
  public internal(set) var exportApprovals: [EntryID: ExportApproval] = [:]
  /// Every entry that belongs to the case (content and key records): what a shred erases.
  public internal(set) var entries: Set<EntryID> = []

  init(id: CaseID) { self.id = id }

  public var status: String { fields[CaseField.status]?.shown?.value ?? CaseField.open }
  public var isClosed: Bool { status == CaseField.closed }
}

/// Field names with a meaning to the model.
public enum CaseField {
  public static let status = "status"
  public static let open = "open"
  public static let closed = "closed"
  public static let workerInCharge = "workerInCharge"
  public static let riskLevel = "riskLevel"
  public static let safeContact = "safeContact"
  public static let addressProtection = "addressProtection"
  public static let noContactNumbers = "noContactNumbers"
  /// The current safety plan (versions are kept in `CaseState.safetyPlans`).
  public static let safetyPlan = "safetyPlan"

  /// Fields whose concurrent values are never resolved automatically.
  public static let safetyCritical: Set<String> = [
    riskLevel, safeContact, addressProtection, noContactNumbers, safetyPlan,
  ]

  /// Of concurrent values of a safety-critical field, the one that protects most: the
  /// highest risk level, "doNotContact", "protected", the union of no-contact numbers.
  public static func mostProtective(_ field: String, _ values: [String]) -> String? {
    guard !values.isEmpty else { return nil }
    switch field {
    case riskLevel:
      // A value this version does not know never applies: treat it as high.
      let rank = ["low": 1, "medium": 2, "high": 3]
      if values.contains(where: { rank[$0] == nil }) { return "high" }
      return values.max { rank[$0]! < rank[$1]! }
    case safeContact:
      return values.contains("doNotContact") ? "doNotContact" : values.sorted().first
    case addressProtection:
      return values.contains("protected") ? "protected" : values.sorted().first
    case safetyPlan:
      // Every concurrent plan's measures apply until someone merges them.
      return values.sorted().joined(separator: "\n\n— concurrent version —\n\n")
    case noContactNumbers:
      let numbers = Set(values.flatMap { $0.split(separator: ",").map(String.init) })
      return numbers.sorted().joined(separator: ",")
    default:
      return values.sorted().last
    }
  }
}
