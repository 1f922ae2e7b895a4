import AnkerCrypto
import AnkerLog

/// A canonical encoding of the state, hashed: devices with the same entries and keys get
/// the same digest. Every collection is written in sorted order with its count first.
extension JournalState {
  public var digest: Digest256 {
    var out = CanonicalWriter()
    out.text("anker state v1")
    out.list(people.keys.sorted()) { out, id in
      let person = people[id]!
      out.bytes(id.bytes)
      out.register(person.name)
      out.list(person.devices) { $0.digest($1.digest) }
      out.flag(person.isAdmin)
    }
    out.list(clients.keys.sorted()) { out, id in
      let client = clients[id]!
      out.bytes(id.bytes)
      out.text(client.alias)
      out.text(client.code)
      out.optionalText(client.ageBand)
      out.list(client.languages) { $0.text($1) }
      out.optionalText(client.pronouns)
      out.registers(client.fields)
      out.registers(client.identity)
      out.flag(client.vaultReadable)
      out.number(client.vaultGeneration)
      out.list(client.vaultRestrictedTo) { $0.bytes($1.bytes) }
      out.list(client.vaultEntries.sorted()) { $0.digest($1) }
    }
    out.list(cases.keys.sorted()) { out, id in out.caseState(cases[id]!) }
    out.list(shreddedCases.sorted()) { $0.bytes($1.bytes) }
    // Far-future clocks depend on this device's clock, not on the entries: not in the digest.
    let logFaults = faults.filter { if case .farFutureClock = $0 { false } else { true } }
    out.list(logFaults.map(\.canonical).sorted { $0.lexicographicallyPrecedes($1) }) {
      $0.bytes($1)
    }
    out.list(readAudit) { out, read in
      out.digest(read.entry)
      out.optionalPerson(read.person)
      out.bytes(read.caseID.bytes)
      out.number(read.time)
    }
    out.list(unreadable.sorted()) { $0.digest($1) }
    out.list(erased.sorted()) { $0.digest($1) }
    return BLAKE2b.hash256(out.writer.bytes)
  }
}

struct CanonicalWriter {
  var writer = ByteWriter(capacity: 4096)

  mutating func bytes(_ value: [UInt8]) {
    writer.varint(UInt64(value.count))
    writer.append(value)
  }
  mutating func text(_ value: String) { bytes(Array(value.utf8)) }
  mutating func number(_ value: UInt64) { writer.varint(min(value, Limits.maxInteger)) }
  mutating func flag(_ value: Bool) { writer.byte(value ? 1 : 0) }
  mutating func digest(_ value: Digest256) { writer.digest(value) }
  mutating func time(_ value: Timestamp) {
    number(value.milliseconds)
    number(UInt64(value.counter))
  }
  mutating func optionalText(_ value: String?) {
    flag(value != nil)
    if let value { text(value) }
  }
  mutating func optionalPerson(_ value: PersonID?) {
    flag(value != nil)
    if let value { bytes(value.bytes) }
  }
  mutating func list<T>(_ items: [T], _ body: (inout CanonicalWriter, T) -> Void) {
    number(UInt64(items.count))
    for item in items { body(&self, item) }
  }
  mutating func register(_ register: Register) {
    list(register.candidates) { out, value in
      out.digest(value.entry)
      out.text(value.value)
      out.time(value.time)
      out.optionalPerson(value.author)
    }
  }
  mutating func registers(_ fields: [String: Register]) {
    list(fields.keys.sorted()) { out, name in
      out.text(name)
      out.register(fields[name]!)
    }
  }

  mutating func caseState(_ state: CaseState) {
    bytes(state.id.bytes)
    flag(state.readable)
    number(UInt64(state.type?.rawValue ?? 0))
    flag(state.client != nil)
    if let client = state.client { bytes(client.bytes) }
    flag(state.created != nil)
    if let created = state.created { time(created) }
    optionalPerson(state.createdBy)
    list(state.restrictedTo) { $0.bytes($1.bytes) }
    number(state.generation)
    registers(state.fields)
    list(state.sets.keys.sorted()) { out, name in
      out.text(name)
      let set = state.sets[name]!
      out.list(set.adds.keys.sorted()) { out, element in
        out.text(element)
        out.list(set.tags(of: element)) { $0.digest($1) }
      }
    }
    list(state.notes.keys.sorted()) { out, id in
      let note = state.notes[id]!
      out.digest(id)
      out.number(UInt64(note.kind.rawValue))
      out.number(note.eventTime)
      out.time(note.recorded)
      out.optionalPerson(note.author)
      out.text(note.text)
      out.flag(note.late)
      out.list(note.amendments) { out, amendment in
        out.digest(amendment.entry)
        out.text(amendment.text)
      }
      out.list(note.strikes) { out, strike in
        out.digest(strike.entry)
        out.text(strike.reason)
      }
    }
    list(state.risks.keys.sorted()) { out, id in
      let risk = state.risks[id]!
      out.digest(id)
      out.text(risk.instrument)
      out.text(risk.version)
      out.list(risk.answers) { $0.text($1) }
      out.number(risk.score ?? 0)
      out.number(UInt64(risk.judgement.rawValue))
      out.optionalPerson(risk.assessor)
      out.number(risk.nextReview ?? 0)
    }
    list(state.safetyPlans.keys.sorted()) { out, id in
      out.digest(id)
      out.text(state.safetyPlans[id]!.text)
    }
    list(state.consents.keys.sorted()) { out, id in
      let consent = state.consents[id]!
      out.digest(id)
      out.text(consent.purpose)
      out.text(consent.recipient)
      out.number(UInt64(consent.form.rawValue))
      out.number(consent.expiry ?? 0)
      out.list(consent.revokedBy.sorted()) { $0.digest($1) }
    }
    list(state.exportApprovals.keys.sorted()) { out, id in
      let approval = state.exportApprovals[id]!
      out.digest(id)
      out.optionalPerson(approval.approvedBy)
      out.bytes(approval.approvedFor.bytes)
      out.number(approval.expiry)
    }
    list(state.entries.sorted()) { $0.digest($1) }
  }
}

extension Fault {
  /// A fixed encoding for the digest: a kind byte, then the entry ids.
  var canonical: [UInt8] {
    switch self {
    case .equivocation(let ids): [1] + ids.sorted().flatMap(\.bytes)
    case .missingBody(let id): [2] + id.bytes
    case .malformedRecord(let id): [3] + id.bytes
    case .farFutureClock(let id): [4] + id.bytes
    case .refusedRecord(let id): [5] + id.bytes
    case .rotationWraps(let id): [6] + id.bytes
    }
  }
}
