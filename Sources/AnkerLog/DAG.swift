import AnkerCrypto

/// The journal's hash DAG: entries linked to their parents, inserted in any order.
///
/// It holds only authenticated entries (see `ChainVerification`) and checks how each fits:
/// right journal, one root (the pinned genesis), Lamport = 1 + max(parents), `prev` by the
/// same author at sequence − 1. An entry whose parents are missing waits, and is placed the
/// moment the last one arrives. Causal order is (Lamport, id) ascending: a topological order
/// every device computes alike, whatever the order of arrival.
public struct DAG: Sendable {
  public let journal: JournalID
  public let genesisID: EntryID

  /// Every placed entry. It grows without rehashing everything at once, and it is the only
  /// table with a bucket per entry, so growing touches little fresh memory (DECISIONS 49).
  private var nodes = SteadyDictionary<EntryID, Node>()
  private var waiting: [EntryID: Entry] = [:]
  /// missing parent id → ids of waiting entries that need it.
  private var missing: [EntryID: Set<EntryID>] = [:]
  private var headSet: Set<EntryID> = []
  /// Each author's entries by sequence number (index sequence − 1), the first placed at each:
  /// a chain only grows at its end, since an entry is placed after its `prev`.
  private var chains: [Signing.PublicKey: [EntryID]] = [:]
  /// First entries at sequences beyond the end of their author's chain: a frontier DAG's.
  private var scattered: [Slot: EntryID] = [:]
  /// Any further entries at a sequence (a cloned device): rare.
  private var clones: [Slot: [EntryID]] = [:]
  /// Entries that waited for parents and, once those arrived, did not fit.
  public private(set) var rejected: [EntryID: LogError] = [:]
  /// True for a frontier DAG (`init(frontier:heads:)`): it places a device's next entries
  /// but holds too little to evaluate membership or the state.
  public private(set) var isPartial = false

  struct Slot: Hashable, Sendable {
    let author: Signing.PublicKey
    let sequence: UInt64
  }

  struct Node: Sendable {
    var entry: Entry
    /// See `mark(of:)`.
    var mark: UInt64 = 0
  }

  /// A DAG pinned to one journal's genesis (rule 6: a device never accepts another genesis).
  public init(genesis: Entry) throws(LogError) {
    guard genesis.parents.isEmpty, genesis.sequence == 1, genesis.lamport == 1,
      case .genesis? = genesis.control
    else { throw LogError(.invalidGenesis, "the first entry is not a genesis entry") }
    journal = genesis.header.journal
    genesisID = genesis.id
    place(genesis)
  }

  /// A DAG of only the genesis, the heads and a device's newest entry (bodies may be
  /// detached): what that device needs to place its next entries, which cite only the heads
  /// and follow its own newest. Everything else (membership, causal order, imports) needs
  /// the whole DAG.
  package init(frontier entries: [Entry], heads: [EntryID]) throws(LogError) {
    guard let genesis = entries.first else {
      throw LogError(.invalidGenesis, "a frontier starts with the genesis")
    }
    try self.init(genesis: genesis)
    for entry in entries.dropFirst() where nodes[entry.id] == nil {
      guard entry.header.journal == journal else {
        throw LogError(.wrongJournal, "a frontier entry belongs to another journal")
      }
      place(entry)
    }
    guard heads.allSatisfy({ nodes[$0] != nil }) else {
      throw LogError(.invalidGenesis, "a frontier lacks one of its heads")
    }
    headSet = Set(heads)
    isPartial = true
  }

  /// The entries `init(frontier:heads:)` needs for a device whose newest entry is `own`:
  /// the genesis, the heads and `own`, bodies detached except the genesis's.
  package func frontier(own: EntryID?) -> [Entry] {
    var ids = headSet
    if let own { ids.insert(own) }
    ids.remove(genesisID)
    return [genesis] + ids.sorted().compactMap { self[$0]?.detachingBody() }
  }

  /// What an insertion did.
  public enum Insertion: Hashable, Sendable {
    /// These entries were placed (the new one and any that were waiting on it).
    case placed([EntryID])
    /// Already known: nothing changed.
    case duplicate
    /// Parents are missing; the entry waits for them.
    case waiting(missing: [EntryID])
  }

