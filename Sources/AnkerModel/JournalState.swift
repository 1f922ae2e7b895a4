import AnkerCrypto
import AnkerLog

/// Something in the log a person should know about. Faults never carry content.
public enum Fault: Hashable, Sendable {
  /// Two entries with one author and sequence: a cloned device. Both are kept.
  case equivocation([EntryID])
  /// A body is missing and no erasure lists it (DESIGN rule 4): fetch it, or the relay
  /// withholds it.
  case missingBody(EntryID)
  /// A record this reader could decrypt but not parse.
  case malformedRecord(EntryID)
  /// A key record, epoch link or shred its author had no right to write: ignored.
  case refusedRecord(EntryID)
  /// A record whose clock reads more than five minutes ahead of this device's: kept, shown
  /// with its time, never allowed to reorder anything (causal order comes from the DAG).
  case farFutureClock(EntryID)
  /// A rotation whose new key is sealed to a removed device, or not to a device that
  /// remained (DESIGN rule 1). Admins should rotate again (`shareNewestKey`).
  case rotationWraps(EntryID)
}

public struct PersonState: Hashable, Sendable {
  public let id: PersonID
  public internal(set) var name = Register()
  public internal(set) var devices: [Signing.PublicKey] = []
  public internal(set) var isAdmin = false
}

public struct ClientState: Hashable, Sendable {
  public let id: ClientID
  public internal(set) var alias: String = ""
  public internal(set) var code: String = ""
  public internal(set) var ageBand: String?
  public internal(set) var languages: [String] = []
  public internal(set) var pronouns: String?
  public internal(set) var fields: [String: Register] = [:]
  public internal(set) var created: Timestamp?
  /// The identity vault (legal name, ID number, address…): under its own key, never required.
  public internal(set) var identity: [String: Register] = [:]
  public internal(set) var vaultReadable = false
  public internal(set) var vaultGeneration: UInt64 = 0
  public internal(set) var vaultRestrictedTo: [PersonID] = []
  /// The vault's entries (key records and fields).
  public internal(set) var vaultEntries: Set<EntryID> = []
}

/// The journal as one reader sees it: a pure function of the valid entries and the keys the
/// reader holds. The same entries and keys give the same state and `digest` on every device,
/// whatever the order they arrived in.
public struct JournalState: Sendable {
  public internal(set) var people: [PersonID: PersonState] = [:]
  public internal(set) var clients: [ClientID: ClientState] = [:]
  public internal(set) var cases: [CaseID: CaseState] = [:]
  public internal(set) var faults: [Fault] = []
  /// Entries this reader cannot decrypt (restricted cases, epochs before it joined without a
  /// link, or after its removal).
  public internal(set) var unreadable: Set<EntryID> = []
  /// Entries gone by a crypto-shred: bodies an erasure lists, and entries under the keys of
  /// a shredded case.
  public internal(set) var erased: Set<EntryID> = []
  /// Cases shredded (their ids only: nothing else of them remains).
  public internal(set) var shreddedCases: Set<CaseID> = []
  /// Entries of shredded cases written concurrently with the shred, whose bodies no erasure
  /// lists yet: an admin's `completeShreds` erases them.
  public internal(set) var shredLeftovers: Set<EntryID> = []
  /// The newest epoch any valid control entry introduced, and, for it, the X25519 keys that
  /// received every candidate (so can derive the key writers use).
  public internal(set) var newestEpoch: UInt32 = 1
  public internal(set) var newestEpochRecipients: Set<Box.PublicKey> = []
  /// Each placed entry's index in causal order (for timelines); not part of the digest.
  public internal(set) var position: [EntryID: Int] = [:]
  /// The keys recovered; not part of the digest.
  public internal(set) var keys = KeyRing()
  /// Reads recorded by read-audit entries this reader can open (admins and the recovery
  /// key), in causal order.
  public internal(set) var readAudit: [ReadEvent] = []
  /// The reader's X25519 keys, which open read audits.
  var readers: [Box.PrivateKey]

  /// This state without any key (recovered keys and the reader's own): what a library hands
  /// its callers, so that no key outlives a lock in a copy the caller kept.
  package func withoutKeys() -> JournalState {
    var copy = self
    copy.keys = KeyRing()
    copy.readers = []
    return copy
  }
  public internal(set) var membership: Membership
  /// Every placed entry's id in causal order.
  var orderIDs: [EntryID] = []
  /// BLAKE2b-256 over the ids of every placed entry in causal order: equal on every device
  /// with the same entries, whatever its keys.
  public var logDigest: Digest256 {
    var hasher = BLAKE2b.Hasher()
    for id in orderIDs { hasher.update(id.bytes) }
    return hasher.finalize().withUnsafeBytes { Digest256(unsafeBytes: $0) }
  }

  /// The person behind a device key.
  public func person(of device: Signing.PublicKey) -> PersonID? {
    membership.devices[device]?.person
  }

