import AnkerCrypto
import AnkerLog

/// The evaluated state as bytes, so a device can unlock without evaluating every entry again.
/// The laptop store keeps it sealed under the local key (`Schemas/STORE-FORMAT.md`). It is a
/// cache, not a format anyone else reads: a snapshot of another version is ignored and the
/// state evaluated from the entries. The keys go in a section of their own (`keyBytes`),
/// written into a buffer sized up front so no copy of them is left behind by a reallocation;
/// callers zero both buffers after sealing or reading.
extension JournalState {
  static let snapshotVersion: UInt8 = 2

  /// Everything but the keys.
  package var snapshotBytes: [UInt8] {
    var out = ByteWriter(capacity: 1 << 20)
    out.byte(Self.snapshotVersion)
    out.digests(orderIDs)
    membership.encodeSnapshot(order: orderIDs, into: &out)
    out.varint(UInt64(people.count))
    for person in people.values.sorted(by: { $0.id < $1.id }) {
      out.append(person.id.bytes)
      out.register(person.name)
      out.digests(person.devices.map(\.digest))
      out.flag(person.isAdmin)
    }
    out.varint(UInt64(clients.count))
    for client in clients.values.sorted(by: { $0.id < $1.id }) { out.client(client) }
    out.varint(UInt64(cases.count))
    for found in cases.values.sorted(by: { $0.id < $1.id }) { out.caseState(found) }
    out.varint(UInt64(faults.count))
    for fault in faults {
      switch fault {
      case .equivocation(let ids):
        out.byte(1)
        out.digests(ids)
      case .missingBody(let id): out.kindAndDigest(2, id)
      case .malformedRecord(let id): out.kindAndDigest(3, id)
      case .farFutureClock(let id): out.kindAndDigest(4, id)
      case .refusedRecord(let id): out.kindAndDigest(5, id)
      case .rotationWraps(let id): out.kindAndDigest(6, id)
      }
    }
    out.digests(unreadable.sorted())
    out.digests(erased.sorted())
    out.varint(UInt64(shreddedCases.count))
    for id in shreddedCases.sorted() { out.append(id.bytes) }
    out.digests(shredLeftovers.sorted())
    out.u32(newestEpoch)
    out.digests(newestEpochRecipients.map(\.digest).sorted())
    out.varint(UInt64(readAudit.count))
    for read in readAudit {
      out.digest(read.entry)
      out.optionalPerson(read.person)
      out.append(read.caseID.bytes)
      out.varint(read.time)
    }
    return out.bytes
  }

  /// The recovered keys: per epoch candidate (epoch u32 ‖ candidate ‖ key) and per case key
  /// (ref-independent fields ‖ key). Zero it after use.
  package var keyBytes: [UInt8] {
    let epochCount = keys.epochs.values.reduce(0) { $0 + $1.count }
    var out = [UInt8]()
    out.reserveCapacity(16 + epochCount * 68 + keys.caseKeys.count * 110)
    var writer = ByteWriter(capacity: 0)
    swap(&writer.bytes, &out)
    writer.varint(UInt64(epochCount))
    for epoch in keys.epochs.keys.sorted() {
      for candidate in keys.epochs[epoch]! {
        writer.u32(epoch)
        writer.digest(candidate.candidate)
        candidate.key.secret.withUnsafeBytes { writer.append($0) }
      }
    }
    writer.varint(UInt64(keys.caseKeys.count))
    for key in keys.caseKeys.values.sorted(by: { $0.keyRef < $1.keyRef }) {
      writer.append(key.caseID.bytes)
      writer.varint(key.generation)
      writer.digest(key.wrapID)
      writer.byte((key.isVault ? 1 : 0) | (key.isCombination ? 2 : 0) | (key.viaLink ? 4 : 0))
      writer.u32(key.epoch)
      key.key.secret.withUnsafeBytes { writer.append($0) }
    }
    return writer.bytes
  }

  /// A state from `snapshotBytes` and `keyBytes`, for a reader holding `readers`.
  package init(
    snapshot: [UInt8], keys keyBytes: [UInt8], readers: [Box.PrivateKey]
  ) throws(LogError) {
    var reader = ByteReader(snapshot)
    try self.init(snapshot: &reader, keys: keyBytes, readers: readers)
    try reader.expectEnd("snapshot")
  }

