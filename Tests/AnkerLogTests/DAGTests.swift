import AnkerCrypto
import Testing

@testable import AnkerLog

@Suite struct DAGTests {
  /// A 1,000-entry journal written by five devices that sync irregularly, so the DAG has
  /// real concurrency (many heads at times), not one line.
  static func busyJournal(entries: Int, seed: UInt64) -> LogBuilder {
    var builder = LogBuilder(seed: seed)
    var writers = [builder.admin]
    for _ in 0..<4 { writers.append(builder.addDevice(role: .worker).key) }
    var stale: [Signing.PublicKey: [EntryID]] = [:]
    while builder.dag.count < entries {
      let writer = writers[builder.random.next(below: writers.count)]
      // Sometimes a writer has not synced: it cites an old view.
      if builder.random.next(below: 3) == 0, let old = stale[writer.publicKey] {
        builder.append(writer, body: [], parents: old)
      } else {
        builder.append(writer, body: [])
        stale[writer.publicKey] = builder.dag.heads
      }
    }
    return builder
  }

  /// Two different notes at `key`'s next position, as a cloned device writes them; neither
  /// is placed in the builder's DAG.
  static func clones(of key: Signing.PrivateKey, in builder: inout LogBuilder) -> (Entry, Entry) {
    let draft = builder.draft(key.publicKey)
    let left = draft.sign(body: builder.sealedBody([1], for: draft), with: key)
    let right = draft.sign(body: builder.sealedBody([2], for: draft), with: key)
    return (left, right)
  }

  @Test func sameEntriesInAnyOrderGiveSameHeadsAndOrder() throws {
    let builder = Self.busyJournal(entries: 1000, seed: 20)
    let entries = builder.dag.causalOrder
    #expect(entries.count == 1000)
    let expectedHeads = builder.dag.heads
    #expect(expectedHeads.count > 1)
    let expectedOrder = entries.map(\.id)
    var random = SeededRandom(seed: 21)
    for _ in 0..<100 {
      var delivery = entries.dropFirst().map { $0 }
      for _ in 0..<50 { delivery.append(delivery[random.next(below: delivery.count)]) }
      shuffle(&delivery, &random)
      var dag = try DAG(genesis: builder.genesis)
      for entry in delivery { try dag.insert(entry) }
      #expect(dag.waitingIDs.isEmpty)
      #expect(dag.heads == expectedHeads)
      #expect(dag.causalOrder.map(\.id) == expectedOrder)
    }
  }

