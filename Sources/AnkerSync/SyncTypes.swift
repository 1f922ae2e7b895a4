import AnkerCrypto
import AnkerLog

/// Where a device stands with one relay: the relay's key (pinned at first contact), how far
/// it has pulled, and the relay's signed checkpoint there. Kept by the device's store.
public struct SyncCursor: Hashable, Sendable {
  public var relayKey: Signing.PublicKey?
  public var sequence: UInt64
  public var chain: Digest256
  /// The newest checkpoint the relay signed for this device (proof for a later rollback).
  public var checkpoint: RelayCheckpoint?
  /// The highest sequence any checkpoint the relay signed for this device named, pushes
  /// included: a relay below it went back, even where this device had not pulled that far.
  public var highest: UInt64
  /// The checkpoint with the highest sequence the relay signed for this device, pushes
  /// included: shown beside a later, lower one it is proof of a rollback (`RelayProof`).
  public var signedHighest: RelayCheckpoint?

  public init(
    relayKey: Signing.PublicKey? = nil, sequence: UInt64 = 0, chain: Digest256 = .zero,
    checkpoint: RelayCheckpoint? = nil, highest: UInt64 = 0,
    signedHighest: RelayCheckpoint? = nil
  ) {
    self.relayKey = relayKey
    self.sequence = sequence
    self.chain = chain
    self.checkpoint = checkpoint
    self.highest = max(highest, sequence)
    self.signedHighest = signedHighest
  }

  /// Keeps `checkpoint` as `signedHighest` when it names a higher sequence.
  public mutating func keepSigned(_ checkpoint: RelayCheckpoint) {
    if checkpoint.sequence > (signedHighest?.sequence ?? 0) { signedHighest = checkpoint }
  }

  /// relay key or 32 zero bytes ‖ u64 BE sequence ‖ chain ‖ u64 BE highest ‖ then, in the
  /// first form, the checkpoint (optional); in the second, a byte of flags (bit 0: the
  /// checkpoint follows, bit 1: `signedHighest` follows) and those checkpoints in that order.
  /// Both forms are read; the second is written whenever `signedHighest` is known.
  public var encoded: [UInt8] {
    var out = relayKey?.bytes ?? [UInt8](repeating: 0, count: 32)
    Wire.appendU64(sequence, to: &out)
    chain.appendBytes(to: &out)
    Wire.appendU64(highest, to: &out)
    guard let signedHighest else {
      if let checkpoint { out += checkpoint.encoded }
      return out
    }
    out.append((checkpoint == nil ? 0 : 1) | 2)
    if let checkpoint { out += checkpoint.encoded }
    out += signedHighest.encoded
    return out
  }

  public init(decoding bytes: [UInt8]) throws(WireError) {
    let size = RelayCheckpoint.encodedCount
    guard [80, 80 + size, 81 + size, 81 + 2 * size].contains(bytes.count) else {
      throw WireError(.truncated, "a sync cursor has the wrong length")
    }
    let key = bytes[0..<32]
    relayKey = key.allSatisfy { $0 == 0 } ? nil : Signing.PublicKey(key)
    sequence = Wire.readU64(bytes, at: 32)
    chain = Digest256(bytes[40..<72])!
    highest = Wire.readU64(bytes, at: 72)
    checkpoint = nil
    signedHighest = nil
    if bytes.count == 80 + size {
      checkpoint = try RelayCheckpoint(decoding: Array(bytes[80...]))
    } else if bytes.count > 80 {
      let flags = bytes[80]
      let expected = flags == 2 ? 81 + size : flags == 3 ? 81 + 2 * size : -1
      guard bytes.count == expected else {
        throw WireError(.truncated, "a sync cursor's flags do not match its length")
      }
      if flags == 3 { checkpoint = try RelayCheckpoint(decoding: Array(bytes[81..<81 + size])) }
      signedHighest = try RelayCheckpoint(decoding: Array(bytes[(bytes.count - size)...]))
    }
  }
}

