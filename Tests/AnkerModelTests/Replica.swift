import AnkerCrypto
import AnkerLog
import Testing

@testable import AnkerModel

/// One device in a test: its keys, its copy of the log, and its writer.
struct Replica {
  let key: Signing.PrivateKey
  let box: Box.PrivateKey
  let person: PersonID
  var dag: DAG
  var writer: JournalWriter
  var now: UInt64

  var state: JournalState { JournalState(dag: dag, readers: [box], now: now) }

  /// A new journal whose first admin is this replica; also returns the paper key.
  static func founder(seed: UInt64, now: UInt64 = 1_700_000_000_000) -> (
    Replica, RecoveryKey, SeededRandom
  ) {
    var random = SeededRandom(seed: seed)
    let key = Signing.PrivateKey(using: &random)
    let box = Box.PrivateKey(using: &random)
    let person = PersonID(using: &random)
    let recovery = RecoveryKey(using: &random)
    let genesis = JournalWriter.genesis(
      device: key, box: box.publicKey, person: person,
      recovery: (recovery.boxKey.publicKey, recovery.authorityKey.publicKey), now: now,
      using: &random)
    let replica = Replica(
      key: key, box: box, person: person, dag: try! DAG(genesis: genesis),
      writer: JournalWriter(device: key, lastOwn: genesis.id), now: now)
    return (replica, recovery, random)
  }

  /// A new device for `person` (a new person if nil), admitted by `admin` with `role`; it
  /// starts from the admin's log.
  static func join(
    _ admin: inout Replica, role: Role, person: PersonID? = nil, random: inout SeededRandom
  ) throws -> Replica {
    let key = Signing.PrivateKey(using: &random)
    let box = Box.PrivateKey(using: &random)
    let person = person ?? PersonID(using: &random)
    _ = try admin.writer.addDevice(
      key.publicKey, box: box.publicKey, person: person, role: role, state: admin.state,
      dag: &admin.dag, now: admin.tick())
    return Replica(
      key: key, box: box, person: person, dag: admin.dag, writer: JournalWriter(device: key),
      now: admin.now)
  }

  mutating func tick() -> UInt64 {
    now += 1000
    return now
  }

  /// Takes every entry `other` has that this replica lacks.
  mutating func pull(from other: Replica) {
    for entry in other.dag.causalOrder where !dag.contains(entry.id) {
      _ = try? dag.insert(entry)
    }
  }
}

func sync(_ replicas: inout [Replica]) {
  for _ in 0..<2 {
    for i in replicas.indices {
      for j in replicas.indices where i != j { replicas[i].pull(from: replicas[j]) }
    }
  }
}
