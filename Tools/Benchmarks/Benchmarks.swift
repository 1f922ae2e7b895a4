import AnkerCrypto
import AnkerLog

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Benchmarks that print their ratio to the raw libsodium cost of the same work, measured in
/// the same run. Build in release: `swift run -c release anker-bench log|model|store [ENTRIES]`; `sync` and
/// `ingest` start `anker-relay` from beside the tool: `swift build -c release` first.
@main
struct Benchmarks {
  static func main() async {
    let arguments = Array(CommandLine.arguments.dropFirst())
    switch arguments.first {
    case "log", nil:
      let count = arguments.dropFirst().first.flatMap(Int.init) ?? 100_000
      LogBenchmark(entries: count, authors: 20).run()
    case "model":
      let count = arguments.dropFirst().first.flatMap(Int.init) ?? 100_000
      ModelBenchmark(entries: count, devices: 20, cases: 200).run()
    case "store":
      let count = arguments.dropFirst().first.flatMap(Int.init) ?? 100_000
      let appends = arguments.dropFirst(2).first.flatMap(Int.init) ?? 2000
      StoreBenchmark(appends: appends, journalEntries: count).run()
    case "sync":
      let count = arguments.dropFirst().first.flatMap(Int.init) ?? 100_000
      await SyncBenchmark(entries: count).runColdSync()
    case "ingest":
      let batches = arguments.dropFirst().first.flatMap(Int.init) ?? 20
      await SyncBenchmark(entries: 0).runIngest(devices: 50, batches: batches, batchSize: 100)
    default:
      print("usage: anker-bench log|model|store|sync|ingest [ENTRIES] [APPENDS]")
      exit(2)
    }
  }
}

func seconds(_ body: () -> Void) -> Double {
  var start = timespec()
  var end = timespec()
  clock_gettime(CLOCK_MONOTONIC, &start)
  body()
  clock_gettime(CLOCK_MONOTONIC, &end)
  return Double(end.tv_sec - start.tv_sec) + Double(end.tv_nsec - start.tv_nsec) / 1e9
}

func format(_ value: Double, _ digits: Int = 3) -> String {
  let scale = pow(10, Double(digits))
  return String((value * scale).rounded() / scale)
}

/// Ingest of a batch of entries by 20 authors with 1 KiB sealed bodies: decoding (which
/// hashes the header, signature and body) plus authentication, one signature per entry
/// versus chain verification.
struct LogBenchmark {
  let entries: Int
  let authors: Int

  func run() {
    print("anker-bench log: \(entries) entries, \(authors) authors, 1 KiB sealed bodies")
    var random = SeededRandom(seed: 1)
    let journal = Digest256(random.bytes(32))!
    let keys = (0..<authors).map { _ in Signing.PrivateKey(using: &random) }
    let epochKey = AEAD.Key(using: &random)
    let text = [UInt8](repeating: 0x6e, count: 800)
    var encoded = [[UInt8]]()
    encoded.reserveCapacity(entries)
    var last = [EntryID?](repeating: nil, count: authors)
    var lamport = [UInt64](repeating: 1, count: authors)
    let build = seconds {
      for index in 0..<entries {
        let author = index % authors
        let sequence = UInt64(index / authors + 1)
        let parents = last[author].map { [$0] } ?? [journal]
        let draft = EntryDraft(
          journal: journal, author: keys[author].publicKey, sequence: sequence,
          prev: last[author], parents: parents, lamport: lamport[author] + 1)
        let body = try! SealedBody.seal(
          text, position: draft.positionBytes, epoch: 1, epochKey: epochKey, keyRef: .zero,
          contentKey: epochKey, using: &random)
        let entry = draft.sign(body: body, with: keys[author])
        last[author] = entry.id
        lamport[author] += 1
        encoded.append(entry.encoded)
      }
    }
    print("  (writing them took \(format(build)) s)")

    var decoded = [Entry]()
    let decode = seconds { decoded = encoded.map { try! Entry(decoding: $0) } }
    var each = ChainVerification.Report()
    let single = seconds { each = ChainVerification.verifyEach(decoded) }
    var chained = ChainVerification.Report()
    let chain = seconds { chained = ChainVerification.verify(decoded) }
    precondition(each.isComplete && chained.isComplete)

    // The raw libsodium cost of the same work: BLAKE2b over the same bytes (id and body
    // hash), and the Ed25519 verifications each method needs, called directly.
    let messages = decoded.map { Entry.signatureContext + $0.headerBytes }
    var sink = 0
    let rawHash = seconds {
      for entry in decoded {
        sink &+= Int(BLAKE2b.hash256(parts: [entry.headerBytes, entry.signature]).bytes[0])
        sink &+= Int(BLAKE2b.hash256(entry.body!).bytes[0])
      }
    }
    let rawVerifyAll = seconds {
      for (index, entry) in decoded.enumerated()
      where entry.header.author.isValidSignature(entry.signature, for: messages[index]) {
        sink &+= 1
      }
    }
    let perVerify = rawVerifyAll / Double(entries)
    let rawChainBound = rawHash + perVerify * Double(chained.signaturesChecked)
    let rawSingleBound = rawHash + rawVerifyAll
    precondition(sink != 0)

    print("  decode (parse + id + body hash):   \(format(decode)) s")
    print(
      "  verify one by one:                 \(format(single)) s (\(each.signaturesChecked) signatures)"
    )
    print(
      "  verify by chain:                   \(format(chain)) s (\(chained.signaturesChecked) signatures)"
    )
    print("  raw BLAKE2b of the same bytes:     \(format(rawHash)) s")
    print("  raw Ed25519 verify, each:          \(format(perVerify * 1e6, 1)) µs")
    print("")
    print(
      "  ingest, one by one:   \(format(decode + single)) s = \(format((decode + single) / rawSingleBound, 2)) × raw (hash all + verify all)"
    )
    print(
      "  ingest, chain:        \(format(decode + chain)) s = \(format((decode + chain) / rawChainBound, 2)) × raw (hash all + verify \(chained.signaturesChecked))"
    )
    print("  chain vs one by one:  \(format((decode + single) / (decode + chain), 1)) × faster")
  }
}
