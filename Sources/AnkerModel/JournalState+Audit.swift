import AnkerCrypto
import AnkerLog

/// One read of a case: who opened it, on which device's entry, and when (ms).
public struct ReadEvent: Hashable, Sendable {
  /// The read-audit entry that reported it.
  public let entry: EntryID
  public let person: PersonID?
  public let caseID: CaseID
  public let time: UInt64
}

/// The read audit (DESIGN rule 12): a device records locally which cases it opened and when,
/// then writes them in one entry whose reads are sealed to the admin devices and the
/// recovery key only. Layout of the reads: (case id [16] ‖ time u64 BE) each.
extension JournalState {
  static let auditContext = Array("anker read audit v1".utf8) + [0]

  mutating func applyReadAudit(_ record: Record, entry: Entry, author: PersonID?) {
    guard let payload = record.fields[.payload],
      payload.count >= AEAD.nonceCount + AEAD.tagCount,
      let key = Self.openSealedKey(record.fields[.sealed] ?? [], readers: readers),
      let reads = try? AEAD.open(
        payload[AEAD.nonceCount...], key: key, nonce: Array(payload[..<AEAD.nonceCount]),
        associatedData: Self.auditContext),
      reads.count % 24 == 0
    else { return }
    for start in stride(from: 0, to: reads.count, by: 24) {
      guard let caseID = CaseID(reads[start..<start + 16]) else { continue }
      let time = reads[start + 16..<start + 24].reduce(0) { $0 << 8 | UInt64($1) }
      readAudit.append(ReadEvent(entry: entry.id, person: author, caseID: caseID, time: time))
    }
  }

  /// The key in a (recipient [32] ‖ sealed box) list that one of `readers` can open.
  static func openSealedKey(_ sealed: [UInt8], readers: [Box.PrivateKey]) -> AEAD.Key? {
    let size = 32 + KeyWrap.sealedCount
    guard sealed.count % size == 0 else { return nil }
    for start in stride(from: 0, to: sealed.count, by: size) {
      guard let recipient = Box.PublicKey(sealed[start..<start + 32]),
        let reader = readers.first(where: { $0.publicKey == recipient }),
        let secret = try? Box.open(Array(sealed[start + 32..<start + size]), with: reader)
      else { continue }
      return try? AEAD.Key(secret)
    }
    return nil
  }
}

extension JournalWriter {
  /// Writes the reads this device recorded (case, time in ms) as one read-audit entry: the
  /// reads are sealed under a fresh key, itself sealed to every active admin device and the
  /// recovery key, so only they can read who opened what.
  public mutating func writeReadAudit(
    _ reads: [(caseID: CaseID, time: UInt64)], state: JournalState, dag: inout DAG,
    now: UInt64, using random: inout some RandomSource
  ) throws(ModelError) -> Entry {
    let key = AEAD.Key(using: &random)
    var boxes = state.membership.activeDevices.filter { $0.role == .admin }.map(\.box)
    boxes.append(state.membership.recoveryBox)
    var sealed = [UInt8]()
    for box in Set(boxes).sorted() { sealed += box.bytes + Box.seal(key.secret, to: box) }
    var plain = [UInt8]()
    for read in reads {
      plain += read.caseID.bytes
      withUnsafeBytes(of: read.time.bigEndian) { plain += $0 }
    }
    var record = record(.readAudit, now: now)
    record.fields[.sealed] = sealed
    // The sealed body around the record already binds it to the entry's position.
    let nonce = random.bytes(AEAD.nonceCount)
    record.fields[.payload] =
      nonce + AEAD.seal(plain, key: key, nonce: nonce, associatedData: JournalState.auditContext)
    return try seal(record, caseKey: nil, state: state, dag: &dag, using: &random)
  }

  /// Approves exporting `caseID`'s protected fields for `person` (someone else), until
  /// `expiry` (ms).
  public mutating func approveExport(
    of caseID: CaseID, for person: PersonID, expiry: UInt64, state: JournalState,
    dag: inout DAG, now: UInt64, using random: inout some RandomSource
  ) throws(ModelError) -> Entry {
    guard state.person(of: device.publicKey) != person else {
      throw ModelError(.invalidValue, "a second person must approve: not the one exporting")
    }
    let key = try writableKey(caseID, state: state, dag: &dag, now: now, using: &random)
    var record = record(.exportApproval, now: now)
    record[person: .person] = person
    record[number: .expiry] = expiry
    return try seal(record, caseKey: key, state: state, dag: &dag, using: &random)
  }
}
