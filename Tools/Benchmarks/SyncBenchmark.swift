import Anker
import AnkerCrypto
import AnkerLog
import AnkerModel
import AnkerStore
import AnkerSync
import CSQLite
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Sync over loopback against a real `anker-relay` process (built beside this tool):
///
/// - `sync`: a new laptop's cold sync of a journal written by 20 devices (join through the
///   relay: download, authenticate, store, evaluate), against the bound of the same work done
///   raw in the same run: hashing every entry, decrypting every body once, inserting every
///   entry into an empty SQLite file (one FULL transaction under a rollback journal, as a
///   joining laptop writes its store), and one signature check per author chain.
/// - `ingest`: 50 devices pushing their own entries at the same time, in batches of 100 and
///   then one by one; throughput, push latency, errors, and the bytes on the wire per entry
///   beyond the entry itself.
struct SyncBenchmark {
  let entries: Int

  // MARK: - Cold sync

  func runColdSync() async {
    print("anker-bench sync: cold sync of \(entries) entries written by 20 devices, loopback")
    let work = NSTemporaryDirectory() + "anker-bench-sync-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: work) }
    let options = Journal.Options(passphraseCost: .testingOnly, idleTimeoutSeconds: nil)
    let (laptop, request) = try! Journal.prepareDevice(
      at: work + "/laptop", passphrase: SecureBytes(copying: Array("bench".utf8)), options: options)
    var random = SeededRandom(seed: 11)
    let generation = generate(devices: 20, admitting: request, using: &random)
    print("  (writing them took \(format(generation.seconds, 1)) s)")
    let relay = RelayChild(directory: work + "/relay")
    defer { relay.stop() }
    let uploading = await asyncSeconds {
      await upload(
        generation.entries, journal: generation.journal, as: generation.admin, to: relay.url)
    }
    print("  (uploading them took \(format(uploading, 1)) s)")
    let identity = (generation.journal, generation.entries[0].id)
    let cold = await asyncSeconds {
      try! await laptop.join(relay: relay.url, journal: identity.0, genesis: identity.1)
    }
    let notes = try! laptop.state.cases.values.reduce(0) { $0 + $1.notes.count }
    precondition(notes == generation.notes, "the new laptop reads every note")
    let bound = rawBound(generation.entries, work: work)
    print(
      "  cold sync: \(format(cold, 2)) s (target ≤ 3 s); bound \(format(bound.total, 2)) s; "
        + "ratio \(format(cold / bound.total, 2))")
    print(
      "    bound: hashing \(format(bound.hash, 3)) s, decrypting \(format(bound.decrypt, 3)) s, "
        + "SQLite inserts \(format(bound.insert, 3)) s, \(bound.signatures) signature checks "
        + "\(format(bound.verify, 3)) s")
    laptop.lock()
  }

  struct Generated {
    var journal: JournalID
    var admin: Signing.PrivateKey
    var entries: [Entry]
    var notes: Int
    var seconds: Double
  }

  /// A journal: an admin, `devices - 1` workers, the new laptop, 200 cases, then notes of
  /// about 1 KiB (padded bodies) from every device in turn until `entries`.
  func generate(devices: Int, admitting request: DeviceRequest, using random: inout SeededRandom)
    -> Generated
  {
    let now = Store.wallClock()
    let admin = Signing.PrivateKey(using: &random)
    let adminBox = Box.PrivateKey(using: &random)
    let recovery = RecoveryKey(using: &random)
    var dag = DAG?.none
    var writers = [JournalWriter]()
    var notes = 0
    var state: JournalState?
    let elapsed = seconds {
      let genesis = JournalWriter.genesis(
        device: admin, box: adminBox.publicKey, person: PersonID(using: &random),
        recovery: (recovery.boxKey.publicKey, recovery.authorityKey.publicKey), now: now,
        using: &random)
      dag = try! DAG(genesis: genesis)
      var adminWriter = JournalWriter(device: admin, lastOwn: genesis.id)
      for _ in 1..<devices {
        let key = Signing.PrivateKey(using: &random)
        let box = Box.PrivateKey(using: &random)
        _ = try! adminWriter.addDevice(
          key.publicKey, box: box.publicKey, person: PersonID(using: &random), role: .worker,
          state: JournalState(dag: dag!, readers: [adminBox], now: now), dag: &dag!, now: now)
        writers.append(JournalWriter(device: key))
      }
      _ = try! adminWriter.addDevice(
        request.device, box: request.box, person: PersonID(using: &random), role: .worker,
        state: JournalState(dag: dag!, readers: [adminBox], now: now), dag: &dag!, now: now)
      writers.append(adminWriter)
      var caseIDs = [CaseID]()
      for index in 0..<200 {
        let current = JournalState(dag: dag!, readers: [adminBox], now: now)
        caseIDs.append(
          try! writers[writers.count - 1].createCase(
            type: .outreach, state: current, dag: &dag!, now: now + UInt64(index), using: &random
          ).id)
      }
      let current = JournalState(dag: dag!, readers: [adminBox], now: now)
      let text = String(repeating: "n", count: 700)
      var index = 0
      while dag!.count < entries {
        _ = try! writers[index % writers.count].addNote(
          .supportTalk, text: text, eventTime: now, in: caseIDs[index % caseIDs.count],
          state: current, dag: &dag!, now: now + UInt64(index), using: &random)
        index += 1
        notes += 1
      }
      state = JournalState(dag: dag!, readers: [adminBox], now: now)
    }
    precondition(state != nil)
    return Generated(
      journal: dag!.journal, admin: admin, entries: dag!.causalOrder, notes: notes,
      seconds: elapsed)
  }

