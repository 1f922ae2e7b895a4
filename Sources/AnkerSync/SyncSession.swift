import AnkerCrypto
import AnkerLog
import Foundation

/// One sync of a journal with one relay: push the outbox, pull pages after the cursor, fetch
/// missing parents, repair a relay that went back, check and publish head attestations.
///
/// It is a state machine over durable steps: each request's effect is stored (entries taken,
/// outbox acknowledged, cursor saved) before the next, so an interruption anywhere loses
/// nothing and the next sync resumes. Every request is bounded in time, retried a bounded
/// number of times, and the whole sync in number of requests: it never stalls. What the relay
/// did wrong is reported by name (`SyncFault`), never silently absorbed.
public final class SyncSession<Local: SyncLocal> {
  public struct Options: Sendable {
    public var pushBatch = 500
    public var pageSize = 2000
    /// Tries per request before the relay counts as unreachable.
    public var attempts = 4
    /// The most requests one sync makes.
    public var maxRequests = 20_000
    /// Pause before a retry (grows with each try).
    public var retryPause: Duration = .milliseconds(50)
    public var progress: (@Sendable (SyncProgress) -> Void)?

    public init() {}
  }

  /// The phases, in order; `repairing` interrupts pulling and returns to it.
  public enum Phase: Sendable { case identifying, pushing, pulling, repairing, attesting, done }

  let local: Local
  let client: RelayClient
  let options: Options
  public private(set) var phase: Phase = .identifying
  public private(set) var report = SyncReport()
  private var skew: Int64 = 0
  private var relayKey: Signing.PublicKey?
  private var cursor = SyncCursor()
  private var repaired = false
  private var garbled = 0
  private var withheld = Set<EntryID>()
  /// A relay with a new key proves nothing about its past: treat it as possibly restored.
  private var keyChanged = false

  public init(local: Local, client: RelayClient, options: Options = Options()) {
    self.local = local
    self.client = client
    self.options = options
  }

  private var relay: String { client.origin }

  public func run() async throws(SyncError) -> SyncReport {
    phase = .identifying
    try await identify()
    phase = .pushing
    try await push(try local.outbox(), acknowledging: true)
    if keyChanged { try await repair() }
    phase = .pulling
    try await pull()
    phase = .attesting
    try await attest()
    try local.finish()
    phase = .done
    if garbled > 0 { report.faults.append(.garbled(relay: relay, count: garbled)) }
    if !withheld.isEmpty {
      report.faults.append(.withheld(relay: relay, ids: withheld.sorted()))
    }
    return report
  }

  // MARK: - Identify

  /// Reads the relay's key and origin; pins the key (a change is reported and the relay's
  /// history checked again from the start).
  private func identify() async throws(SyncError) {
    let info = try await call("GET", "/v1/relay", signed: false) { response throws(WireError) in
      guard let info = try? JSONDecoder().decode(RelayInfo.self, from: Data(response.body)),
        let bytes = Hex.decode(info.key), let key = Signing.PublicKey(bytes)
      else { throw WireError(.truncated, "the relay's description is unreadable") }
      return (info, key)
    }
    guard info.0.origin == relay else {
      throw SyncError(
        .refused,
        "the relay calls itself \(info.0.origin), not \(relay): use that address, or start the "
          + "relay with --origin \(relay)")
    }
    relayKey = info.1
    cursor = try local.cursor(relay: relay)
    if let pinned = cursor.relayKey, pinned != info.1 {
      report.faults.append(.relayKeyChanged(relay: relay))
      cursor = SyncCursor()
      keyChanged = true
    }
    cursor.relayKey = info.1
  }

  // MARK: - Push

