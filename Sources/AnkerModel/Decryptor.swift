import AnkerCrypto
import AnkerLog

/// Recovers every key the reader can reach and decrypts every body it can: epoch keys from
/// control wraps, earlier epoch keys through epoch links, case keys from case-key records
/// and earlier generations through their back-links. Keys can unlock entries earlier in
/// causal order, so it repeats until nothing new opens.
struct Decryptor {
  enum Decoded {
    /// The record and, for content under a case or vault key, that key.
    case record(Record, KeyRing.CaseKey?)
    case malformed
  }

  let order: [Entry]
  /// For each entry of `order`, whether membership counts it.
  let valid: [Bool]
  /// Indices in `order` of the valid control entries.
  let controls: [Int]
  let membership: Membership
  let readers: [Box.PrivateKey]
  var keys = KeyRing()
  var records: [EntryID: Decoded] = [:]
  var unreadable: Set<EntryID> = []
  /// Entries whose bodies a valid erasure lists (whether or not the body is still here).
  var erased: Set<EntryID> = []
  var erasedIDs: Set<EntryID> { erased }
  /// Cases a tombstone says were shredded.
  var shredded: Set<CaseID> = []
  /// What the key records seen so far say about each case: vault or case, and the people
  /// each generation is restricted to.
  struct CaseInfo {
    let isVault: Bool
    var restrictedTo: [UInt64: [PersonID]] = [:]
    var newest: UInt64 { restrictedTo.keys.max() ?? 0 }
  }
  var caseInfo: [CaseID: CaseInfo] = [:]
  /// Key record id → its case.
  var caseOfRecord: [EntryID: CaseID] = [:]
  /// Entries of shredded cases whose bodies no erasure lists yet.
  var shredLeftovers: Set<EntryID> = []
  /// Key records, epoch links and tombstones their author had no right to write.
  var refused: Set<EntryID> = []

  func isAdmin(_ device: Signing.PublicKey) -> Bool {
    membership.devices[device]?.role == .admin
  }

  /// Whether a key record may introduce a key: its first generation makes a case; a later one
  /// must follow the newest seen (no jumps), keep the case a case or a vault, carry its key in
  /// the form its restriction says, and come from an admin, or from anyone for an open case,
  /// or from a person the previous generation was restricted to.
  func accepts(
    _ record: Record, caseID: CaseID, generation: UInt64, author: Signing.PublicKey
  ) -> Bool {
    let vault = record.fields[.vault] != nil
    let restricted = !record[people: .restrictedTo].isEmpty
    guard generation >= 1, generation <= UInt64(UInt32.max),
      restricted ? record.fields[.wrapped] == nil : record.fields[.sealed] == nil
    else { return false }
    guard let info = caseInfo[caseID] else { return generation == 1 || isAdmin(author) }
    guard info.isVault == vault, generation <= info.newest + 1 else { return false }
    // A first generation for a case that exists would let anyone re-list it.
    if isAdmin(author) { return true }
    guard generation > 1 else { return false }
    guard let previous = info.restrictedTo[generation - 1] else { return false }
    guard let person = membership.devices[author]?.person else { return false }
    return previous.isEmpty || previous.contains(person)
  }
  /// entry → (key ref, epoch key that opened the hint).
  private var hints: [EntryID: (ref: Digest256, epochKey: AEAD.Key)] = [:]
  /// How many case keys there were when combinations were last added.
  private var combinedAt = -1

  init(
    order: [Entry], valid: [Bool], controls: [Int], membership: Membership,
    readers: [Box.PrivateKey]
  ) {
    self.order = order
    self.valid = valid
    self.controls = controls
    self.membership = membership
    self.readers = readers
  }

