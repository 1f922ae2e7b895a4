import AnkerCrypto
import AnkerLog
import AnkerModel

/// Applying a journal to an empty state: 20 devices writing notes into 200 cases. Compared
/// with the raw cost of decrypting the same bodies (the hint and the content, two
/// XChaCha20-Poly1305 opens each), measured in the same run.
struct ModelBenchmark {
  let entries: Int
  let devices: Int
  let cases: Int

  func run() {
    print("anker-bench model: \(entries) entries, \(devices) devices, \(cases) cases")
    var random = SeededRandom(seed: 2)
    let now: UInt64 = 1_700_000_000_000
    let admin = Signing.PrivateKey(using: &random)
    let adminBox = Box.PrivateKey(using: &random)
    let recovery = RecoveryKey(using: &random)
    let genesis = JournalWriter.genesis(
      device: admin, box: adminBox.publicKey, person: PersonID(using: &random),
      recovery: (recovery.boxKey.publicKey, recovery.authorityKey.publicKey), now: now,
      using: &random)
    var dag = try! DAG(genesis: genesis)
    var adminWriter = JournalWriter(device: admin, lastOwn: genesis.id)
    var writers = [JournalWriter]()
    for _ in 1..<devices {
      let key = Signing.PrivateKey(using: &random)
      let box = Box.PrivateKey(using: &random)
      let state = JournalState(dag: dag, readers: [adminBox], now: now)
      _ = try! adminWriter.addDevice(
        key.publicKey, box: box.publicKey, person: PersonID(using: &random), role: .worker,
        state: state, dag: &dag, now: now)
      writers.append(JournalWriter(device: key))
    }
    writers.append(adminWriter)
    var caseIDs = [CaseID]()
    for index in 0..<cases {
      let state = JournalState(dag: dag, readers: [adminBox], now: now)
      caseIDs.append(
        try! writers[writers.count - 1].createCase(
          type: .outreach, state: state, dag: &dag, now: now + UInt64(index), using: &random
        ).id)
    }
    let state = JournalState(dag: dag, readers: [adminBox], now: now)
    let text = String(repeating: "n", count: 700)
    let write = seconds {
      for index in 0..<(entries - dag.count) {
        _ = try! writers[index % writers.count].addNote(
          .supportTalk, text: text, eventTime: now, in: caseIDs[index % caseIDs.count],
          state: state, dag: &dag, now: now + UInt64(index), using: &random)
      }
    }
    print("  (writing them took \(format(write)) s)")

    var applied: JournalState?
    let apply = seconds { applied = JournalState(dag: dag, readers: [adminBox], now: now) }
    let notes = applied!.cases.values.reduce(0) { $0 + $1.notes.count }
    precondition(notes == entries - (devices + 2 * cases), "every note applied")

    // Raw: open the hint and the content of every sealed body with the right keys directly.
    let keys = applied!.keys
    let sealed = dag.causalOrder.filter { $0.bodyKind == .sealed }
    var sink = 0
    let raw = seconds {
      for entry in sealed {
        let body = entry.body!
        let epochKey = keys.epochs[SealedBody.epoch(of: body)!]![0].key
        let position = entry.header.positionBytes
        let ref = try! SealedBody.openHint(body, position: position, epochKey: epochKey)
        let key = ref == .zero ? epochKey : keys.caseKeys[ref]!.key
        sink &+= try! SealedBody.open(body, position: position, keyRef: ref, contentKey: key).count
      }
    }
    precondition(sink > 0)
    print(
      "  apply to an empty state:   \(format(apply)) s, \(Int(Double(dag.count) / apply)) entries/s"
    )
    print("  raw decryption, same bodies: \(format(raw)) s")
    print("  ratio: \(format(apply / raw, 2)) × the raw decryption")
  }
}