  /// Pushes `entries` in batches. Parents the relay lacks are sent first (once each);
  /// `acknowledging` marks what the relay holds in the outbox.
  private func push(_ entries: [Entry], acknowledging: Bool) async throws(SyncError) {
    var queue = entries[...]
    var sentParents = Set<EntryID>()
    var done = 0
    while !queue.isEmpty {
      var batch = [Entry]()
      var bytes = 0
      while let next = queue.first, batch.count < options.pushBatch,
        bytes + next.encoded.count <= 4 << 20 || batch.isEmpty
      {
        batch.append(next)
        bytes += next.encoded.count + 4
        queue = queue.dropFirst()
      }
      let result = try await pushBatch(batch)
      report.pushed += result.accepted
      let missing = Set(result.missing.compactMap { Digest256(hex: $0) })
      var refused = [String: [EntryID]]()
      for refusal in result.refused {
        if let id = Digest256(hex: refusal.id) { refused[refusal.reason, default: []].append(id) }
      }
      let refusedIDs = Set(refused.values.joined())
      // Entries the relay could not place because a parent (or an ancestor in the batch) is
      // missing there: sent again after their parents.
      var unplaced = Set<EntryID>()
      for entry in batch
      where entry.parents.contains(where: { missing.contains($0) || unplaced.contains($0) }) {
        unplaced.insert(entry.id)
      }
      if acknowledging {
        try local.acknowledge(
          batch.map(\.id).filter { !unplaced.contains($0) && !refusedIDs.contains($0) })
      }
      for (reason, ids) in refused.sorted(by: { $0.key < $1.key }) {
        report.faults.append(.refused(relay: relay, ids: ids, reason: reason))
      }
      if !unplaced.isEmpty {
        let wanted = missing.subtracting(sentParents)
        sentParents.formUnion(wanted)
        let parents = try local.entries(Array(wanted)).sorted { $0.lamport < $1.lamport }
        if parents.isEmpty {
          report.faults.append(
            .refused(relay: relay, ids: unplaced.sorted(), reason: "missingParents"))
        } else {
          queue = (parents + batch.filter { unplaced.contains($0.id) })[...] + queue
        }
      }
      done += batch.count
      options.progress?(SyncProgress(phase: .pushing, done: done, total: entries.count))
    }
  }

  private func pushBatch(_ batch: [Entry]) async throws(SyncError) -> PushResult {
    let body = Wire.encodeBatch(batch)
    let result = try await callCreatingJournal("POST", client.journalPath + "/entries", body: body)
    { response throws(WireError) in
      guard let result = try? JSONDecoder().decode(PushResult.self, from: Data(response.body)),
        let bytes = Hex.decode(result.checkpoint)
      else { throw WireError(.truncated, "the relay's answer to a push is unreadable") }
      return (result, try self.checkpoint(bytes))
    }
    // A head below what the relay signed for this device before: it went back. (Not while
    // repairing: the relay is known to be behind then.)
    if phase != .repairing && result.1.sequence < cursor.highest {
      report.faults.append(
        .rollback(
          relay: relay, signed: cursor.highest, now: result.1.sequence,
          proof: cursor.signedHighest.flatMap { RelayProof(earlier: $0, later: result.1) }))
      try await repair()
    } else {
      let before = cursor
      cursor.keepSigned(result.1)
      cursor.highest = max(cursor.highest, result.1.sequence)
      if cursor != before { try local.saveCursor(cursor, relay: relay) }
    }
    return result.0
  }

  private func checkpoint(_ bytes: [UInt8]) throws(WireError) -> RelayCheckpoint {
    let checkpoint = try RelayCheckpoint(decoding: bytes)
    guard checkpoint.relay == relayKey else {
      throw WireError(.wrongRelay, "a checkpoint signed by another key")
    }
    guard checkpoint.journal == client.journal else {
      throw WireError(.wrongJournal, "a checkpoint for another journal")
    }
    return checkpoint
  }

  // MARK: - Pull

  private struct Page {
    var records: [(sequence: UInt64, entry: Entry)]
    var checkpoint: RelayCheckpoint
    var head: UInt64
  }

