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
    /// A combination of concurrent candidates, not a key any record introduced.
    public var isCombination = false
    /// Learned through a back-link rather than from its own record.
    public var viaLink = false
    /// The epoch whose key sealed the record that introduced it (0: unknown).
    public var epoch: UInt32 = 0

    public init(
      caseID: CaseID, generation: UInt64, wrapID: EntryID, key: AEAD.Key, isVault: Bool = false,
      viaLink: Bool = false, epoch: UInt32 = 0
    ) {
      self.caseID = caseID
      self.generation = generation
      self.wrapID = wrapID
      self.key = key
      self.isVault = isVault
      self.viaLink = viaLink
      self.epoch = epoch
    }
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
    if let known = caseKeys[caseKey.keyRef], !(known.viaLink && !caseKey.viaLink) { return false }
    caseKeys[caseKey.keyRef] = caseKey
    return true
  }

  /// The key a writer uses now: the newest epoch's key, or, when concurrent rotations
  /// brought several candidates, all of them combined (`AEAD.Key.combining`, in candidate id
  /// order). A device removed by one of the rotations lacks that rotation's candidate, so it
  /// cannot derive what is written after both are seen (DESIGN rule 1).
  public var currentEpoch: EpochKey? {
    guard let newest = epochs.keys.max(), let candidates = epochs[newest] else { return nil }
    return Self.combined(Array(candidates.prefix(6)))
  }

  static func combined(_ candidates: [EpochKey]) -> EpochKey? {
    guard let first = candidates.first else { return nil }
    if candidates.count == 1 { return first }
    return EpochKey(
      epoch: first.epoch, candidate: combinedID(candidates.map(\.candidate)),
      key: .combining(candidates.map(\.key)))
  }

  /// The id standing for a combination: BLAKE2b-256 over the sorted ids it combines.
  static func combinedID(_ ids: [EntryID]) -> EntryID {
    BLAKE2b.hash256(
      parts: [Array("anker combined key id v1".utf8) + [0]] + ids.sorted().map(\.bytes))
  }

  /// The key a writer uses for a case: its newest generation, combining concurrent
  /// candidates the same way as epoch keys. Its key reference names the combination.
  public func currentKey(of caseID: CaseID) -> CaseKey? {
    let keys = caseKeys.values.filter { $0.caseID == caseID && !$0.isCombination }
    guard let newest = keys.map(\.generation).max() else { return nil }
    let candidates = keys.filter { $0.generation == newest }.sorted { $0.wrapID < $1.wrapID }
    // Readers try combinations of at most 6 candidates; writers combine no more.
    return Self.combined(Array(candidates.prefix(6)))
  }

  static func combined(_ candidates: [CaseKey]) -> CaseKey? {
    guard let first = candidates.first else { return nil }
    if candidates.count == 1 { return first }
    var key = CaseKey(
      caseID: first.caseID, generation: first.generation,
      wrapID: combinedID(candidates.map(\.wrapID)), key: .combining(candidates.map(\.key)),
      isVault: first.isVault, epoch: candidates.map(\.epoch).max() ?? 0)
    key.isCombination = true
    return key
  }

  /// Every combination of two or more concurrent candidates (of an epoch, or of a case's
  /// generation) that a writer might have used; readers try them when a single key fails.
  /// At most 6 candidates per group are combined (57 combinations).
  func epochCombinations(_ epoch: UInt32) -> [EpochKey] {
    let candidates = Array((epochs[epoch] ?? []).prefix(6))
    return Self.subsets(candidates.count).compactMap { Self.combined($0.map { candidates[$0] }) }
  }

  mutating func addCaseCombinations() {
    let groups = Dictionary(
      grouping: caseKeys.values.filter { !$0.isCombination },
      by: { GroupKey(caseID: $0.caseID, generation: $0.generation) })
    for group in groups.values where group.count > 1 {
      let candidates = Array(group.sorted { $0.wrapID < $1.wrapID }.prefix(6))
      for subset in Self.subsets(candidates.count) {
        if let key = Self.combined(subset.map { candidates[$0] }) { add(key) }
      }
    }
  }

  private struct GroupKey: Hashable {
    let caseID: CaseID
    let generation: UInt64
  }

  /// Index subsets of size ≥ 2, each in ascending order.
  static func subsets(_ count: Int) -> [[Int]] {
    guard count >= 2 else { return [] }
    return (1..<(1 << count)).map { mask in (0..<count).filter { mask & (1 << $0) != 0 } }
      .filter { $0.count >= 2 }
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
