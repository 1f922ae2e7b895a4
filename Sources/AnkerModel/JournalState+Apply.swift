import AnkerCrypto
import AnkerLog

extension JournalState {
  private static let journalLevel: Set<RecordKind> = [
    .person, .clientCreated, .clientField, .caseKey, .epochLink, .caseShredded, .readAudit,
  ]

  /// Folds one decrypted record into the state. Called in causal order; every rule below
  /// gives the same result for any causal order, because a record names what it replaces.
  mutating func apply(_ record: Record, entry: Entry, key: KeyRing.CaseKey?) {
    let keyCase = key?.caseID
    let author = person(of: entry.author)
    // Journal-level records count only under the epoch key; case records only under a case key.
    guard Self.journalLevel.contains(record.kind) == (key == nil) else { return }
    switch record.kind {
    case .person:
      guard let id = record[person: .person], let name = record[string: .name] else { return }
      var person = people.removeValue(forKey: id) ?? PersonState(id: id)
      person.name.write(
        RegisterValue(entry: entry.id, value: name, time: record.time, author: author),
        replacing: record[digests: .replaces])
      people[id] = person
    case .clientCreated:
      guard let id = record[id: .client], clients[id]?.created == nil else { return }
      var client = clients[id] ?? ClientState(id: id)
      client.alias = record[string: .alias] ?? ""
      client.code = record[string: .code] ?? ""
      client.ageBand = record[string: .ageBand]
      client.languages = record[strings: .languages]
      client.pronouns = record[string: .pronouns]
      client.created = record.time
      clients[id] = client
    case .clientField:
      guard let id = record[id: .client], let field = record[string: .field],
        let value = record[string: .value]
      else { return }
      var client = clients.removeValue(forKey: id) ?? ClientState(id: id)
      client.fields[field, default: Register()].write(
        RegisterValue(entry: entry.id, value: value, time: record.time, author: author),
        replacing: record[digests: .replaces])
      clients[id] = client
    case .caseKey where record.fields[.vault] != nil:
      guard let clientID = record[id: .caseID], let generation = record[number: .generation]
      else { return }
      var client = clients.removeValue(forKey: clientID) ?? ClientState(id: clientID)
      client.vaultEntries.insert(entry.id)
      (client.vaultGeneration, client.vaultRestrictedTo) = Self.restriction(
        after: generation, listing: record[people: .restrictedTo].sorted(),
        current: (client.vaultGeneration, client.vaultRestrictedTo))
      clients[clientID] = client
    case .identityField:
      guard let clientID = keyCase, key?.isVault == true, let field = record[string: .field],
        let value = record[string: .value]
      else { return }
      var client = clients.removeValue(forKey: clientID) ?? ClientState(id: clientID)
      client.vaultEntries.insert(entry.id)
      client.identity[field, default: Register()].write(
        RegisterValue(entry: entry.id, value: value, time: record.time, author: author),
        replacing: record[digests: .replaces])
      clients[clientID] = client
    case .caseShredded:
      break
    case .readAudit:
      applyReadAudit(record, entry: entry, author: author)
    case .caseKey:
      guard let caseID = record[id: .caseID], let generation = record[number: .generation],
        !shreddedCases.contains(caseID)
      else { return }
      // Moved out and back so the case's collections are mutated in place, not copied.
      var state = cases.removeValue(forKey: caseID) ?? CaseState(id: caseID)
      state.entries.insert(entry.id)
      (state.generation, state.restrictedTo) = Self.restriction(
        after: generation, listing: record[people: .restrictedTo].sorted(),
        current: (state.generation, state.restrictedTo))
      cases[caseID] = state
    case .epochLink:
      break
    default:
      guard let caseID = keyCase, key?.isVault == false else { return }
      var state = cases.removeValue(forKey: caseID) ?? CaseState(id: caseID)
      state.entries.insert(entry.id)
      applyCase(record, entry: entry, author: author, to: &state)
      cases[caseID] = state
    }
  }

  /// A case's (or vault's) generation and restriction after a key record of `generation`
  /// listing `listed` (empty: open). Concurrent generations never lose a restriction: two
  /// restrictions leave the people both name, or, with none in common, the shorter list.
  static func restriction(
    after generation: UInt64, listing listed: [PersonID],
    current: (generation: UInt64, restrictedTo: [PersonID])
  ) -> (UInt64, [PersonID]) {
    if generation > current.generation { return (generation, listed) }
    guard generation == current.generation, !listed.isEmpty else { return current }
    if current.restrictedTo.isEmpty { return (generation, listed) }
    let both = current.restrictedTo.filter(listed.contains)
    if !both.isEmpty { return (generation, both) }
    let shorter =
      listed.count != current.restrictedTo.count
      ? listed.count < current.restrictedTo.count
      : listed.lexicographicallyPrecedes(current.restrictedTo)
    return (generation, shorter ? listed : current.restrictedTo)
  }