  /// A page asked for before the one before it was taken: the relay serves it (and the
  /// network carries it) while this device checks and stores the previous one.
  private struct Prefetch {
    var after: UInt64
    /// The answer and, when it came with a body, its records decoded (hashed and checked
    /// entry by entry) on the way, off the path of the page being taken.
    var answer: Task<(RelayClient.Outcome, [(sequence: UInt64, entry: Entry)]?), Never>
  }

  private func pagePath(after sequence: UInt64) -> String {
    client.journalPath + "/entries?after=\(sequence)&limit=\(options.pageSize)"
  }

  /// Sends the request for the page after `sequence` now; its answer is used only if the
  /// cursor stands exactly there when the next page is due (else it is dropped unread).
  private func prefetch(after sequence: UInt64) -> Prefetch? {
    guard report.requests < options.maxRequests else { return nil }
    report.requests += 1
    let (client, path, skew) = (client, pagePath(after: sequence), skew)
    return Prefetch(
      after: sequence,
      answer: Task {
        let outcome = await client.send("GET", path, skew: skew)
        guard case .answer(let response) = outcome, (200..<300).contains(response.status)
        else { return (outcome, nil) }
        return (outcome, try? Wire.decodePage(response.body))
      })
  }

  private func pull() async throws(SyncError) {
    var mismatches = 0
    // Up to two pages in flight ahead of the one being taken, ascending by cursor.
    var ahead = [Prefetch]()
    // Pages asked ahead and not used are dropped, never cancelled: cancelling a request
    // URLSession is finishing can deadlock (DECISIONS 47). Each ends on its own (answered,
    // failed or timed out) and its answer is freed unread.
    while true {
      let path = pagePath(after: cursor.sequence)
      var prefetched: RelayClient.Outcome?
      var decoded: [(sequence: UInt64, entry: Entry)]?
      if let next = ahead.first, next.after == cursor.sequence {
        ahead.removeFirst()
        (prefetched, decoded) = await next.answer.value
      } else {
        // The cursor is not where they were asked from (an entry waits, a repair): drop them.
        ahead = []
      }
      let page = try await callCreatingJournal("GET", path, prefetched: prefetched) {
        response throws(WireError) in
        // Decoded records belong to the first answer only (the prefetched one).
        let ready = decoded
        decoded = nil
        guard let checkpointHex = response.headers[PageHeaders.checkpoint],
          let checkpointBytes = Hex.decode(checkpointHex),
          let head = response.headers[PageHeaders.head].flatMap(UInt64.init)
        else { throw WireError(.truncated, "a page lacks its checkpoint") }
        var records = ready ?? []
        if ready == nil { records = try Wire.decodePage(response.body) }
        return Page(
          records: records,
          checkpoint: try self.checkpoint(checkpointBytes),
          head: head)
      }
      report.relayHead = page.head
      switch verify(page) {
      case .consistent(let chains):
        mismatches = 0
        // More after this page: ask for the next two now, from where the cursor will stand
        // once this page is taken whole, and once the next one (if full) is.
        if let last = page.records.last?.sequence, last < page.head {
          var wanted = [last]
          let size = UInt64(options.pageSize)
          if last + size < page.head { wanted.append(last + size) }
          ahead.removeAll { !wanted.contains($0.after) }
          for after in wanted where !ahead.contains(where: { $0.after == after }) {
            if let next = prefetch(after: after) { ahead.append(next) }
          }
          ahead.sort { $0.after < $1.after }
        }
        let complete = try await take(page, chains: chains)
        options.progress?(
          SyncProgress(phase: .pulling, done: Int(cursor.sequence), total: Int(page.head)))
        if !complete || page.records.isEmpty || cursor.sequence >= page.head { return }
      case .wentBack:
        report.faults.append(
          .rollback(
            relay: relay, signed: cursor.highest, now: page.head,
            proof: cursor.signedHighest.flatMap { RelayProof(earlier: $0, later: page.checkpoint) }
          ))
        try await repair()
      case .forked:
        report.faults.append(
          .fork(
            relay: relay, at: cursor.sequence,
            proof: cursor.checkpoint.flatMap { RelayProof(earlier: $0, later: page.checkpoint) }))
        try await repair()
      case .mismatch:
        // A damaged answer looks the same as a forked history once: ask again before
        // calling it a fork.
        mismatches += 1
        if mismatches < options.attempts {
          garbled += 1
          continue
        }
        report.faults.append(.fork(relay: relay, at: cursor.sequence, proof: nil))
        mismatches = 0
        try await repair()
      }
    }
  }

