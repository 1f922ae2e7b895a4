import AnkerCrypto
import AnkerLog

/// What the client library and the command line ask of the state.
extension JournalState {
  public struct Conflict: Hashable, Sendable {
    public let caseID: CaseID
    public let field: String
    public let values: [RegisterValue]
    public let isSafetyCritical: Bool
  }

  /// Every field holding concurrent values, safety-critical ones first.
  public var openConflicts: [Conflict] {
    var out = [Conflict]()
    for caseState in cases.values where caseState.readable {
      for (field, register) in caseState.fields where register.isConflict {
        out.append(
          Conflict(
            caseID: caseState.id, field: field, values: register.candidates,
            isSafetyCritical: CaseField.safetyCritical.contains(field)))
      }
    }
    return out.sorted {
      ($0.isSafetyCritical ? 0 : 1, $0.caseID, $0.field)
        < ($1.isSafetyCritical ? 0 : 1, $1.caseID, $1.field)
    }
  }

  /// The value that applies: for a safety-critical field in conflict, the most protective
  /// of the concurrent values; otherwise the one shown.
  public func protectiveValue(_ field: String, in caseID: CaseID) -> String? {
    guard let register = cases[caseID]?.fields[field] else { return nil }
    if CaseField.safetyCritical.contains(field) {
      return CaseField.mostProtective(field, register.candidates.map(\.value))
    }
    return register.shown?.value
  }

  /// Readable cases, filtered; sorted by id.
  public func cases(
    status: String? = nil, workerInCharge: String? = nil, tag: String? = nil
  ) -> [CaseState] {
    cases.values.filter { caseState in
      caseState.readable && caseState.created != nil
        && (status == nil || caseState.status == status)
        && (workerInCharge == nil
          || caseState.fields[CaseField.workerInCharge]?.values.values.contains {
            $0.value == workerInCharge
          } == true)
        && (tag == nil || caseState.sets["tags"]?.elements.contains(tag!) == true)
    }.sorted { $0.id < $1.id }
  }

  public enum TimelineItem: Hashable, Sendable {
    case note(Note)
    case risk(RiskAssessment)
    case safetyPlan(SafetyPlanVersion)
    case consent(Consent)

    public var entry: EntryID {
      switch self {
      case .note(let value): value.entry
      case .risk(let value): value.entry
      case .safetyPlan(let value): value.entry
      case .consent(let value): value.entry
      }
    }
  }

  /// A case's notes, assessments, plans and consents in causal order (what was written
  /// knowing what), ties by writing time.
  public func timeline(_ caseID: CaseID) -> [TimelineItem] {
    guard let caseState = cases[caseID] else { return [] }
    var items: [TimelineItem] = caseState.notes.values.map { .note($0) }
    items += caseState.risks.values.map { .risk($0) }
    items += caseState.safetyPlans.values.map { .safetyPlan($0) }
    items += caseState.consents.values.map { .consent($0) }
    return items.sorted {
      (position[$0.entry] ?? 0, $0.entry) < (position[$1.entry] ?? 0, $1.entry)
    }
  }

  /// Cases whose newest risk assessment has a review date at or before `now` (ms).
  public func reviewsDue(now: UInt64) -> [(caseID: CaseID, due: UInt64)] {
    cases.values.compactMap { caseState -> (CaseID, UInt64)? in
      guard caseState.readable,
        let newest = caseState.risks.values.max(by: {
          (position[$0.entry] ?? 0) < (position[$1.entry] ?? 0)
        }),
        let due = newest.nextReview, due <= now
      else { return nil }
      return (caseState.id, due)
    }.sorted { ($0.1, $0.0) < ($1.1, $1.0) }
  }

  /// Anonymised counts for a funder's report: notes per month (of the event) and kind, over
  /// the cases this reader can read. No ids, names or text.
  public func contactsPerMonth() -> [String: [NoteKind: Int]] {
    var out: [String: [NoteKind: Int]] = [:]
    for caseState in cases.values where caseState.readable {
      for note in caseState.notes.values where !note.isStruck {
        out[Self.month(note.eventTime), default: [:]][note.kind, default: 0] += 1
      }
    }
    return out
  }

  /// "YYYY-MM" (UTC) of a time in ms since 1970.
  static func month(_ milliseconds: UInt64) -> String {
    // Civil-from-days (Howard Hinnant's algorithm), to stay free of Foundation.
    let days = Int(milliseconds / 86_400_000)
    let z = days + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let doe = z - era * 146_097
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let month = mp < 10 ? mp + 3 : mp - 9
    let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
    return "\(year)-" + (month < 10 ? "0\(month)" : "\(month)")
  }
}