  /// Inserts an authenticated entry. Throws when it can never fit this journal; entries
  /// waiting on a rejected entry keep waiting (and show up in `missingParents`).
  @discardableResult
  public mutating func insert(_ entry: Entry) throws(LogError) -> Insertion {
    if let known = self[entry.id] {
      // The same entry with its body, after a copy without: keep the body.
      if known.body == nil, entry.body != nil {
        nodes.modifyIfPresent(entry.id) { $0.entry = entry }
      }
      return .duplicate
    }
    if let known = waiting[entry.id] {
      if known.body == nil, entry.body != nil { waiting[entry.id] = entry }
      return .duplicate
    }
    guard entry.header.journal == journal else {
      throw LogError(.wrongJournal, "entry \(entry.id.short) belongs to another journal")
    }
    guard !entry.parents.isEmpty else {
      throw LogError(
        .unexpectedRoot, "entry \(entry.id.short) has no parents but is not the genesis")
    }
    let absent = entry.parents.filter { nodes[$0] == nil }
    if !absent.isEmpty {
      waiting[entry.id] = entry
      for parent in absent { missing[parent, default: []].insert(entry.id) }
      return .waiting(missing: absent)
    }
    try check(entry)
    place(entry)
    var placed = [entry.id]
    var ready = [entry.id]
    while let id = ready.popLast() {
      guard let dependants = missing.removeValue(forKey: id) else { continue }
      for dependantID in dependants.sorted() {
        guard let dependant = waiting[dependantID],
          dependant.parents.allSatisfy({ nodes[$0] != nil })
        else { continue }
        waiting[dependantID] = nil
        // A waiting entry that cannot fit is dropped here; its own dependants keep waiting.
        do { try check(dependant) } catch {
          rejected[dependantID] = error
          continue
        }
        place(dependant)
        placed.append(dependantID)
        ready.append(dependantID)
      }
    }
    return .placed(placed)
  }

  private func check(_ entry: Entry) throws(LogError) {
    var maxLamport: UInt64 = 0
    for parent in entry.parents { maxLamport = max(maxLamport, self[parent]!.lamport) }
    guard entry.lamport == maxLamport + 1 else {
      throw LogError(
        .lamportMismatch,
        "entry \(entry.id.short) has Lamport \(entry.lamport), expected \(maxLamport + 1)")
    }
    if let prev = entry.prev {
      let previous = self[prev]!
      guard previous.author == entry.author, previous.sequence + 1 == entry.sequence else {
        throw LogError(
          .prevMismatch, "entry \(entry.id.short) does not follow its author's previous entry")
      }
    }
  }

  private mutating func place(_ entry: Entry) {
    nodes.updateValue(Node(entry: entry), forKey: entry.id)
    for parent in entry.parents { headSet.remove(parent) }
    headSet.insert(entry.id)
    let slot = Slot(author: entry.author, sequence: entry.sequence)
    if entry.sequence == UInt64(chains[entry.author]?.count ?? 0) + 1, scattered[slot] == nil {
      chains[entry.author, default: []].append(entry.id)
    } else if first(in: slot) == nil {
      scattered[slot] = entry.id
    } else {
      clones[slot, default: []].append(entry.id)
    }
  }

  /// The first entry placed at `slot`.
  private func first(in slot: Slot) -> EntryID? {
    if slot.sequence >= 1, let chain = chains[slot.author], slot.sequence <= UInt64(chain.count) {
      return chain[Int(slot.sequence - 1)]
    }
    return scattered[slot]
  }

  /// A number kept with a placed entry for the DAG's owner, 0 until set: the relay keeps its
  /// sequence number here, so it needs no second table of every id (DECISIONS 49).
  package func mark(of id: EntryID) -> UInt64? { nodes[id]?.mark }

  /// Sets `mark(of:)` for a placed entry; false if `id` is not placed.
  @discardableResult
  package mutating func setMark(_ mark: UInt64, of id: EntryID) -> Bool {
    nodes.modifyIfPresent(id) { $0.mark = mark } != nil
  }