  private enum PageCheck {
    case consistent([Digest256])
    case wentBack
    /// The relay signed a different chain value at this device's cursor: two signed
    /// statements that contradict each other (a garbled answer would not verify).
    case forked
    /// The records do not chain up to the checkpoint: damaged in transit, or a fork.
    case mismatch
  }

  /// Whether the page continues the chain this device holds and ends at the relay's signed
  /// checkpoint.
  private func verify(_ page: Page) -> PageCheck {
    if page.checkpoint.sequence < cursor.sequence || page.head < cursor.highest {
      return .wentBack
    }
    if page.records.isEmpty && page.checkpoint.sequence == cursor.sequence
      && page.checkpoint.chain != cursor.chain
    {
      return .forked
    }
    var chain = cursor.chain
    var chains = [Digest256]()
    chains.reserveCapacity(page.records.count)
    var expected = cursor.sequence
    for record in page.records {
      expected += 1
      guard record.sequence == expected else { return .mismatch }
      chain = RelayCheckpoint.extend(chain, sequence: record.sequence, id: record.entry.id)
      chains.append(chain)
    }
    guard page.checkpoint.sequence == expected, page.checkpoint.chain == chain else {
      return .mismatch
    }
    return .consistent(chains)
  }

  /// Takes a verified page, fetches missing parents, and moves the cursor up to the last
  /// entry before the first one still waiting (so nothing withheld is skipped for good).
  /// Returns false when something stays missing.
  private func take(_ page: Page, chains: [Digest256]) async throws(SyncError) -> Bool {
    guard !page.records.isEmpty else { return true }
    let result = try local.take(page.records.map(\.entry))
    report.received += result.stored
    if result.rejected > 0 {
      report.faults.append(.badEntries(relay: relay, count: result.rejected))
    }
    var waiting = result.waiting
    if !waiting.isEmpty {
      waiting = try await fetchMissing(waiting)
    }
    var last = page.records.count - 1
    if let first = page.records.firstIndex(where: { waiting.contains($0.entry.id) }) {
      last = first - 1
    }
    if last >= 0 {
      cursor.sequence = page.records[last].sequence
      cursor.chain = chains[last]
      if last == page.records.count - 1 { cursor.checkpoint = page.checkpoint }
      cursor.keepSigned(page.checkpoint)
      cursor.highest = max(cursor.highest, cursor.sequence, page.head)
      try local.saveCursor(cursor, relay: relay)
    }
    return waiting.isEmpty
  }

  /// Fetches the parents that entries in `waiting` need, by id, until none is missing or the
  /// relay serves no more; what it will not serve is withheld. Returns the ids still waiting.
  private func fetchMissing(_ waiting: Set<EntryID>) async throws(SyncError) -> Set<EntryID> {
    var waiting = waiting
    var asked = Set<EntryID>()
    var rounds = 0
    while rounds < 64 {
      rounds += 1
      let missing = try local.missingParents().filter { !asked.contains($0) }
      if missing.isEmpty { break }
      asked.formUnion(missing)
      let fetched = try await fetch(missing)
      let result = try local.take(fetched)
      report.received += result.stored
      if result.rejected > 0 {
        report.faults.append(.badEntries(relay: relay, count: result.rejected))
      }
      let served = Set(fetched.map(\.id))
      withheld.formUnion(missing.filter { !served.contains($0) })
      waiting = waiting.filter { (try? local.contains($0)) != true }
      if waiting.isEmpty { break }
    }
    return waiting.filter { (try? local.contains($0)) != true }
  }