  /// Builds the state from `dag` for a reader holding `readers` (its device's X25519 key;
  /// during a restore, the recovery key's). `now` (ms) decides time locks.
  public init(
    dag: DAG, readers: [Box.PrivateKey], now: UInt64, firstSeen: [EntryID: UInt64] = [:]
  ) {
    self.init(
      dag: dag, readers: readers, now: now,
      membership: Membership(dag: dag, now: now, firstSeen: firstSeen))
  }

  /// As `init(dag:readers:now:firstSeen:)`, with the membership of `dag` at `now` already
  /// evaluated (`Membership(dag:now:firstSeen:)` with the same arguments): a caller that
  /// must check admission before anything else does not evaluate it twice.
  package init(dag: DAG, readers: [Box.PrivateKey], now: UInt64, membership: Membership) {
    self.membership = membership
    self.readers = readers
    let order = dag.causalOrder
    position.reserveCapacity(order.count)
    for (index, entry) in order.enumerated() { position[entry.id] = index }
    orderIDs = order.map(\.id)
    // Validity and the control entries among the valid, looked up once for every pass below.
    let valid = order.map { membership.isValid($0.id) }
    let controls = order.indices.filter { valid[$0] && order[$0].bodyKind == .control }
    var reader = Decryptor(
      order: order, valid: valid, controls: controls, membership: membership, readers: readers)
    reader.run()
    keys = reader.keys
    erased = reader.erased
    shreddedCases = reader.shredded
    shredLeftovers = reader.shredLeftovers
    unreadable = reader.unreadable
    for group in dag.equivocations { faults.append(.equivocation(group.map(\.id))) }
    for id in reader.refused.sorted() { faults.append(.refusedRecord(id)) }
    checkRotationWraps(dag: dag, controls: controls.map { order[$0] })
    for id in membership.missingBodies where !reader.erasedIDs.contains(id) {
      faults.append(.missingBody(id))
    }
    // Who can derive the newest epoch key: the recipients of every entry that introduced a
    // candidate for it, plus devices admitted with that epoch (which were sealed the key
    // writers use).
    var introduced: [UInt32: [Set<Box.PublicKey>]] = [:]
    var admitted: [UInt32: Set<Box.PublicKey>] = [:]
    for index in controls {
      switch order[index].control {
      case .genesis(let value)?:
        introduced[1, default: []].append(Set(value.wraps.map(\.recipient)))
      case .deviceRemoved(let value)?:
        introduced[UInt32(value.epoch), default: []].append(Set(value.wraps.map(\.recipient)))
      case .epochRotated(let value)?:
        introduced[UInt32(value.epoch), default: []].append(Set(value.wraps.map(\.recipient)))
      case .deviceAdded(let value)?:
        admitted[UInt32(value.epoch), default: []].formUnion(value.wraps.map(\.recipient))
      default: break
      }
    }
    newestEpoch = introduced.keys.max() ?? 1
    let candidates = introduced[newestEpoch] ?? []
    newestEpochRecipients = candidates.dropFirst().reduce(into: candidates.first ?? []) {
      $0.formIntersection($1)
    }.union(admitted[newestEpoch] ?? [])
    for (index, entry) in order.enumerated() where valid[index] {
      if let control = entry.control { applyControl(control, entry) }
      guard let decoded = reader.records[entry.id] else { continue }
      switch decoded {
      case .record(let record, let key):
        if record.time.milliseconds > now + HybridLogicalClock.maxDriftMilliseconds {
          faults.append(.farFutureClock(entry.id))
        }
        apply(record, entry: entry, key: key)
      case .malformed:
        faults.append(.malformedRecord(entry.id))
      }
    }
    for caseID in shreddedCases { cases[caseID] = nil }
    for key in keys.caseKeys.values {
      if key.isVault {
        clients[key.caseID, default: ClientState(id: key.caseID)].vaultReadable = true
      } else {
        cases[key.caseID, default: CaseState(id: key.caseID)].readable = true
      }
    }
    // Readable means holding the newest generation: a member left out of a restriction keeps
    // the history it could read, but the case is no longer its to read or write.
    for (caseID, caseState) in cases where caseState.readable {
      let newest = keys.currentKey(of: caseID)?.generation ?? 0
      if newest < caseState.generation { cases[caseID]?.readable = false }
    }
    for (clientID, client) in clients where client.vaultReadable {
      let newest = keys.currentKey(of: clientID)?.generation ?? 0
      if newest < client.vaultGeneration { clients[clientID]?.vaultReadable = false }
    }
  }

  private mutating func applyControl(_ control: Control, _ entry: Entry) {
    switch control {
    case .genesis, .deviceAdded, .recoveryEnrolment:
      guard let device = membership.devices.values.first(where: { $0.admittedBy == entry.id })
      else { return }
      var person = people[device.person] ?? PersonState(id: device.person)
      person.devices.append(device.key)
      person.devices.sort()
      person.isAdmin = person.isAdmin || device.role == .admin
      people[device.person] = person
    default:
      break
    }
  }
}