  @Test func causalOrderPutsParentsFirst() {
    let builder = Self.busyJournal(entries: 300, seed: 22)
    var position: [EntryID: Int] = [:]
    for (index, entry) in builder.dag.causalOrder.enumerated() { position[entry.id] = index }
    for entry in builder.dag.causalOrder {
      for parent in entry.parents { #expect(position[parent]! < position[entry.id]!) }
    }
  }

  @Test func entriesWaitForMissingParents() throws {
    var builder = LogBuilder(seed: 23)
    let one = builder.note(builder.admin, [1])
    let two = builder.note(builder.admin, [2])
    var dag = try DAG(genesis: builder.genesis)
    #expect(try dag.insert(two) == .waiting(missing: [one.id]))
    #expect(dag.missingParents == [one.id])
    #expect(!dag.contains(two.id))
    #expect(try dag.insert(one) == .placed([one.id, two.id]))
    #expect(dag.heads == [two.id])
    #expect(try dag.insert(two) == .duplicate)
  }

  @Test func rejectsEntriesThatCannotFit() throws {
    var builder = LogBuilder(seed: 24)
    let note = builder.note(builder.admin, [1])
    var dag = try DAG(genesis: builder.genesis)
    // Wrong Lamport number.
    let badLamport = EntryDraft(
      journal: builder.journal, author: builder.admin.publicKey, sequence: 2,
      prev: builder.genesis.id, parents: [builder.genesis.id], lamport: 5
    ).sign(body: [], with: builder.admin)
    #expect(
      performing: { try dag.insert(badLamport) },
      throws: { ($0 as? LogError)?.code == .lamportMismatch })
    // Another journal.
    let other = LogBuilder(seed: 25)
    #expect(
      performing: { try dag.insert(other.genesis) },
      throws: { ($0 as? LogError)?.code == .wrongJournal })
    // A second root in this journal.
    let root = EntryDraft.genesis(journal: builder.journal, author: builder.admin.publicKey)
      .sign(body: [], with: builder.admin)
    #expect(
      performing: { try dag.insert(root) }, throws: { ($0 as? LogError)?.code == .unexpectedRoot })
    // prev by another author.
    let worker = Signing.PrivateKey(using: &builder.random)
    let stolenPrev = EntryDraft(
      journal: builder.journal, author: worker.publicKey, sequence: 2, prev: note.id,
      parents: [note.id], lamport: note.lamport + 1
    ).sign(body: [], with: worker)
    try dag.insert(note)
    #expect(
      performing: { try dag.insert(stolenPrev) },
      throws: { ($0 as? LogError)?.code == .prevMismatch })
    #expect(dag.count == 2)
  }

  @Test func aWaitingEntryThatCannotFitIsReported() throws {
    var builder = LogBuilder(seed: 26)
    let one = builder.note(builder.admin, [1])
    let bad = EntryDraft(
      journal: builder.journal, author: builder.admin.publicKey, sequence: 3, prev: one.id,
      parents: [one.id], lamport: 9
    ).sign(body: [], with: builder.admin)
    var dag = try DAG(genesis: builder.genesis)
    _ = try dag.insert(bad)
    #expect(try dag.insert(one) == .placed([one.id]))
    #expect(dag.rejected[bad.id]?.code == .lamportMismatch)
  }

  @Test func detectsEquivocationAndKeepsBoth() throws {
    var builder = LogBuilder(seed: 27)
    let worker = builder.addDevice(role: .worker)
    let base = builder.note(worker.key, [1])
    let (left, right) = Self.clones(of: worker.key, in: &builder)
    var dag = try DAG(genesis: builder.genesis)
    for entry in [worker.entry, base, right, left] { try dag.insert(entry) }
    #expect(dag.contains(left.id) && dag.contains(right.id))
    #expect(dag.equivocations.map { $0.map(\.id) } == [[left.id, right.id].sorted()])
  }

  /// Entries are found by (author, sequence): along a chain, at a fork (both, first placed
  /// first) and past it on the clone's branch, and in a frontier DAG, which has gaps.
  @Test func findsEntriesBySequenceAlongChainsForksAndGaps() throws {
    var builder = LogBuilder(seed: 29)
    let worker = builder.addDevice(role: .worker)
    let one = builder.note(worker.key, [1])
    let (left, right) = Self.clones(of: worker.key, in: &builder)
    builder.record(left)
    builder.record(right)
    // The clone goes on from its own entry: the next sequence follows `right`.
    let after = builder.note(worker.key, [3])
    #expect(after.prev == right.id)
    let me = worker.key.publicKey
    let dag = builder.dag
    // (The worker's admission is the admin's entry: the worker's own chain starts at `one`.)
    #expect(dag.entries(author: me, sequence: 1).map(\.id) == [one.id])
    #expect(dag.entries(author: me, sequence: 2).map(\.id) == [left.id, right.id])
    #expect(dag.entries(author: me, sequence: 3).map(\.id) == [after.id])
    #expect(dag.entries(author: me, sequence: 4).isEmpty)
    #expect(dag.entries(author: me, sequence: 0).isEmpty)
    #expect(dag.entries(author: me, sequence: .max).isEmpty)
    #expect(dag.equivocations.map { $0.map(\.id) } == [[left.id, right.id].sorted()])

    // A frontier holds the newest entry without the ones before it; the next entries follow.
    var frontier = try DAG(frontier: dag.frontier(own: after.id), heads: dag.heads)
    #expect(frontier.entries(author: me, sequence: 3).map(\.id) == [after.id])
    #expect(frontier.entries(author: me, sequence: 1).isEmpty)
    let next = frontier.draft(author: me, lastOwn: after.id)
    let fourth = next.sign(body: builder.sealedBody([4], for: next), with: worker.key)
    try frontier.insert(fourth)
    #expect(frontier.entries(author: me, sequence: 4).map(\.id) == [fourth.id])
    #expect(frontier.equivocations.isEmpty)
  }

  /// The number an owner keeps with each placed entry (the relay's sequence numbers): set
  /// only for placed entries, kept when a body arrives later, and kept through growth.
  @Test func keepsAMarkPerPlacedEntry() throws {
    let builder = Self.busyJournal(entries: 5_000, seed: 30)
    let entries = builder.dag.causalOrder
    var dag = try DAG(genesis: builder.genesis)
    var waiting: Entry?
    for (number, entry) in entries.enumerated().dropFirst() {
      // One entry arrives first without its body, and gets its body later.
      if number == 10 { waiting = entry }
      try dag.insert(number == 10 ? entry.detachingBody() : entry)
      let marked = dag.setMark(UInt64(number) * 3, of: entry.id)
      #expect(marked)
    }
    let unknown = Digest256(Array(repeating: 7, count: 32))!
    let markedUnknown = dag.setMark(1, of: unknown)
    #expect(!markedUnknown)
    #expect(dag.mark(of: unknown) == nil)
    #expect(dag.mark(of: builder.genesis.id) == 0)
    try dag.insert(waiting!)
    #expect(dag[waiting!.id]?.body != nil)
    for (number, entry) in entries.enumerated().dropFirst() {
      #expect(dag.mark(of: entry.id) == UInt64(number) * 3)
    }
  }

  @Test func ancestry() {
    var builder = LogBuilder(seed: 28)
    let one = builder.note(builder.admin, [1])
    let worker = builder.addDevice(role: .worker)
    let two = builder.note(worker.key, [2])
    #expect(builder.dag.isAncestor(builder.genesis.id, of: two.id))
    #expect(builder.dag.isAncestor(one.id, of: two.id))
    #expect(!builder.dag.isAncestor(two.id, of: one.id))
    #expect(!builder.dag.isAncestor(two.id, of: two.id))
    #expect(
      builder.dag.chain(endingAt: worker.entry.id) == [builder.genesis.id, one.id, worker.entry.id])
  }
}

func shuffle<T>(_ items: inout [T], _ random: inout SeededRandom) {
  guard items.count > 1 else { return }
  for index in stride(from: items.count - 1, to: 0, by: -1) {
    items.swapAt(index, random.next(below: index + 1))
  }
}