  /// Entries by id, as the relay serves them; each must be the one asked for.
  private func fetch(_ ids: [EntryID]) async throws(SyncError) -> [Entry] {
    var out = [Entry]()
    for start in stride(from: 0, to: ids.count, by: 4096) {
      let chunk = Array(ids[start..<min(start + 4096, ids.count)])
      let wanted = Set(chunk)
      out += try await call(
        "POST", client.journalPath + "/entries/fetch", body: Wire.encodeIDs(chunk)
      ) {
        response throws(WireError) in
        let entries = try Wire.decodeBatch(response.body)
        guard entries.allSatisfy({ wanted.contains($0.id) }) else {
          throw WireError(.malformedEntry, "the relay sent an entry that was not asked for")
        }
        return entries
      }
    }
    options.progress?(SyncProgress(phase: .fetching, done: out.count, total: ids.count))
    return out
  }

  // MARK: - Repair

  /// The relay went back or forked: find what it lacks of this device's entries, send it,
  /// and read its history again from the start. Done once per sync.
  private func repair() async throws(SyncError) {
    guard !repaired else {
      throw SyncError(
        .protocolViolation,
        "relay \(relay) went back again during the repair: stopped; nothing was lost here")
    }
    repaired = true
    let previous = phase
    phase = .repairing
    // From here the relay's history is read again from the start; what it signed before is
    // the evidence in the fault just reported.
    cursor = SyncCursor(relayKey: relayKey)
    try local.saveCursor(cursor, relay: relay)
    let ids = try local.allIDs()
    var absent = [EntryID]()
    for start in stride(from: 0, to: ids.count, by: 4096) {
      let chunk = Array(ids[start..<min(start + 4096, ids.count)])
      absent += try await call(
        "POST", client.journalPath + "/entries/absent", body: Wire.encodeIDs(chunk)
      ) {
        response throws(WireError) in try Wire.decodeIDs(response.body)
      }
      options.progress?(SyncProgress(phase: .repairing, done: start, total: ids.count))
    }
    if !absent.isEmpty {
      let wanted = Set(absent)
      // `allIDs` is in stored order, parents first; keep it.
      let entries = try local.entries(ids.filter { wanted.contains($0) })
      try await push(entries, acknowledging: true)
    }
    phase = previous
  }

  // MARK: - Attestations

  /// Reads the other devices' signed heads: any the relay will not serve is withheld. Then
  /// publishes this device's own.
  private func attest() async throws(SyncError) {
    let journal = try local.journalID
    let attestations = try await call("GET", client.journalPath + "/attestations") {
      response throws(WireError) in try Wire.decodeAttestations(response.body)
    }
    let me = try local.device.publicKey
    var lacking = Set<EntryID>()
    for attestation in attestations where attestation.journal == journal && attestation.device != me
    {
      guard try local.isMember(attestation.device) else { continue }
      for head in attestation.heads {
        if try !local.contains(head) { lacking.insert(head) }
      }
    }
    if !lacking.isEmpty {
      let fetched = try await fetch(lacking.sorted())
      let result = try local.take(fetched)
      report.received += result.stored
      _ = try await fetchMissing(result.waiting)
      for id in lacking {
        if try !local.contains(id) { withheld.insert(id) }
      }
    }
    // Attest only what the relay holds: heads it lacks (an entry it refused, one received by
    // hand) are offered first; any it still lacks are left out, so no honest relay is ever
    // accused of withholding them.
    var own = try local.attestation(now: client.clock())
    let absent = try await call(
      "POST", client.journalPath + "/entries/absent", body: Wire.encodeIDs(own.heads)
    ) { response throws(WireError) in try Wire.decodeIDs(response.body) }
    if !absent.isEmpty {
      try await push(try local.entries(absent), acknowledging: true)
      let still = Set(
        try await call(
          "POST", client.journalPath + "/entries/absent", body: Wire.encodeIDs(own.heads)
        ) { response throws(WireError) in try Wire.decodeIDs(response.body) })
      own = try local.attestation(now: client.clock(), excluding: still)
    }
    _ = try await call("PUT", client.journalPath + "/attestations", body: own.encoded) { _ in () }
  }

