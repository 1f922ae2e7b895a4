import AnkerCrypto
import AnkerLog
import Testing

@testable import AnkerModel

#if canImport(Glibc)
  import Glibc
#endif

/// The property the model exists for: the same entries give the same state and digest,
/// whatever the order they arrived in, duplicates and partitions included.
@Suite struct ConvergenceTests {
  /// 300 seeded runs in the normal suite; `ANKER_SOAK=N` adds N more.
  static var seeds: [UInt64] {
    var count = 300
    if let soak = getenv("ANKER_SOAK").flatMap({ Int(String(cString: $0)) }) { count += soak }
    return (0..<UInt64(count)).map { 1_000 + $0 }
  }

  @Test func replicasConvergeWhateverTheDelivery() throws {
    var done: [Int: Int] = [:]
    var conflicts = 0
    var removed = 0
    for seed in Self.seeds {
      var run = Simulation(seed: seed)
      try run.play(steps: 30)
      try run.check()
      done.merge(run.done, uniquingKeysWith: +)
      let state = run.replicas[0].state
      conflicts += state.openConflicts.count
      removed += state.membership.devices.values.filter(\.isRemoved).count
    }
    // The runs did exercise every kind of write, removals and conflicts among them.
    for kind in 0..<14 { #expect(done[kind, default: 0] > 0, "write kind \(kind) never succeeded") }
    #expect(conflicts > 0)
    #expect(removed > 0)
  }
}

struct Simulation {
  var random: SeededRandom
  var replicas: [Replica]
  var recovery: RecoveryKey
  let seed: UInt64
  /// How many writes of each kind succeeded.
  var done: [Int: Int] = [:]

  init(seed: UInt64) {
    self.seed = seed
    var (founder, recovery, random) = Replica.founder(seed: seed)
    var replicas = [founder]
    let second = try! Replica.join(&founder, role: .admin, random: &random)
    let worker = try! Replica.join(&founder, role: .worker, random: &random)
    let other = try! Replica.join(&founder, role: .worker, random: &random)
    replicas = [founder, second, worker, other]
    for index in replicas.indices { replicas[index].pull(from: founder) }
    self.random = random
    self.replicas = replicas
    self.recovery = recovery
  }

  mutating func pick<T>(_ items: [T]) -> T? {
    items.isEmpty ? nil : items[random.next(below: items.count)]
  }

  mutating func play(steps: Int) throws {
    for _ in 0..<steps {
      let index = random.next(below: replicas.count)
      var replica = replicas[index]
      act(on: &replica)
      replicas[index] = replica
      if random.next(below: 2) == 0 { partialSync() }
      if random.next(below: 6) == 0 { concurrentSafetyEdit() }
    }
  }

  /// Delivers a random subset of one replica's entries to another, in random order and with
  /// duplicates; entries whose parents are missing wait.
  mutating func partialSync() {
    let from = random.next(below: replicas.count)
    let to = random.next(below: replicas.count)
    guard from != to else { return }
    var entries = replicas[from].dag.causalOrder.filter { _ in random.next(below: 3) != 0 }
    entries += entries.prefix(3)
    shuffle(&entries)
    for entry in entries { _ = try? replicas[to].dag.insert(entry) }
  }

  /// Two replicas that share a case set its risk level without syncing in between.
  mutating func concurrentSafetyEdit() {
    let first = random.next(below: replicas.count)
    let second = random.next(below: replicas.count)
    guard first != second else { return }
    let shared = Set(replicas[first].state.cases.values.filter(\.readable).map(\.id))
      .intersection(replicas[second].state.cases.values.filter(\.readable).map(\.id))
    guard let caseID = pick(shared.sorted()) else { return }
    for (index, value) in [(first, "high"), (second, "low")] {
      var replica = replicas[index]
      let now = replica.tick()
      if (try? replica.writer.setField(
        CaseField.riskLevel, to: value, in: caseID, state: replica.state, dag: &replica.dag,
        now: now, using: &random)) != nil
      {
        done[5, default: 0] += 1
      }
      replicas[index] = replica
    }
  }

  mutating func shuffle<T>(_ items: inout [T]) {
    guard items.count > 1 else { return }
    for index in stride(from: items.count - 1, to: 0, by: -1) {
      items.swapAt(index, random.next(below: index + 1))
    }
  }