  /// A state from `snapshotBytes` read in place from `reader` (which ends after them).
  package init(
    snapshot reader: inout ByteReader, keys keyBytes: [UInt8], readers: [Box.PrivateKey]
  ) throws(LogError) {
    guard try reader.byte("version") == Self.snapshotVersion else {
      throw LogError(.unknownVersion, "a snapshot of another version")
    }
    let order = try reader.digests("order")
    membership = try Membership(snapshot: &reader, order: order)
    self.readers = readers
    orderIDs = order
    position.reserveCapacity(order.count)
    for (index, id) in order.enumerated() { position[id] = index }
    for _ in 0..<(try reader.count("people")) {
      let id = try reader.person("person")
      var person = PersonState(id: id)
      person.name = try reader.register()
      person.devices = try reader.digests("devices").map(Signing.PublicKey.init)
      person.isAdmin = try reader.flag("admin")
      people[id] = person
    }
    for _ in 0..<(try reader.count("clients")) {
      let client = try reader.client()
      clients[client.id] = client
    }
    let caseCount = try reader.count("cases")
    cases.reserveCapacity(caseCount)
    for _ in 0..<caseCount {
      let found = try reader.caseState()
      cases[found.id] = found
    }
    for _ in 0..<(try reader.count("faults")) {
      let kind = try reader.byte("fault")
      switch kind {
      case 1: faults.append(.equivocation(try reader.digests("fault")))
      case 2: faults.append(.missingBody(try reader.digest("fault")))
      case 3: faults.append(.malformedRecord(try reader.digest("fault")))
      case 4: faults.append(.farFutureClock(try reader.digest("fault")))
      case 5: faults.append(.refusedRecord(try reader.digest("fault")))
      case 6: faults.append(.rotationWraps(try reader.digest("fault")))
      default: throw LogError(.malformedControl, "unknown fault in a snapshot")
      }
    }
    unreadable = Set(try reader.digests("unreadable"))
    erased = Set(try reader.digests("erased"))
    for _ in 0..<(try reader.count("shredded")) { shreddedCases.insert(try reader.recordID()) }
    shredLeftovers = Set(try reader.digests("leftovers"))
    newestEpoch = try reader.u32("epoch")
    newestEpochRecipients = Set(try reader.digests("recipients").map(Box.PublicKey.init))
    for _ in 0..<(try reader.count("reads")) {
      let entry = try reader.digest("read")
      let person = try reader.optionalPerson()
      let caseID = try reader.recordID()
      readAudit.append(
        ReadEvent(entry: entry, person: person, caseID: caseID, time: try reader.varint("read")))
    }

    var keyReader = ByteReader(keyBytes)
    for _ in 0..<(try keyReader.count("epoch keys")) {
      let epoch = try keyReader.u32("epoch key")
      let candidate = try keyReader.digest("epoch key")
      keys.add(epoch: epoch, candidate: candidate, key: try keyReader.key())
    }
    for _ in 0..<(try keyReader.count("case keys")) {
      let caseID = try keyReader.recordID()
      let generation = try keyReader.varint("case key")
      let wrapID = try keyReader.digest("case key")
      let flags = try keyReader.byte("case key")
      let epoch = try keyReader.u32("case key")
      var key = KeyRing.CaseKey(
        caseID: caseID, generation: generation, wrapID: wrapID, key: try keyReader.key(),
        isVault: flags & 1 != 0, viaLink: flags & 4 != 0, epoch: epoch)
      key.isCombination = flags & 2 != 0
      keys.add(key)
    }
    try keyReader.expectEnd("keys")
  }
}

extension ByteWriter {
  mutating func time(_ value: Timestamp) {
    varint(value.milliseconds)
    u32(value.counter)
  }
  mutating func optionalPerson(_ value: PersonID?) {
    flag(value != nil)
    if let value { append(value.bytes) }
  }
  mutating func optionalNumber(_ value: UInt64?) {
    flag(value != nil)
    if let value { varint(value) }
  }
  mutating func optionalText(_ value: String?) {
    flag(value != nil)
    if let value { text(value) }
  }
  /// An entry's text with when and by whom: amendments, strikes, safety plan versions.
  mutating func authored(_ entry: EntryID, _ text: String, _ time: Timestamp, _ author: PersonID?) {
    digest(entry)
    self.text(text)
    self.time(time)
    optionalPerson(author)
  }
  mutating func kindAndDigest(_ kind: UInt8, _ id: Digest256) {
    byte(kind)
    digest(id)
  }
  mutating func register(_ register: Register) {
    varint(UInt64(register.values.count))
    for value in register.values.values.sorted(by: { $0.entry < $1.entry }) {
      digest(value.entry)
      text(value.value)
      time(value.time)
      optionalPerson(value.author)
    }
  }
  mutating func registers(_ registers: [String: Register]) {
    varint(UInt64(registers.count))
    for name in registers.keys.sorted() {
      text(name)
      register(registers[name]!)
    }
  }
  mutating func people(_ people: [PersonID]) {
    varint(UInt64(people.count))
    for person in people { append(person.bytes) }
  }