  // MARK: - Requests

  /// Sends a request, retrying (bounded) when there is no answer, a server error, or an
  /// answer that cannot be read. A refusal with a JSON error stops the sync with it.
  /// `prefetched`, when given, is the answer to the first try, sent earlier (and counted
  /// then); retries go out afresh.
  private func call<T>(
    _ method: String, _ path: String, body: [UInt8] = [], signed: Bool = true,
    prefetched: RelayClient.Outcome? = nil,
    decode: (HTTPExchange.Response) throws(WireError) -> T
  ) async throws(SyncError) -> T {
    var problem = "no answer"
    for attempt in 0..<options.attempts {
      if attempt > 0 {
        try? await Task.sleep(for: options.retryPause * (1 << min(attempt, 5)))
      }
      guard !signed || client.canSign else {
        throw SyncError(
          .local, "the journal was locked during the sync: stopped; nothing taken was lost")
      }
      let outcome: RelayClient.Outcome
      if attempt == 0, let prefetched {
        outcome = prefetched
      } else {
        guard report.requests < options.maxRequests else {
          throw SyncError(
            .protocolViolation, "the sync with \(relay) took too many requests: stopped")
        }
        report.requests += 1
        report.bytesSent += body.count
        outcome = await client.send(method, path, body: body, signed: signed, skew: skew)
      }
      switch outcome {
      case .noAnswer(let why):
        problem = why
      case .answer(let response):
        report.bytesReceived += response.body.count
        if (200..<300).contains(response.status) {
          do { return try decode(response) } catch {
            garbled += 1
            problem = "an answer could not be read (\(error.code.rawValue))"
            continue
          }
        }
        let error = try? JSONDecoder().decode(RelayErrorBody.self, from: Data(response.body))
        guard let error, response.status < 500 else {
          if response.status < 500 { garbled += 1 }
          problem = "the relay answered \(response.status)"
          continue
        }
        switch error.error {
        case "staleTime":
          if let serverTime = error.serverTime {
            // Bounded: a lying relay cannot push this laptop's clock more than a day off.
            let offset = Int64(clamping: serverTime) &- Int64(clamping: client.clock())
            skew = min(max(offset, -86_400_000), 86_400_000)
          }
          problem = "this laptop's clock is far from the relay's"
        case "replayed":
          // A copy of one of ours arrived first (a duplicating network): sign afresh.
          problem = "a request was replayed"
        case "badSignature" where attempt + 1 < options.attempts:
          // Altered in transit is indistinguishable from forged: try once more.
          problem = "the relay could not verify a request"
        default:
          throw SyncError(.refused, "relay \(relay): \(error.message)", relayCode: error.error)
        }
      }
    }
    throw SyncError(.unreachable, "relay \(relay): \(problem)")
  }

  /// As `call`, creating the journal on the relay first when it does not hold it yet and this
  /// device wrote its genesis.
  private func callCreatingJournal<T>(
    _ method: String, _ path: String, body: [UInt8] = [],
    prefetched: RelayClient.Outcome? = nil,
    decode: (HTTPExchange.Response) throws(WireError) -> T
  ) async throws(SyncError) -> T {
    do {
      return try await call(method, path, body: body, prefetched: prefetched, decode: decode)
    } catch  where error.relayCode == "unknownJournal" {
      let genesis = try local.genesis()
      guard genesis.author == (try local.device.publicKey) else {
        throw SyncError(
          .refused,
          "relay \(relay) does not hold this journal yet: the laptop that created it must sync first",
          relayCode: "unknownJournal")
      }
      _ = try await call("PUT", client.journalPath, body: genesis.encoded) { _ in () }
      return try await call(method, path, body: body, decode: decode)
    }
  }
}
