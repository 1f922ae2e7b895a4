import Anker
import AnkerCrypto
import AnkerLog
import AnkerModel
import AnkerStore
// The raw baseline talks to SQLite directly, not through the store's wrapper: it is the cost
// the store is measured against.
import CSQLite
import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The laptop's store: durable appends (one note per `synchronous=FULL` commit) through
/// `Journal` against the raw sign + seal + FULL commit of the same bytes done directly, and
/// open + unlock of a large journal.
struct StoreBenchmark {
  let appends: Int
  let journalEntries: Int

  func run() {
    print("anker-bench store: \(appends) durable appends; open of \(journalEntries) entries")
    let root = NSTemporaryDirectory() + "anker-bench-" + UUID().uuidString
    try! FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: root) }
    let text = String(repeating: "n", count: 700)

    // Interleaved: raw, journal, raw, so drift on a shared machine hits both.
    let rawFirst = raw(count: appends, text: text, path: root + "/raw1.sqlite")
    let journal = journalAppends(count: appends, text: text, path: root + "/appends")
    let rawSecond = raw(count: appends, text: text, path: root + "/raw2.sqlite")
    let rawRate = (rawFirst + rawSecond) / 2
    let rate = Double(appends) / journal.total
    print(
      "  raw sign + seal + FULL commit:  \(Int(rawRate)) commits/s (\(Int(rawFirst)), \(Int(rawSecond)))"
    )
    print("  Journal.addNote, durable:       \(Int(rate)) appends/s")
    print("  ratio: \(format(rate / rawRate, 2)) of the raw rate (target ≥ 0.67)")
    print(
      "  latency p50 \(format(journal.p50 * 1000, 3)) ms, p99 \(format(journal.p99 * 1000, 3)) ms, max \(format(journal.max * 1000, 3)) ms (target p99 ≤ 3 ms)"
    )

    openBenchmark(path: root + "/large")
  }

  func journalAppends(count: Int, text: String, path: String) -> (
    total: Double, p50: Double, p99: Double, max: Double
  ) {
    let options = Journal.Options(passphraseCost: .testingOnly, idleTimeoutSeconds: nil)
    let (journal, _) = try! Journal.create(
      at: path, passphrase: SecureBytes(copying: Array("bench".utf8)), name: "Bench",
      options: options)
    let caseID = try! journal.createCase(type: .outreach)
    var latencies = [Double]()
    latencies.reserveCapacity(count)
    let total = seconds {
      for _ in 0..<count {
        latencies.append(seconds { _ = try! journal.addNote(.supportTalk, text: text, in: caseID) })
      }
    }
    latencies.sort()
    return (
      total, latencies[count / 2], latencies[min(count - 1, count * 99 / 100)],
      latencies[count - 1]
    )
  }

  /// Per note: seal the record bytes (XChaCha20-Poly1305 with Padmé padding, as a sealed
  /// body), sign the entry (Ed25519), and insert it in its own FULL-synchronous WAL commit.
  func raw(count: Int, text: String, path: String) -> Double {
    var database: OpaquePointer?
    sqlite3_open(path, &database)
    defer { sqlite3_close(database) }
    sqlite3_exec(
      database,
      "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
        + "CREATE TABLE entry (seq INTEGER PRIMARY KEY, id BLOB UNIQUE, bytes BLOB)", nil, nil, nil)
    var insert: OpaquePointer?
    sqlite3_prepare_v2(database, "INSERT INTO entry (id, bytes) VALUES (?, ?)", -1, &insert, nil)
    defer { sqlite3_finalize(insert) }
    var random = SystemRandom()
    let device = Signing.PrivateKey(using: &random)
    let key = AEAD.Key(using: &random)
    let journal = Digest256(random.bytes(32))!
    let plaintext = Array(text.utf8) + random.bytes(60)  // the record's other fields
    var previous: EntryID?
    let elapsed = seconds {
      for index in 0..<count {
        let draft = EntryDraft(
          journal: journal, author: device.publicKey, sequence: UInt64(index + 1),
          prev: previous, parents: previous.map { [$0] } ?? [], lamport: UInt64(index + 1))
        let body = try! SealedBody.seal(
          plaintext, position: draft.positionBytes, epoch: 1, epochKey: key, keyRef: .zero,
          contentKey: key, using: &random)
        let entry = draft.sign(body: body, with: device)
        previous = entry.id
        let id = entry.id.bytes
        let bytes = entry.encoded
        id.withUnsafeBytes {
          _ = anker_sqlite_bind_blob_transient(insert, 1, $0.baseAddress, Int32($0.count))
        }
        bytes.withUnsafeBytes {
          _ = anker_sqlite_bind_blob_transient(insert, 2, $0.baseAddress, Int32($0.count))
        }
        precondition(sqlite3_step(insert) == SQLITE_DONE)
        sqlite3_reset(insert)
      }
    }
    return Double(count) / elapsed
  }

  /// A journal of `journalEntries` entries (20 devices' notes in 200 cases, written directly
  /// through the store), closed; then `Journal.open` + `unlock` with the smallest Argon2id
  /// cost, minus that derivation measured alone.
  func openBenchmark(path: String) {
    var random = SystemRandom()
    let secrets = DeviceSecrets(using: &random)
    let passphrase = SecureBytes(copying: Array("bench".utf8))
    let parameters = try! PasswordHash.Parameters(
      opsLimit: 1, memLimit: 8192, salt: random.bytes(PasswordHash.saltCount))
    let now = Store.wallClock()
    let recovery = RecoveryKey()
    let build = seconds {
      let store = try! Store.create(
        at: path, secrets: secrets, passphrase: passphrase, parameters: parameters)
      let genesis = JournalWriter.genesis(
        device: secrets.signing, box: secrets.box.publicKey, person: PersonID(using: &random),
        recovery: (recovery.boxKey.publicKey, recovery.authorityKey.publicKey), now: now,
        using: &random)
      var dag = try! DAG(genesis: genesis)
      var writer = JournalWriter(device: secrets.signing, lastOwn: genesis.id)
      var batch = [genesis]
      var caseIDs = [CaseID]()
      for index in 0..<200 {
        let state = JournalState(dag: dag, readers: [secrets.box], now: now)
        let (id, entries) = try! writer.createCase(
          type: .outreach, state: state, dag: &dag, now: now + UInt64(index), using: &random)
        caseIDs.append(id)
        batch += entries
      }
      let state = JournalState(dag: dag, readers: [secrets.box], now: now)
      let text = String(repeating: "n", count: 700)
      while dag.count < journalEntries {
        batch.append(
          try! writer.addNote(
            .supportTalk, text: text, eventTime: now, in: caseIDs[dag.count % caseIDs.count],
            state: state, dag: &dag, now: now + UInt64(dag.count), using: &random))
        if batch.count == 5000 {
          try! store.append(batch, outbox: false, seen: now)
          batch.removeAll(keepingCapacity: true)
        }
      }
      try! store.append(batch, outbox: false, seen: now)
      store.lock()
    }
    print("  (building the \(journalEntries)-entry journal took \(format(build, 1)) s)")
    let derivation = seconds {
      _ = try! PasswordHash.deriveKey(from: passphrase, parameters: parameters)
    }
    let options = Journal.Options(passphraseCost: .testingOnly, idleTimeoutSeconds: nil)
    // The first unlock finds no snapshot (the journal was written around the library) and
    // evaluates every entry; locking writes the snapshot the next unlock reads.
    var journal: Journal? = try! Journal.open(at: path, options: options)
    let first = seconds { try! journal!.unlock(passphrase: passphrase) }
    let lock = seconds { journal!.lock() }
    journal = nil
    var phases = (open: 0.0, unlock: 0.0)
    phases.open = seconds { journal = try! Journal.open(at: path, options: options) }
    phases.unlock = seconds { try! journal!.unlock(passphrase: passphrase) }
    let notes = try! journal!.state.cases.values.reduce(0) { $0 + $1.notes.count }
    precondition(notes == journalEntries - 401, "every note loaded")
    let someCase = try! journal!.state.cases.keys.first!
    let write = seconds { _ = try! journal!.addNote(.supportTalk, text: "first", in: someCase) }
    // Appends to the large journal: their cost must not grow with it.
    var large = [Double]()
    for _ in 0..<500 {
      large.append(seconds { _ = try! journal!.addNote(.supportTalk, text: "more", in: someCase) })
    }
    large.sort()
    let total = phases.open + phases.unlock - derivation
    print(
      "  open + unlock of \(journalEntries) entries: \(format(total, 3)) s excluding Argon2id (target ≤ 0.5 s)"
    )
    print(
      "    open \(format(phases.open, 3)) s, unlock from the snapshot \(format(phases.unlock, 3)) s, Argon2id (minimum cost) \(format(derivation * 1000, 2)) ms; first note after it \(format(write * 1000, 2)) ms"
    )
    print(
      "    appends to it: p50 \(format(large[250] * 1000, 3)) ms, p99 \(format(large[495] * 1000, 3)) ms"
    )
    print(
      "    without a snapshot (first unlock) \(format(first, 3)) s; lock, writing the snapshot, \(format(lock, 3)) s"
    )
    journal = nil

    // Where the time goes: reading and authenticating the rows, placing them in the DAG,
    // evaluating the state.
    let store = try! Store.open(at: path)
    _ = try! store.unlock(passphrase: passphrase)
    var stored = [StoredEntry]()
    let read = seconds { stored = try! store.entries() }
    var dag = try! DAG(genesis: stored[0].entry)
    let place = seconds { for item in stored.dropFirst() { try! dag.insert(item.entry) } }
    var state: JournalState?
    let evaluate = seconds {
      state = JournalState(dag: dag, readers: [store.secrets!.box], now: now)
    }
    precondition(state!.cases.count == 200)
    var snapshot: (last: Int64, count: Int64, plain: [UInt8], offset: Int)?
    let readSnapshot = seconds { snapshot = try! store.loadSnapshot() }
    var bytes = [UInt8]()
    let encode = seconds { bytes = state!.snapshotBytes }
    var parsed: JournalState?
    let decode = seconds {
      parsed = try! JournalState(snapshot: bytes, keys: state!.keyBytes, readers: [])
    }
    precondition(parsed!.cases.count == 200)
    // Raw: the same file read (Foundation) and opened with XChaCha20-Poly1305 directly, on
    // one thread into a second buffer, for comparison with the store's chunked in-place open.
    var fileBytes = [UInt8]()
    let rawRead = seconds {
      fileBytes = [UInt8](FileManager.default.contents(atPath: path + "/snapshot")!)
    }
    let key = AEAD.Key(using: &random)
    let nonce = random.bytes(AEAD.nonceCount)
    let sealedCopy = AEAD.seal(fileBytes, key: key, nonce: nonce)
    let rawOpen = seconds { _ = try! AEAD.open(sealedCopy, key: key, nonce: nonce) }
    print(
      "    raw, one thread: read the \(fileBytes.count / 1_000_000) MB file \(format(rawRead, 3)) s, open it with XChaCha20-Poly1305 \(format(rawOpen, 3)) s"
    )
    print(
      "    snapshot: \(snapshot!.plain.count / 1_000_000) MB; read and authenticate it \(format(readSnapshot, 3)) s, encode the state \(format(encode, 3)) s, decode it \(format(decode, 3)) s"
    )
    print(
      "    of which: read and authenticate rows \(format(read, 3)) s, place in the DAG \(format(place, 3)) s, evaluate the state \(format(evaluate, 3)) s"
    )
  }
}