  // swiftlint-style note: each action may fail (no access, not admin, removed); that is part
  // of the property: failures change nothing.
  mutating func act(on replica: inout Replica) {
    let state = replica.state
    let readable = state.cases.values.filter { $0.readable && $0.created != nil }
      .map(\.id).sorted()
    let now = replica.tick()
    let people = state.people.keys.sorted()
    let kind = random.next(below: 14)
    do {
      switch kind {
      case 0, 1:
        let restricted = random.next(below: 4) == 0 ? [pick(people) ?? replica.person] : []
        _ = try replica.writer.createCase(
          type: pick(CaseType.allCases)!, restrictedTo: restricted, state: state,
          dag: &replica.dag, now: now, using: &random)
      case 2, 3:
        guard let caseID = pick(readable) else { return }
        _ = try replica.writer.addNote(
          pick(NoteKind.allCases)!, text: "note \(random.next(below: 1000))", eventTime: now,
          in: caseID, state: state, dag: &replica.dag, now: now, using: &random)
      case 4:
        guard let caseID = pick(readable),
          let note = pick(state.cases[caseID]!.notes.keys.sorted())
        else { return }
        let strike = random.next(below: 2) == 0
        _ = try replica.writer.amend(
          note: note, text: strike ? nil : "amended", strike: strike ? "wrong" : nil,
          in: caseID, state: state, dag: &replica.dag, now: now, using: &random)
      case 5:
        guard let caseID = pick(readable) else { return }
        let field = pick([CaseField.riskLevel, CaseField.safeContact, CaseField.status])!
        let value = pick(["low", "medium", "high", "doNotContact", "open", "closed"])!
        _ = try replica.writer.setField(
          field, to: value, in: caseID, state: state, dag: &replica.dag, now: now, using: &random)
      case 6:
        guard let conflict = pick(state.openConflicts) else { return }
        _ = try replica.writer.resolve(
          conflict.field, to: conflict.values[0].value, in: conflict.caseID, state: state,
          dag: &replica.dag, now: now, using: &random)
      case 7:
        guard let caseID = pick(readable) else { return }
        _ = try replica.writer.updateSet(
          "tags", element: pick(["housing", "health", "legal"])!, add: random.next(below: 3) != 0,
          in: caseID, state: state, dag: &replica.dag, now: now, using: &random)
      case 8:
        guard let caseID = pick(readable), let person = pick(people) else { return }
        _ = try replica.writer.restrict(
          caseID, to: [person, replica.person], state: state, dag: &replica.dag, now: now,
          using: &random)
      case 9:
        guard let caseID = pick(readable) else { return }
        _ = try replica.writer.shred(
          caseID, state: state, dag: &replica.dag, now: now, using: &random)
      case 10:
        let others = state.membership.activeDevices.map(\.key).filter {
          $0 != replica.key.publicKey
        }
        guard random.next(below: 3) == 0, let target = pick(others) else { return }
        _ = try replica.writer.removeDevice(
          target, state: state, dag: &replica.dag, now: now, using: &random)
      case 12:
        _ = try replica.writer.createClient(
          alias: "client \(random.next(below: 100))", code: "C", state: state,
          dag: &replica.dag, now: now, using: &random)
      case 13:
        guard let client = pick(state.clients.keys.sorted()) else { return }
        let restricted = random.next(below: 3) == 0 ? [replica.person] : []
        _ = try replica.writer.setIdentity(
          pick(["legalName", "address"])!, to: "value \(random.next(below: 100))", of: client,
          restrictedTo: restricted, state: state, dag: &replica.dag, now: now, using: &random)
      default:
        guard let caseID = pick(readable) else { return }
        if random.next(below: 2) == 0 {
          _ = try replica.writer.writeSafetyPlan(
            "plan \(random.next(below: 100))", in: caseID, resolving: random.next(below: 2) == 0,
            state: state, dag: &replica.dag, now: now, using: &random)
          break
        }
        var record = replica.writer.newRecord(.riskAssessment, now: now)
        record[string: .instrument] = "SARA"
        record[string: .instrumentVersion] = "3"
        record[strings: .answers] = ["q1=yes", "q2=unknown"]
        record[number: .judgement] = UInt64(1 + random.next(below: 3))
        record[number: .nextReview] = now + 86_400_000
        _ = try replica.writer.append(
          record, in: caseID, state: state, dag: &replica.dag, using: &random)
      }
      done[kind, default: 0] += 1
    } catch {
      // Refused writes leave the log unchanged.
    }
  }

  /// After a full exchange: one log, and for every replica the same state whatever order
  /// its entries arrive in.
  mutating func check() throws {
    sync(&replicas)
    let logDigest = replicas[0].state.logDigest
    for replica in replicas {
      let state = replica.state
      #expect(state.logDigest == logDigest, "seed \(seed)")
      #expect(replica.dag.waitingIDs.isEmpty, "seed \(seed)")
      // Re-deliver the same entries in a random order with duplicates.
      var entries = Array(replica.dag.causalOrder.dropFirst())
      entries += entries.prefix(5)
      shuffle(&entries)
      var dag = try DAG(genesis: replica.dag.genesis)
      for entry in entries { _ = try dag.insert(entry) }
      let again = JournalState(dag: dag, readers: [replica.box], now: replica.now)
      #expect(again.digest == state.digest, "seed \(seed)")
    }
    // Devices of the same access see the same state: the recovery key reads everything.
    let now = replicas.map(\.now).max()!
    let recovered = replicas.map {
      JournalState(dag: $0.dag, readers: [recovery.boxKey], now: now).digest
    }
    #expect(Set(recovered).count == 1, "seed \(seed)")
  }
}