  mutating func client(_ client: ClientState) {
    append(client.id.bytes)
    text(client.alias)
    text(client.code)
    optionalText(client.ageBand)
    varint(UInt64(client.languages.count))
    for language in client.languages { text(language) }
    optionalText(client.pronouns)
    registers(client.fields)
    flag(client.created != nil)
    if let created = client.created { time(created) }
    registers(client.identity)
    flag(client.vaultReadable)
    varint(client.vaultGeneration)
    people(client.vaultRestrictedTo)
    digests(client.vaultEntries.sorted())
  }

  mutating func caseState(_ found: CaseState) {
    append(found.id.bytes)
    flag(found.readable)
    byte(found.type?.rawValue ?? 0)
    flag(found.client != nil)
    if let client = found.client { append(client.bytes) }
    flag(found.created != nil)
    if let created = found.created { time(created) }
    optionalPerson(found.createdBy)
    people(found.restrictedTo)
    varint(found.generation)
    registers(found.fields)
    varint(UInt64(found.sets.count))
    for name in found.sets.keys.sorted() {
      text(name)
      let adds = found.sets[name]!.adds
      varint(UInt64(adds.count))
      for element in adds.keys.sorted() {
        text(element)
        digests(adds[element]!.sorted())
      }
    }
    varint(UInt64(found.notes.count))
    for note in found.notes.values.sorted(by: { $0.entry < $1.entry }) {
      digest(note.entry)
      byte(note.kind.rawValue)
      varint(note.eventTime)
      time(note.recorded)
      optionalPerson(note.author)
      text(note.text)
      flag(note.late)
      varint(UInt64(note.amendments.count))
      for item in note.amendments { authored(item.entry, item.text, item.time, item.author) }
      varint(UInt64(note.strikes.count))
      for item in note.strikes { authored(item.entry, item.reason, item.time, item.author) }
    }
    varint(UInt64(found.risks.count))
    for risk in found.risks.values.sorted(by: { $0.entry < $1.entry }) {
      digest(risk.entry)
      text(risk.instrument)
      text(risk.version)
      varint(UInt64(risk.answers.count))
      for answer in risk.answers { text(answer) }
      optionalNumber(risk.score)
      byte(risk.judgement.rawValue)
      optionalPerson(risk.assessor)
      optionalNumber(risk.nextReview)
      time(risk.time)
    }
    varint(UInt64(found.safetyPlans.count))
    for plan in found.safetyPlans.values.sorted(by: { $0.entry < $1.entry }) {
      authored(plan.entry, plan.text, plan.time, plan.author)
    }
    varint(UInt64(found.consents.count))
    for consent in found.consents.values.sorted(by: { $0.entry < $1.entry }) {
      digest(consent.entry)
      text(consent.purpose)
      text(consent.recipient)
      byte(consent.form.rawValue)
      optionalNumber(consent.expiry)
      time(consent.time)
      digests(consent.revokedBy)
    }
    varint(UInt64(found.exportApprovals.count))
    for approval in found.exportApprovals.values.sorted(by: { $0.entry < $1.entry }) {
      digest(approval.entry)
      optionalPerson(approval.approvedBy)
      append(approval.approvedFor.bytes)
      varint(approval.expiry)
      time(approval.time)
    }
    digests(found.entries.sorted())
  }
}

extension ByteReader {
  mutating func time() throws(LogError) -> Timestamp {
    Timestamp(milliseconds: try varint("time"), counter: try u32("time"))
  }
  mutating func u32(_ field: String) throws(LogError) -> UInt32 {
    try take(4, field).reduce(0) { $0 << 8 | UInt32($1) }
  }
  mutating func recordID() throws(LogError) -> RecordID {
    guard let id = RecordID(try take(16, "id")) else { throw LogError(.truncated, "id") }
    return id
  }
  mutating func optionalPerson() throws(LogError) -> PersonID? {
    try flag("person") ? try person("person") : nil
  }
  mutating func optionalNumber() throws(LogError) -> UInt64? {
    try flag("number") ? try varint("number") : nil
  }
  mutating func optionalText() throws(LogError) -> String? {
    try flag("text") ? try text("text") : nil
  }
  mutating func authored() throws(LogError) -> (
    entry: EntryID, text: String, time: Timestamp, author: PersonID?
  ) {
    (try digest("entry"), try text("text"), try time(), try optionalPerson())
  }
  mutating func key() throws(LogError) -> AEAD.Key {
    let bytes = try take(AEAD.keyCount, "key")
    guard let key = try? AEAD.Key(SecureBytes(copying: bytes)) else {
      throw LogError(.truncated, "key")
    }
    return key
  }
  mutating func register() throws(LogError) -> Register {
    var register = Register()
    for _ in 0..<(try count("register")) {
      let entry = try digest("register")
      register.values[entry] = RegisterValue(
        entry: entry, value: try text("register"), time: try time(), author: try optionalPerson())
    }
    return register
  }
  mutating func registers() throws(LogError) -> [String: Register] {
    var out: [String: Register] = [:]
    for _ in 0..<(try count("registers")) { out[try text("register")] = try register() }
    return out
  }
  mutating func people() throws(LogError) -> [PersonID] {
    var out = [PersonID]()
    for _ in 0..<(try count("people")) { out.append(try person("person")) }
    return out
  }