  // MARK: - Reading

  public var count: Int { nodes.count }
  /// Every placed entry, in no particular order.
  public var allEntries: some Sequence<Entry> { nodes.values.lazy.map(\.entry) }
  public subscript(id: EntryID) -> Entry? { nodes[id]?.entry }
  public func contains(_ id: EntryID) -> Bool { nodes[id] != nil }
  public var genesis: Entry { self[genesisID]! }

  /// Entries no other entry names as a parent, ascending by id.
  public var heads: [EntryID] { headSet.sorted() }

  /// Ids of entries still waiting for parents, ascending.
  public var waitingIDs: [EntryID] { waiting.keys.sorted() }

  /// Parents that some waiting entry needs and nobody has supplied, ascending.
  public var missingParents: [EntryID] {
    missing.keys.filter { nodes[$0] == nil && waiting[$0] == nil }.sorted()
  }

  /// Every placed entry in causal order: (Lamport, id) ascending.
  public var causalOrder: [Entry] {
    allEntries.sorted { ($0.lamport, $0.id) < ($1.lamport, $1.id) }
  }

  /// Two or more entries by one author with one sequence number: a cloned device. Each group
  /// is sorted by id; the groups by (author, sequence).
  public var equivocations: [[Entry]] {
    clones.keys
      .sorted { ($0.author, $0.sequence) < ($1.author, $1.sequence) }
      .map { slot in ([first(in: slot)!] + clones[slot]!).sorted().map { self[$0]! } }
  }

  /// The entries of one author at one sequence number.
  public func entries(author: Signing.PublicKey, sequence: UInt64) -> [Entry] {
    let slot = Slot(author: author, sequence: sequence)
    guard let first = first(in: slot) else { return [] }
    return ([first] + (clones[slot] ?? [])).map { self[$0]! }
  }

  /// True when `ancestor` is reachable from `descendant` through parents (an entry is not
  /// its own ancestor). Searches backwards, pruned by Lamport number.
  public func isAncestor(_ ancestor: EntryID, of descendant: EntryID) -> Bool {
    guard let target = self[ancestor], let start = self[descendant],
      target.lamport < start.lamport
    else { return false }
    var seen: Set<EntryID> = []
    var stack = start.parents
    while let id = stack.popLast() {
      if id == ancestor { return true }
      guard seen.insert(id).inserted, let node = self[id], node.lamport > target.lamport else {
        continue
      }
      stack.append(contentsOf: node.parents)
    }
    return false
  }

  /// The ids along `prev` from `id` back to the author's first entry, `id` included.
  public func chain(endingAt id: EntryID) -> Set<EntryID> {
    var out: Set<EntryID> = []
    var current: EntryID? = id
    while let value = current, let node = self[value] {
      out.insert(value)
      current = node.prev
    }
    return out
  }

  /// What an author's next entry must carry: sequence, prev, parents (the current heads)
  /// and Lamport number. `lastOwn` is the author's newest entry, if any.
  public func nextPosition(after lastOwn: EntryID?) -> (
    sequence: UInt64, prev: EntryID?, parents: [EntryID], lamport: UInt64
  ) {
    var parents = headSet
    var sequence: UInt64 = 1
    if let lastOwn, let own = self[lastOwn] {
      sequence = own.sequence + 1
      parents.remove(lastOwn)
      if parents.count >= Limits.maxParents {
        // Too many concurrent heads: cite the newest; the rest are merged by later entries.
        let newest = parents.sorted { (self[$0]!.lamport, $0) > (self[$1]!.lamport, $1) }
        parents = Set(newest.prefix(Limits.maxParents - 1))
      }
      parents.insert(lastOwn)
    } else if parents.count > Limits.maxParents {
      let newest = parents.sorted { (self[$0]!.lamport, $0) > (self[$1]!.lamport, $1) }
      parents = Set(newest.prefix(Limits.maxParents))
    }
    let lamport = 1 + parents.map { self[$0]!.lamport }.max()!
    return (sequence, lastOwn, parents.sorted(), lamport)
  }
}