  /// Creates the journal on the relay and pushes every entry as the admin.
  func upload(_ entries: [Entry], journal: JournalID, as admin: Signing.PrivateKey, to url: String)
    async
  {
    let client = try! RelayClient(
      url: url, journal: journal, device: admin, transport: URLSessionTransport(),
      clock: Store.wallClock)
    do {
      guard
        case .answer(let created) = await client.send(
          "PUT", client.journalPath, body: entries[0].encoded),
        created.status == 201
      else { fatalError("the relay did not create the journal") }
      for start in stride(from: 1, to: entries.count, by: 2000) {
        let batch = Wire.encodeBatch(entries[start..<min(start + 2000, entries.count)])
        guard
          case .answer(let response) = await client.send(
            "POST", client.journalPath + "/entries", body: batch),
          response.status == 200,
          let result = try? JSONDecoder().decode(PushResult.self, from: Data(response.body)),
          result.refused.isEmpty, result.missing.isEmpty
        else { fatalError("the relay refused the upload") }
      }
    }
  }

  struct Bound {
    var hash = 0.0
    var decrypt = 0.0
    var insert = 0.0
    var verify = 0.0
    var signatures = 0
    var total: Double { hash + decrypt + insert + verify }

    /// What a relay taking these entries in `pushes` requests cannot do with less: hash
    /// and insert them, and check one signature per push.
    func ingest(pushes: Int) -> Double {
      hash + insert + Double(pushes) * verify / Double(max(signatures, 1))
    }
  }

  /// Prints an ingest run's raw bound and its ratio to it.
  func printIngestBound(_ bound: Double, took seconds: Double, digits: Int) {
    print(
      "    bound (hashing, SQLite inserts, one signature per push): \(format(bound, digits)) s; "
        + "ratio \(format(seconds / bound, 2))")
  }