  mutating func client() throws(LogError) -> ClientState {
    var client = ClientState(id: try recordID())
    client.alias = try text("alias")
    client.code = try text("code")
    client.ageBand = try optionalText()
    for _ in 0..<(try count("languages")) { client.languages.append(try text("language")) }
    client.pronouns = try optionalText()
    client.fields = try registers()
    client.created = try flag("created") ? try time() : nil
    client.identity = try registers()
    client.vaultReadable = try flag("vault")
    client.vaultGeneration = try varint("vault")
    client.vaultRestrictedTo = try people()
    client.vaultEntries = Set(try digests("vault"))
    return client
  }

  mutating func caseState() throws(LogError) -> CaseState {
    var found = CaseState(id: try recordID())
    found.readable = try flag("readable")
    found.type = CaseType(rawValue: try byte("type"))
    found.client = try flag("client") ? try recordID() : nil
    found.created = try flag("created") ? try time() : nil
    found.createdBy = try optionalPerson()
    found.restrictedTo = try people()
    found.generation = try varint("generation")
    found.fields = try registers()
    for _ in 0..<(try count("sets")) {
      let name = try text("set")
      var set = ObservedRemoveSet()
      for _ in 0..<(try count("set")) { set.adds[try text("element")] = Set(try digests("tags")) }
      found.sets[name] = set
    }
    let noteCount = try count("notes")
    found.notes.reserveCapacity(noteCount)
    for _ in 0..<noteCount {
      let entry = try digest("note")
      let kind = NoteKind(rawValue: try byte("kind")) ?? .other
      var note = Note(
        entry: entry, kind: kind, eventTime: try varint("note"), recorded: try time(),
        author: try optionalPerson(), text: try text("note"))
      note.late = try flag("late")
      for _ in 0..<(try count("amendments")) {
        let item = try authored()
        note.amendments.append(
          Amendment(entry: item.entry, text: item.text, time: item.time, author: item.author))
      }
      for _ in 0..<(try count("strikes")) {
        let item = try authored()
        note.strikes.append(
          Strike(entry: item.entry, reason: item.text, time: item.time, author: item.author))
      }
      found.notes[entry] = note
    }
    for _ in 0..<(try count("risks")) {
      let entry = try digest("risk")
      let instrument = try text("risk")
      let version = try text("risk")
      var answers = [String]()
      for _ in 0..<(try count("answers")) { answers.append(try text("answer")) }
      let score = try optionalNumber()
      guard let judgement = Judgement(rawValue: try byte("judgement")) else {
        throw LogError(.malformedControl, "judgement")
      }
      found.risks[entry] = RiskAssessment(
        entry: entry, instrument: instrument, version: version, answers: answers, score: score,
        judgement: judgement, assessor: try optionalPerson(), nextReview: try optionalNumber(),
        time: try time())
    }
    for _ in 0..<(try count("plans")) {
      let item = try authored()
      found.safetyPlans[item.entry] = SafetyPlanVersion(
        entry: item.entry, text: item.text, time: item.time, author: item.author)
    }
    for _ in 0..<(try count("consents")) {
      let entry = try digest("consent")
      let purpose = try text("consent")
      let recipient = try text("consent")
      guard let form = Consent.Form(rawValue: try byte("form")) else {
        throw LogError(.malformedControl, "form")
      }
      var consent = Consent(
        entry: entry, purpose: purpose, recipient: recipient, form: form,
        expiry: try optionalNumber(), time: try time())
      consent.revokedBy = try digests("revocations")
      found.consents[entry] = consent
    }
    for _ in 0..<(try count("approvals")) {
      let entry = try digest("approval")
      found.exportApprovals[entry] = ExportApproval(
        entry: entry, approvedBy: try optionalPerson(), approvedFor: try person("approval"),
        expiry: try varint("approval"), time: try time())
    }
    found.entries = Set(try digests("entries"))
    return found
  }
}