/// Two checkpoints one relay signed for one journal that cannot both be true of a log that
/// only grows (DESIGN rule 10): the later one (by the relay's own clock) at a lower sequence
/// (a rollback), or two at the same sequence closing the chain at different values (a fork:
/// two histories). Anyone holding the relay's public key can check them: each carries its
/// signature (`RelayCheckpoint.init(decoding:)` verifies it), and neither can be made without
/// the relay's key.
public struct RelayProof: Hashable, Sendable {
  public enum Kind: String, Sendable { case rollback, fork }

  public let earlier: RelayCheckpoint
  public let later: RelayCheckpoint

  /// Nil unless the two prove a rollback or a fork: same relay and journal, and either
  /// `later` signed no earlier than `earlier` at a lower sequence, or both at one sequence
  /// with different chain values. (Both signatures were checked when decoded.)
  public init?(earlier: RelayCheckpoint, later: RelayCheckpoint) {
    guard earlier.relay == later.relay, earlier.journal == later.journal else { return nil }
    let rollback = later.sequence < earlier.sequence && later.time >= earlier.time
    let fork = later.sequence == earlier.sequence && later.chain != earlier.chain
    guard rollback || fork else { return nil }
    self.earlier = earlier
    self.later = later
  }

  public var kind: Kind { later.sequence == earlier.sequence ? .fork : .rollback }

  /// Reads a proof as `text` writes it and checks both signatures and that it proves a
  /// rollback or a fork.
  public init(parsing text: String) throws(WireError) {
    let parts = text.split(whereSeparator: { $0 == " " || $0.isNewline })
    guard parts.count == 2, let first = Hex.decode(String(parts[0])),
      let second = Hex.decode(String(parts[1]))
    else { throw WireError(.truncated, "a relay proof is two checkpoints in hexadecimal") }
    let earlier = try RelayCheckpoint(decoding: first)
    let later = try RelayCheckpoint(decoding: second)
    guard let proof = RelayProof(earlier: earlier, later: later) else {
      throw WireError(.badSignature, "these two checkpoints prove neither a rollback nor a fork")
    }
    self = proof
  }

  /// The two signed checkpoints in hexadecimal, earlier first, separated by a space.
  public var text: String { Hex.encode(earlier.encoded) + " " + Hex.encode(later.encoded) }
}

/// Something the relay did that a device can show: named, with the relay, never silent.
public enum SyncFault: Hashable, Sendable, CustomStringConvertible {
  /// The relay's sequence went back below a checkpoint it had signed (restored from an old
  /// backup, or lying). The device re-sent what the relay lacked. `proof` holds the two
  /// checkpoints that show it, when the relay signed both (a rollback seen only in the
  /// unsigned `anker-head` has none).
  case rollback(relay: String, signed: UInt64, now: UInt64, proof: RelayProof?)
  /// The relay's sequence log does not extend the checkpoint it had signed. `proof` holds
  /// two checkpoints it signed at that sequence with different chains, when the page showed
  /// one (a log that only fails to chain up has none).
  case fork(relay: String, at: UInt64, proof: RelayProof?)
  /// Entries that a signed entry or attestation names, which the relay did not serve.
  case withheld(relay: String, ids: [EntryID])
  /// Entries the relay served that do not verify or do not fit the journal.
  case badEntries(relay: String, count: Int)
  /// Answers that could not be read (truncated, altered) even after retries.
  case garbled(relay: String, count: Int)
  /// The relay signs with a key other than the one pinned at first contact.
  case relayKeyChanged(relay: String)
  /// Entries the relay refused to store, with its reason.
  case refused(relay: String, ids: [EntryID], reason: String)

  public var description: String {
    switch self {
    case .rollback(let relay, let signed, let now, let proof):
      return "relay \(relay) went back from entry \(signed) to \(now) (restored from an older "
        + "backup?); what it lacked was sent again"
        + (proof == nil ? "" : "; it signed both (proof kept in the sync report)")
    case .fork(let relay, let at, let proof):
      return "relay \(relay) shows a history that does not continue the one it signed at \(at)"
        + (proof == nil ? "" : "; it signed both (proof kept in the sync report)")
    case .withheld(let relay, let ids):
      return "relay \(relay) does not serve \(ids.count) entries that other entries name"
    case .badEntries(let relay, let count):
      return "relay \(relay) served \(count) entries that do not verify; they were not taken"
    case .garbled(let relay, let count):
      return "relay \(relay) sent \(count) answers that could not be read"
    case .relayKeyChanged(let relay):
      return "relay \(relay) signs with a new key; its history was checked again from the start"
    case .refused(let relay, let ids, let reason):
      return "relay \(relay) refused \(ids.count) entries (\(reason))"
    }
  }
}