  /// The same work done raw: hash header ‖ signature and the body of every entry; open every
  /// sealed body once with XChaCha20-Poly1305 (its size, a fresh key: the cost is the same);
  /// insert every entry into an empty SQLite file in one FULL transaction under a rollback
  /// journal; verify one signature per author.
  /// `journalMode`: DELETE for a laptop's first write (the join), WAL for the relay's.
  func rawBound(
    _ entries: [Entry], work: String, journalMode: String = "DELETE", file: String = "raw.sqlite"
  ) -> Bound {
    var bound = Bound()
    let encoded = entries.map(\.encoded)
    bound.hash = seconds {
      var sink: UInt8 = 0
      for entry in entries {
        sink ^= BLAKE2b.hash256(parts: [entry.headerBytes, entry.signature]).bytes[0]
        if let body = entry.body { sink ^= BLAKE2b.hash256(body).bytes[0] }
      }
      precondition(sink != 1 || sink == 1)
    }
    var random = SystemRandom()
    let key = AEAD.Key(using: &random)
    let nonce = random.bytes(24)
    let sealed = entries.compactMap { entry -> [UInt8]? in
      guard let body = entry.body else { return nil }
      return AEAD.seal(Array(body.dropLast(40)), key: key, nonce: nonce)
    }
    bound.decrypt = seconds {
      for box in sealed { _ = try! AEAD.open(box, key: key, nonce: nonce) }
    }
    let path = work + "/" + file
    var db: OpaquePointer?
    sqlite3_open(path, &db)
    // A joining laptop writes its empty store under a rollback journal, so the rows are
    // written once (through a write-ahead log the checkpoint would write them again).
    sqlite3_exec(
      db, "PRAGMA journal_mode=\(journalMode); PRAGMA synchronous=FULL;", nil, nil, nil)
    sqlite3_exec(
      db, "CREATE TABLE entry (seq INTEGER PRIMARY KEY, id BLOB UNIQUE, data BLOB)", nil, nil, nil)
    bound.insert = seconds {
      var statement: OpaquePointer?
      sqlite3_exec(db, "BEGIN", nil, nil, nil)
      sqlite3_prepare_v2(db, "INSERT INTO entry (id, data) VALUES (?, ?)", -1, &statement, nil)
      for (entry, bytes) in zip(entries, encoded) {
        let id = entry.id.bytes
        id.withUnsafeBytes { id in
          bytes.withUnsafeBytes {
            // Read in place, not copied: the least SQLite can do with the bytes.
            _ = anker_sqlite_bind_blob_static(statement, 1, id.baseAddress, 32)
            _ = anker_sqlite_bind_blob_static(statement, 2, $0.baseAddress, Int32($0.count))
            sqlite3_step(statement)
            sqlite3_reset(statement)
          }
        }
      }
      sqlite3_finalize(statement)
      sqlite3_exec(db, "COMMIT", nil, nil, nil)
    }
    sqlite3_close(db)
    var newest = [Signing.PublicKey: Entry]()
    for entry in entries where (newest[entry.author]?.sequence ?? 0) < entry.sequence {
      newest[entry.author] = entry
    }
    bound.signatures = newest.count
    bound.verify = seconds {
      for entry in newest.values { precondition(entry.verifySignature()) }
    }
    return bound
  }
}

// MARK: - Ingest

extension SyncBenchmark {
  func runIngest(devices: Int, batches: Int, batchSize: Int) async {
    print(
      "anker-bench ingest: \(devices) devices pushing \(batches) batches of \(batchSize) of their own "
        + "entries at once, loopback")
    let work = NSTemporaryDirectory() + "anker-bench-ingest-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: work) }
    var random = SeededRandom(seed: 12)
    let journal = IngestJournal(devices: devices, perDevice: batches * batchSize, using: &random)
    let relay = await serve(journal, from: work + "/relay")
    defer { relay.stop() }
    let outcome = await push(journal, batchSize: batchSize, to: relay.url)
    let count = devices * batches * batchSize
    print(
      "  batches of \(batchSize): \(format(Double(count) / outcome.seconds, 0)) entries/s "
        + "(target ≥ 20,000), push p50 \(format(outcome.p50 * 1000, 1)) ms, p99 "
        + "\(format(outcome.p99 * 1000, 1)) ms (target ≤ 50 ms), errors \(outcome.errors)")
    let bound = rawBound(Array(journal.own.joined()), work: work, journalMode: "WAL")
    printIngestBound(bound.ingest(pushes: devices * batches), took: outcome.seconds, digits: 2)
    print(
      "    bytes on the wire per entry beyond the entry: request body \(format(outcome.framing, 1)), "
        + "signature headers \(format(outcome.headers, 1)), JSON answer \(format(outcome.answer, 1))"
    )

    // The same load offered at the target rate rather than as fast as the relay takes it:
    // each device pushes a batch every `devices × batchSize / 20,000` s (staggered), so the
    // latency is the relay's own, not the queue that saturation builds (Little's law: 5,000
    // entries in flight at 20,000/s wait 250 ms whatever the relay does). Latency counts
    // from when a push was due, so a relay falling behind shows in it.
    let paced = IngestJournal(devices: devices, perDevice: batches * batchSize, using: &random)
    let relay3 = await serve(paced, from: work + "/relay3")
    defer { relay3.stop() }
    let interval = Double(devices * batchSize) / 20_000
    let steady = await push(paced, batchSize: batchSize, to: relay3.url, every: interval)
    print(
      "  batches of \(batchSize) offered at 20,000 entries/s (one per device every "
        + "\(format(interval * 1000, 0)) ms): \(format(Double(count) / steady.seconds, 0)) entries/s, "
        + "push p50 \(format(steady.p50 * 1000, 1)) ms, p99 \(format(steady.p99 * 1000, 1)) ms "
        + "(target ≤ 50 ms), errors \(steady.errors)")

    // One entry per push: no target yet, reported.
    let single = IngestJournal(devices: devices, perDevice: 20, using: &random)
    let relay2 = await serve(single, from: work + "/relay2")
    defer { relay2.stop() }
    let one = await push(single, batchSize: 1, to: relay2.url)
    print(
      "  one entry per push: \(format(Double(devices * 20) / one.seconds, 0)) entries/s, push p50 "
        + "\(format(one.p50 * 1000, 1)) ms, p99 \(format(one.p99 * 1000, 1)) ms, errors \(one.errors)"
    )
    let singles = rawBound(
      Array(single.own.joined()), work: work, journalMode: "WAL", file: "raw-single.sqlite")
    printIngestBound(singles.ingest(pushes: devices * 20), took: one.seconds, digits: 3)
  }