  private func applyCase(
    _ record: Record, entry: Entry, author: PersonID?, to state: inout CaseState
  ) {
    switch record.kind {
    case .caseCreated:
      guard state.created == nil else { return }
      state.type = record[number: .caseType].flatMap { CaseType(rawValue: UInt8(clamping: $0)) }
      state.client = record[id: .client]
      state.created = record.time
      state.createdBy = author
    case .caseField, .resolve:
      guard let field = record[string: .field], let value = record[string: .value] else { return }
      var replacing = record[digests: .replaces]
      // A safety-critical conflict is never collapsed by an ordinary write: only a
      // resolution that cites the conflicting values ends it.
      if record.kind == .caseField && CaseField.safetyCritical.contains(field)
        && replacing.count > 1
      {
        replacing = []
      }
      state.fields[field, default: Register()].write(
        RegisterValue(entry: entry.id, value: value, time: record.time, author: author),
        replacing: replacing)
    case .setAdd:
      guard let set = record[string: .set], let element = record[string: .element] else { return }
      state.sets[set, default: ObservedRemoveSet()].add(element, tag: entry.id)
    case .setRemove:
      guard let set = record[string: .set], let element = record[string: .element] else { return }
      state.sets[set, default: ObservedRemoveSet()].remove(
        element, observed: record[digests: .replaces])
    case .note:
      // A note kind this version does not know is kept, as "other".
      guard let text = record[string: .text] else { return }
      let kind =
        record[number: .noteKind].flatMap { NoteKind(rawValue: UInt8(clamping: $0)) } ?? .other
      var note = Note(
        entry: entry.id, kind: kind,
        eventTime: record[number: .eventTime] ?? record.time.milliseconds,
        recorded: record.time, author: author, text: text)
      // Late means its writer saw the case closed: a close it had not seen does not count.
      note.late = record.fields[.late] != nil
      state.notes[entry.id] = note
    case .amend:
      guard let target = record[digest: .note], state.notes[target] != nil,
        let text = record[string: .text]
      else { return }
      state.notes[target]!.amendments.append(
        Amendment(entry: entry.id, text: text, time: record.time, author: author))
    case .strike:
      guard let target = record[digest: .note], state.notes[target] != nil,
        let reason = record[string: .reason]
      else { return }
      state.notes[target]!.strikes.append(
        Strike(entry: entry.id, reason: reason, time: record.time, author: author))
    case .riskAssessment:
      guard
        let judgement = record[number: .judgement].flatMap({
          Judgement(rawValue: UInt8(clamping: $0))
        })
      else { return }
      state.risks[entry.id] = RiskAssessment(
        entry: entry.id, instrument: record[string: .instrument] ?? "",
        version: record[string: .instrumentVersion] ?? "", answers: record[strings: .answers],
        score: record[number: .score], judgement: judgement,
        assessor: record[person: .assessor] ?? author, nextReview: record[number: .nextReview],
        time: record.time)
    case .safetyPlan:
      guard let text = record[string: .text] else { return }
      state.safetyPlans[entry.id] = SafetyPlanVersion(
        entry: entry.id, text: text, time: record.time, author: author)
      // The current plan is a safety-critical register: concurrent versions stay a conflict.
      var replacing = record[digests: .replaces]
      if replacing.count > 1 && record.fields[.resolution] == nil { replacing = [] }
      state.fields[CaseField.safetyPlan, default: Register()].write(
        RegisterValue(entry: entry.id, value: text, time: record.time, author: author),
        replacing: replacing)
    case .consent:
      guard
        let form = record[number: .form].flatMap({ Consent.Form(rawValue: UInt8(clamping: $0)) })
      else { return }
      state.consents[entry.id] = Consent(
        entry: entry.id, purpose: record[string: .purpose] ?? "",
        recipient: record[string: .recipient] ?? "", form: form, expiry: record[number: .expiry],
        time: record.time)
    case .consentRevoked:
      guard let target = record[digest: .consent], state.consents[target] != nil else { return }
      state.consents[target]!.revokedBy.append(entry.id)
    case .exportApproval:
      guard let person = record[person: .person], let expiry = record[number: .expiry] else {
        return
      }
      state.exportApprovals[entry.id] = ExportApproval(
        entry: entry.id, approvedBy: author, approvedFor: person, expiry: expiry,
        time: record.time)
    default:
      break  // A kind this version does not know: kept in the log, ignored here.
    }
  }
}