  mutating func run() {
    var erasedBodies: Set<Digest256> = []
    for index in controls {
      if case .erasure(let erasure)? = order[index].control {
        erasedBodies.formUnion(erasure.bodies)
      }
    }
    if !erasedBodies.isEmpty {
      for entry in order where erasedBodies.contains(entry.header.bodyHash) {
        if entry.bodyKind != .control && entry.header.bodyLength > 0 { erased.insert(entry.id) }
      }
    }
    for index in controls {
      guard let control = order[index].control else { continue }
      openWraps(control, entry: order[index])
    }
    var pending = [Entry]()
    pending.reserveCapacity(order.count)
    for (index, entry) in order.enumerated()
    where valid[index] && entry.bodyKind == .sealed
      && (erased.isEmpty || !erased.contains(entry.id))
    {
      pending.append(entry)
    }
    records.reserveCapacity(pending.count)
    while true {
      var progress = false
      pending = pending.filter { entry in
        guard decrypt(entry) else { return true }
        progress = true
        return false
      }
      if !progress || pending.isEmpty { break }
    }
    unreadable = Set(pending.map(\.id))
    for id in refused { records[id] = nil }
    // Nothing below applies without a shredded case.
    guard !shredded.isEmpty else { return }
    // What a shred has not reached yet: key records of shredded cases and entries under their
    // keys whose bodies no erasure lists (written concurrently with the shred).
    for (id, decoded) in records where !erased.contains(id) {
      guard case .record(let record, let key) = decoded else { continue }
      let caseID = key?.caseID ?? (record.kind == .caseKey ? record[id: .caseID] : nil)
      if let caseID, shredded.contains(caseID) { shredLeftovers.insert(id) }
    }
    // A shredded case's keys are forgotten, and whatever they opened is gone with the case.
    for caseID in shredded { keys.forget(caseID) }
    for (id, decoded) in records {
      if case .record(_, let key?) = decoded, shredded.contains(key.caseID) {
        records[id] = nil
        erased.insert(id)
      }
    }
  }

  static func epoch(of control: Control) -> UInt32? {
    switch control {
    case .genesis: 1
    case .deviceAdded(let value): UInt32(value.epoch)
    case .deviceRemoved(let value): UInt32(value.epoch)
    case .epochRotated(let value): UInt32(value.epoch)
    case .recoveryReplaced(let value): UInt32(value.epoch)
    case .recoveryEnrolment, .recoveryVeto, .erasure: nil
    }
  }

  private mutating func openWraps(_ control: Control, entry: Entry) {
    guard let epoch = Self.epoch(of: control) else { return }
    for wrap in control.wraps {
      guard let reader = readers.first(where: { $0.publicKey == wrap.recipient }),
        let secret = try? Box.open(wrap.sealed, with: reader),
        let key = try? AEAD.Key(secret)
      else { continue }
      keys.add(epoch: epoch, candidate: entry.id, key: key)
    }
  }

  /// Tries to decrypt one sealed entry; true once it is settled (decoded or malformed).
  private mutating func decrypt(_ entry: Entry) -> Bool {
    guard let body = entry.body else { return false }
    let position = entry.header.positionBytes
    // A hint opened in an earlier round is kept only for entries that did not settle then.
    var hint = hints.isEmpty ? nil : hints[entry.id]
    if hint == nil {
      guard let epoch = SealedBody.epoch(of: body) else { return false }
      let candidates = keys.epochs[epoch] ?? []
      for candidate in candidates {
        if let ref = try? SealedBody.openHint(body, position: position, epochKey: candidate.key) {
          hint = (ref, candidate.key)
          break
        }
      }
      if hint == nil && candidates.count > 1 {
        for candidate in keys.epochCombinations(epoch) {
          if let ref = try? SealedBody.openHint(
            body, position: position, epochKey: candidate.key)
          {
            hint = (ref, candidate.key)
            break
          }
        }
      }
    }
    guard let (ref, epochKey) = hint else { return false }
    if ref != .zero && keys.caseKeys[ref] == nil && keys.caseKeys.count != combinedAt {
      keys.addCaseCombinations()
      combinedAt = keys.caseKeys.count
    }
    let caseKey = ref == .zero ? nil : keys.caseKeys[ref]
    guard ref == .zero || caseKey != nil else {
      hints[entry.id] = (ref, epochKey)
      return false
    }
    guard
      let plaintext = try? SealedBody.open(
        body, position: position, keyRef: ref, contentKey: caseKey?.key ?? epochKey)
    else {
      // A key learned through a back-link may be a forgery; wait for the real one.
      if caseKey?.viaLink == true {
        hints[entry.id] = (ref, epochKey)
        return false
      }
      records[entry.id] = .malformed
      return true
    }
    guard let record = try? Record(decoding: plaintext) else {
      records[entry.id] = .malformed
      return true
    }
    records[entry.id] = .record(record, caseKey)
    if ref == .zero { learnKeys(from: record, entry: entry, epochKey: epochKey) }
    return true
  }