  /// A relay of its own holding `journal`'s base (its admin's entries), ready for pushes.
  func serve(_ journal: IngestJournal, from directory: String) async -> RelayChild {
    let relay = RelayChild(directory: directory)
    await upload(journal.base, journal: journal.id, as: journal.admin, to: relay.url)
    return relay
  }

  struct PushOutcome {
    var seconds: Double
    var p50: Double
    var p99: Double
    var errors: Int
    var framing: Double
    var headers: Double
    var answer: Double
  }

  /// Each device pushes its own entries over its own keep-alive connection, all devices at
  /// once: back to back, or with `every` one push per device every that many seconds
  /// (devices staggered evenly), its latency counted from when it was due. The signed
  /// requests are built before the clock starts.
  func push(
    _ journal: IngestJournal, batchSize: Int, to url: String, every interval: Double? = nil
  ) async -> PushOutcome {
    let port = Int(url.split(separator: ":").last!)!
    let origin = url
    let path = "/v1/journals/\(journal.id.hex)/entries"
    var random = SystemRandom()
    var requests = [[[UInt8]]]()
    var framing = 0
    var headerBytes = 0
    for (index, key) in journal.keys.enumerated() {
      var mine = [[UInt8]]()
      let own = journal.own[index]
      for start in stride(from: 0, to: own.count, by: batchSize) {
        let batch = own[start..<min(start + batchSize, own.count)]
        let body = Wire.encodeBatch(batch)
        framing += 4 * batch.count
        let headers = RequestSignature.headers(
          signedBy: key, origin: origin, journal: journal.id, method: "POST",
          pathWithQuery: path, body: body, time: Store.wallClock(),
          nonce: random.bytes(RequestSignature.nonceCount))
        headerBytes += headers.reduce(0) { $0 + $1.0.count + $1.1.count + 4 }
        mine.append(
          RawHTTPConnection.request(method: "POST", path: path, headers: headers, body: body))
      }
      requests.append(mine)
    }
    let results = ResultBox(count: requests.count)
    let deviceCount = requests.count
    let group = DispatchGroup()
    let start = Date()
    for (index, mine) in requests.enumerated() {
      group.enter()
      let thread = Thread {
        let connection = RawHTTPConnection(port: port)
        var latencies = [Double]()
        var errors = 0
        var answer = 0
        let offset = Double(index) * (interval ?? 0) / Double(deviceCount)
        for (number, request) in mine.enumerated() {
          var began = Date()
          if let interval {
            let due = start.addingTimeInterval(offset + Double(number) * interval)
            let wait = due.timeIntervalSinceNow
            if wait > 0 { usleep(UInt32(wait * 1_000_000)) }
            began = due
          }
          let (status, body) = connection.exchange(request)
          latencies.append(Date().timeIntervalSince(began))
          answer += body.count
          if status != 200
            || (try? JSONDecoder().decode(PushResult.self, from: Data(body)))?
              .refused.isEmpty != true
          {
            errors += 1
          }
        }
        results.set(index, (latencies, errors, answer))
        group.leave()
      }
      thread.stackSize = 1 << 20
      thread.start()
    }
    await withCheckedContinuation { continuation in
      group.notify(queue: .global()) { continuation.resume() }
    }
    let elapsed = Date().timeIntervalSince(start)
    let all = results.values
    let latencies = all.flatMap(\.0).sorted()
    let entries = Double(journal.own.reduce(0) { $0 + $1.count })
    return PushOutcome(
      seconds: elapsed, p50: latencies[latencies.count / 2],
      p99: latencies[min(latencies.count - 1, latencies.count * 99 / 100)],
      errors: all.reduce(0) { $0 + $1.1 },
      framing: Double(framing) / entries, headers: Double(headerBytes) / entries,
      answer: Double(all.reduce(0) { $0 + $1.2 }) / entries)
  }
}

