import AnkerCrypto
import AnkerLog

/// The keys one reader has recovered from the log: epoch keys (from control wraps and epoch
/// links) and case keys (from case-key records and their back-links). All in secure memory.
public struct KeyRing: Sendable {
  /// One key per candidate: concurrent rotations to one epoch number each bring a candidate.
  public struct EpochKey: Sendable {
    public let epoch: UInt32
    /// The control entry that sealed it.
    public let candidate: EntryID
    public let key: AEAD.Key
  }

  public struct CaseKey: Sendable {
    public let caseID: CaseID
    public let generation: UInt64
    /// The case-key record that introduced it.
    public let wrapID: EntryID
    public let key: AEAD.Key
    /// A client's identity vault key rather than a case key (`caseID` is the client id).
    public var isVault = false
    public var keyRef: Digest256 { KeyRing.keyRef(wrapID) }
  }

  /// epoch number → candidates, ascending by candidate id.
  public private(set) var epochs: [UInt32: [EpochKey]] = [:]
  /// key reference → case key.
  public private(set) var caseKeys: [Digest256: CaseKey] = [:]

  /// The reference a sealed body's hint carries for content under a case key: BLAKE2b-256 of
  /// a domain string and the id of the case-key record. Zero means "the epoch key itself".
  public static func keyRef(_ wrapID: EntryID) -> Digest256 {
    BLAKE2b.hash256(parts: [Array("anker case key ref v1".utf8) + [0], wrapID.bytes])
  }

  @discardableResult
  mutating func add(epoch: UInt32, candidate: EntryID, key: AEAD.Key) -> Bool {
    if epochs[epoch]?.contains(where: { $0.candidate == candidate }) == true { return false }
    epochs[epoch, default: []].append(EpochKey(epoch: epoch, candidate: candidate, key: key))
    epochs[epoch]!.sort { $0.candidate < $1.candidate }
    return true
  }

  @discardableResult
  mutating func add(_ caseKey: CaseKey) -> Bool {
    guard caseKeys[caseKey.keyRef] == nil else { return false }
    caseKeys[caseKey.keyRef] = caseKey
    return true
  }

  /// The key a writer uses now: the newest epoch, and its smallest candidate, so that
  /// concurrent rotations settle the same way everywhere.
  public var currentEpoch: EpochKey? {
    epochs.keys.max().flatMap { epochs[$0]?.first }
  }

  /// The key a writer uses for a case: its newest generation, smallest record id.
  public func currentKey(of caseID: CaseID) -> CaseKey? {
    caseKeys.values.filter { $0.caseID == caseID }
      .max { ($0.generation, $1.wrapID) < ($1.generation, $0.wrapID) }
  }

  /// Forgets every key of a case (after a crypto-shred).
  mutating func forget(_ caseID: CaseID) {
    caseKeys = caseKeys.filter { $0.value.caseID != caseID }
  }
}

/// Associated data for wrapped keys inside records.
enum WrapContext {
  static func caseKey(_ caseID: CaseID, generation: UInt64) -> [UInt8] {
    var writer = ByteWriter()
    writer.append(Array("anker case key v1".utf8) + [0])
    writer.append(caseID.bytes)
    writer.varint(generation)
    return writer.bytes
  }

  static func previousCaseKey(_ caseID: CaseID, previous: EntryID) -> [UInt8] {
    Array("anker previous case key v1".utf8) + [0] + caseID.bytes + previous.bytes
  }

  static func epochLink(epoch: UInt32, previous: UInt32, candidate: EntryID) -> [UInt8] {
    var writer = ByteWriter()
    writer.append(Array("anker epoch link v1".utf8) + [0])
    writer.u32(epoch)
    writer.u32(previous)
    writer.digest(candidate)
    return writer.bytes
  }
}