/// What one sync did.
public struct SyncReport: Sendable {
  public var pushed = 0
  /// Entries taken from the relay that this device did not have.
  public var received = 0
  public var relayHead: UInt64 = 0
  public var faults: [SyncFault] = []
  public var requests = 0
  public var bytesSent = 0
  public var bytesReceived = 0

  public init() {}

  public var isClean: Bool { faults.isEmpty }
}

/// Where a sync is, for a progress bar.
public struct SyncProgress: Sendable {
  public enum Phase: String, Sendable { case pushing, pulling, fetching, repairing, attesting }
  public var phase: Phase
  public var done: Int
  public var total: Int?
}

/// Why a sync stopped. Everything taken or acknowledged before it is kept; the next sync
/// resumes from there.
public struct SyncError: Error, Hashable, Sendable, CustomStringConvertible {
  public enum Code: String, Sendable {
    /// The relay cannot be reached or keeps failing.
    case unreachable
    /// The relay refused this device (`revoked`, `unknownDevice`, `badSignature`...).
    case refused
    /// This device's own store failed.
    case local
    /// The relay's answers make no sense even after retries.
    case protocolViolation
  }

  public let code: Code
  public let message: String
  /// The relay's error code, when it sent one.
  public let relayCode: String?

  public init(_ code: Code, _ message: String, relayCode: String? = nil) {
    self.code = code
    self.message = message
    self.relayCode = relayCode
  }

  public var description: String { "sync/\(code.rawValue): \(message)" }
}

/// What a sync needs from the device's journal. Each call is durable when it returns.
public protocol SyncLocal: AnyObject {
  var journalID: JournalID { get throws(SyncError) }
  var device: Signing.PrivateKey { get throws(SyncError) }
  /// The genesis entry (to create the journal on a relay that lacks it).
  func genesis() throws(SyncError) -> Entry
  /// This device's entries the relay has not acknowledged, oldest first.
  func outbox() throws(SyncError) -> [Entry]
  func acknowledge(_ ids: [EntryID]) throws(SyncError)
  /// The stored entries among `ids`.
  func entries(_ ids: [EntryID]) throws(SyncError) -> [Entry]
  /// Every stored id, in the order stored (parents before children).
  func allIDs() throws(SyncError) -> [EntryID]
  /// Authenticates, places and stores entries from the relay.
  func take(_ entries: [Entry]) throws(SyncError) -> TakeResult
  /// Parents still missing among entries taken but not yet placed.
  func missingParents() throws(SyncError) -> [EntryID]
  func contains(_ id: EntryID) throws(SyncError) -> Bool
  /// Whether `device` is (or was) a member of the journal (to weigh its attestations).
  func isMember(_ device: Signing.PublicKey) throws(SyncError) -> Bool
  func cursor(relay: String) throws(SyncError) -> SyncCursor
  func saveCursor(_ cursor: SyncCursor, relay: String) throws(SyncError)
  /// This device's attestation of its heads (less `excluding`), signed now.
  func attestation(now: UInt64, excluding: Set<EntryID>) throws(SyncError) -> HeadAttestation
  /// Evaluates the state once after the entries taken (the end of a sync).
  func finish() throws(SyncError)
}

extension SyncLocal {
  public func attestation(now: UInt64) throws(SyncError) -> HeadAttestation {
    try attestation(now: now, excluding: [])
  }
}

/// What `take` did.
public struct TakeResult: Sendable {
  /// Entries new to this device and stored.
  public var stored: Int
  /// Entries that did not authenticate or fit the journal.
  public var rejected: Int
  /// Ids taken that wait for a parent (not stored yet).
  public var waiting: Set<EntryID>

  public init(stored: Int, rejected: Int, waiting: Set<EntryID>) {
    self.stored = stored
    self.rejected = rejected
    self.waiting = waiting
  }
}