/// Per-thread results, written once each under a lock.
final class ResultBox: @unchecked Sendable {
  // @unchecked: `slots` is only touched under `lock`.
  private let lock = NSLock()
  private var slots: [([Double], Int, Int)]

  init(count: Int) { slots = Array(repeating: ([], 0, 0), count: count) }

  func set(_ index: Int, _ value: ([Double], Int, Int)) {
    lock.lock()
    slots[index] = value
    lock.unlock()
  }

  var values: [([Double], Int, Int)] {
    lock.lock()
    defer { lock.unlock() }
    return slots
  }
}

/// A journal for the ingest: an admin admits `devices` devices, then each writes
/// `perDevice` notes on its own copy of that base (so no device's entry needs another's).
struct IngestJournal {
  var id: JournalID
  var admin: Signing.PrivateKey
  var base: [Entry]
  var keys: [Signing.PrivateKey]
  var own: [[Entry]]

  init(devices: Int, perDevice: Int, using random: inout SeededRandom) {
    let now = Store.wallClock()
    admin = Signing.PrivateKey(using: &random)
    let adminBox = Box.PrivateKey(using: &random)
    let recovery = RecoveryKey(using: &random)
    let genesis = JournalWriter.genesis(
      device: admin, box: adminBox.publicKey, person: PersonID(using: &random),
      recovery: (recovery.boxKey.publicKey, recovery.authorityKey.publicKey), now: now,
      using: &random)
    var dag = try! DAG(genesis: genesis)
    var adminWriter = JournalWriter(device: admin, lastOwn: genesis.id)
    keys = []
    for _ in 0..<devices {
      let key = Signing.PrivateKey(using: &random)
      _ = try! adminWriter.addDevice(
        key.publicKey, box: Box.PrivateKey(using: &random).publicKey,
        person: PersonID(using: &random), role: .worker,
        state: JournalState(dag: dag, readers: [adminBox], now: now), dag: &dag, now: now)
      keys.append(key)
    }
    let (caseID, _) = try! adminWriter.createCase(
      type: .outreach, state: JournalState(dag: dag, readers: [adminBox], now: now), dag: &dag,
      now: now, using: &random)
    id = dag.journal
    base = dag.causalOrder
    let state = JournalState(dag: dag, readers: [adminBox], now: now)
    let text = String(repeating: "n", count: 700)
    own = []
    for key in keys {
      var copy = dag
      var writer = JournalWriter(device: key)
      var mine = [Entry]()
      for index in 0..<perDevice {
        mine.append(
          try! writer.addNote(
            .supportTalk, text: text, eventTime: now, in: caseID, state: state, dag: &copy,
            now: now + UInt64(index), using: &random))
      }
      own.append(mine)
    }
  }
}

/// `anker-relay serve` as a child process on a free loopback port.
final class RelayChild {
  let process = Process()
  var url = ""

  init(directory: String) {
    let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
      .appendingPathComponent("anker-relay").path
    let portFile = directory + ".port"
    process.executableURL = URL(fileURLWithPath: binary)
    process.arguments = [
      "serve", "--port", "0", "--data", directory, "--port-file", portFile, "--log-level",
      "warning",
    ]
    try! process.run()
    for _ in 0..<600 {
      if let text = try? String(contentsOfFile: portFile, encoding: .utf8), let port = Int(text) {
        url = "http://127.0.0.1:\(port)"
        return
      }
      usleep(50_000)
    }
    fatalError("anker-relay did not start (build it beside anker-bench: swift build -c release)")
  }

  func stop() {
    if process.isRunning {
      process.terminate()
      process.waitUntilExit()
    }
  }
}

func asyncSeconds(_ body: () async -> Void) async -> Double {
  let start = Date()
  await body()
  return Date().timeIntervalSince(start)
}