  /// Epoch links and case-key records carry keys; take what this reader can open.
  private mutating func learnKeys(from record: Record, entry: Entry, epochKey: AEAD.Key) {
    switch record.kind {
    case .caseShredded:
      // Shredding is an admin's act, like the erasure that goes with it.
      guard isAdmin(entry.author), let caseID = record[id: .caseID] else {
        refused.insert(entry.id)
        return
      }
      shredded.insert(caseID)
    case .epochLink:
      // Only an admin links epochs, and only the one just before the epoch it is sealed under.
      guard isAdmin(entry.author) else {
        refused.insert(entry.id)
        return
      }
      guard let epoch = record[number: .epoch],
        let previous = record[number: .previousEpoch],
        epoch <= UInt64(UInt32.max), previous + 1 == epoch,
        UInt64(SealedBody.epoch(of: entry.body ?? []) ?? 0) == epoch,
        let candidate = record[digest: .candidate], let wrapped = record.fields[.wrapped],
        wrapped.count == AEAD.nonceCount + AEAD.keyCount + AEAD.tagCount,
        let secret = try? AEAD.openSecret(
          Array(wrapped[24...]), key: epochKey, nonce: Array(wrapped[..<24]),
          associatedData: WrapContext.epochLink(
            epoch: UInt32(epoch), previous: UInt32(previous), candidate: candidate)),
        let key = try? AEAD.Key(secret)
      else { return }
      keys.add(epoch: UInt32(previous), candidate: candidate, key: key)
    case .caseKey:
      guard let caseID = record[id: .caseID], let generation = record[number: .generation],
        accepts(record, caseID: caseID, generation: generation, author: entry.author)
      else {
        refused.insert(entry.id)
        return
      }
      let vault = record.fields[.vault] != nil
      caseInfo[caseID, default: CaseInfo(isVault: vault)].restrictedTo[generation] =
        record[people: .restrictedTo]
      caseOfRecord[entry.id] = caseID
      guard
        let key = caseKey(in: record, caseID: caseID, generation: generation, epochKey: epochKey)
      else { return }
      keys.add(
        KeyRing.CaseKey(
          caseID: caseID, generation: generation, wrapID: entry.id, key: key, isVault: vault,
          epoch: SealedBody.epoch(of: entry.body ?? []) ?? 0))
      // Back-links: (previous record id ‖ nonce ‖ AEAD(new key, previous key)) each.
      let links = record.fields[.previous] ?? []
      let size = 32 + AEAD.nonceCount + AEAD.keyCount + AEAD.tagCount
      guard links.count % size == 0 else { return }
      for start in stride(from: 0, to: links.count, by: size) {
        let link = Array(links[start..<start + size])
        // A back-link may only name a key record of the same case (or one this reader has not
        // seen); a key learned from its own record always wins over a linked one.
        guard let previous = Digest256(link[0..<32]),
          caseOfRecord[previous].map({ $0 == caseID }) ?? true,
          let secret = try? AEAD.openSecret(
            Array(link[56...]), key: key, nonce: Array(link[32..<56]),
            associatedData: WrapContext.previousCaseKey(caseID, previous: previous)),
          let previousKey = try? AEAD.Key(secret)
        else { continue }
        keys.add(
          KeyRing.CaseKey(
            caseID: caseID, generation: generation > 0 ? generation - 1 : 0, wrapID: previous,
            key: previousKey, isVault: vault, viaLink: true))
      }
    default:
      break
    }
  }

  /// An open case's key is wrapped under the epoch key; a restricted case's is sealed to each
  /// listed device and the recovery key.
  private func caseKey(
    in record: Record, caseID: CaseID, generation: UInt64, epochKey: AEAD.Key
  ) -> AEAD.Key? {
    let context = WrapContext.caseKey(caseID, generation: generation)
    if let wrapped = record.fields[.wrapped],
      wrapped.count == AEAD.nonceCount + AEAD.keyCount + AEAD.tagCount,
      let secret = try? AEAD.openSecret(
        Array(wrapped[24...]), key: epochKey, nonce: Array(wrapped[..<24]),
        associatedData: context)
    {
      return try? AEAD.Key(secret)
    }
    return JournalState.openSealedKey(record.fields[.sealed] ?? [], readers: readers)
  }
}
