import AnkerCrypto
import AnkerLog
import AnkerStore
import AnkerSync
import Foundation

/// The relay's logic without HTTP: authentication, journals, pushes, pages, fetches and
/// attestations over one `RelayStorage`. One actor serialises every write, so sequence
/// numbers are assigned in one order.
///
/// **Group commit.** Writes (entries, nonces, attestations) join one open transaction, each
/// in a savepoint; a commit queued behind the requests waiting on the actor makes the whole
/// group durable with one fsync. No answer leaves before the group that holds its writes, and
/// everything it read, is committed (`settle`): a relay killed mid-group loses only requests
/// nobody was told succeeded, and never signed a checkpoint anyone saw over them.
public actor RelayService {
  public struct Configuration: Sendable {
    /// The origin clients sign (scheme://host:port), as they reach the relay.
    public var origin: String
    /// Bytes of entries one journal may hold (nil: no limit).
    public var journalQuota: Int64?
    /// A file listing the journal ids that may be created here, one per line (nil: any).
    public var allowedJournalsFile: String?
    public var clock: @Sendable () -> UInt64

    public init(
      origin: String, journalQuota: Int64? = nil, allowedJournalsFile: String? = nil,
      clock: @escaping @Sendable () -> UInt64 = { Store.wallClock() }
    ) {
      self.origin = origin
      self.journalQuota = journalQuota
      self.allowedJournalsFile = allowedJournalsFile
      self.clock = clock
    }
  }

  public private(set) var configuration: Configuration
  let storage: RelayStorage
  nonisolated let key: Signing.PrivateKey
  /// The origin requests are signed for, readable off the actor: signatures are checked there.
  private nonisolated let signedOrigin: OriginCell
  private var indexes: [JournalID: JournalIndex] = [:]
  private var lastPrune: UInt64 = 0
  /// The number of the newest group; whether it is still open; the newest one that failed.
  private var group: UInt64 = 0
  private var groupIsOpen = false
  private var lastFailedGroup: UInt64 = 0
  private var waiting: [CheckedContinuation<Void, Never>] = []
  let metrics: RelayMetrics

  public nonisolated let publicKey: Signing.PublicKey
  /// The relay's clock (milliseconds since 1970).
  public nonisolated let clock: @Sendable () -> UInt64

  public init(directory: String, configuration: Configuration) throws(RelayError) {
    do {
      storage = try RelayStorage(directory: directory)
      key = try RelayKey.loadOrCreate(in: directory)
    } catch { throw RelayError(error) }
    publicKey = key.publicKey
    clock = configuration.clock
    signedOrigin = OriginCell(configuration.origin)
    self.configuration = configuration
    metrics = RelayMetrics()
  }

  /// Sets the origin once the listening port is known (port 0 in tests).
  public func setOrigin(_ origin: String) {
    configuration.origin = origin
    signedOrigin.value = origin
  }

  public var origin: String { configuration.origin }

  // MARK: - Authentication

  public struct SignedRequest: Sendable {
    public var method: String
    public var pathWithQuery: String
    public var journal: JournalID
    public var body: [UInt8]
    public var device: String?
    public var time: String?
    public var nonce: String?
    public var signature: String?

    public init(
      method: String, pathWithQuery: String, journal: JournalID, body: [UInt8],
      header: (String) -> String?
    ) {
      self.method = method
      self.pathWithQuery = pathWithQuery
      self.journal = journal
      self.body = body
      device = header(RequestSignature.deviceHeader)
      time = header(RequestSignature.timeHeader)
      nonce = header(RequestSignature.nonceHeader)
      signature = header(RequestSignature.signatureHeader)
    }
  }

  /// Checks a request's signature (outside the actor: it is pure and costs a verification).
  nonisolated func checkSignature(_ request: SignedRequest, origin: String) throws(RelayError)
    -> (device: Signing.PublicKey, time: UInt64, nonce: [UInt8])
  {
    guard let deviceHex = request.device, let timeText = request.time,
      let nonceHex = request.nonce, let signatureHex = request.signature
    else {
      throw RelayError(.unauthenticated, "the request is not signed by a device")
    }
    guard let deviceBytes = Hex.decode(deviceHex), let device = Signing.PublicKey(deviceBytes),
      let time = UInt64(timeText), let nonce = Hex.decode(nonceHex),
      nonce.count == RequestSignature.nonceCount, let signature = Hex.decode(signatureHex),
      signature.count == Signing.signatureCount
    else {
      throw RelayError(.unauthenticated, "the request's signature headers are malformed")
    }
    let message = RequestSignature.message(
      origin: origin, journal: request.journal, method: request.method,
      pathWithQuery: request.pathWithQuery, body: request.body, time: time, nonce: nonce)
    guard device.isValidSignature(signature, for: message) else {
      throw RelayError(.badSignature, "the request's signature does not verify")
    }
    return (device, time, nonce)
  }

  /// An authenticated request: its device, and the group its nonce was written in (the
  /// answer waits for it with `settle`).
  struct Caller {
    var device: Signing.PublicKey
    var ticket: UInt64
  }

  /// Authenticates a request for an existing journal: signature, time, nonce, and the
  /// device's standing in the journal's membership. The signature (a hash of the whole body
  /// and a verification) is checked before the actor, on any core; the rest on it.
  nonisolated func authenticate(_ request: SignedRequest) async throws(RelayError) -> Caller {
    let (device, time, nonce) = try checkSignature(request, origin: signedOrigin.value)
    return try await admit(device, time: time, nonce: nonce, journal: request.journal)
  }

  /// The part of `authenticate` that reads the journal and records the nonce.
  private func admit(
    _ device: Signing.PublicKey, time: UInt64, nonce: [UInt8], journal: JournalID
  ) throws(RelayError) -> Caller {
    let index = try index(journal)
    switch index.rights.standing(of: device) {
    case .allowed: break
    case .revoked:
      metrics.rejected("revoked")
      throw RelayError(.revoked, "this device was removed from the journal")
    case .pending:
      metrics.rejected("pendingEnrolment")
      throw RelayError(
        .pendingEnrolment,
        "this device was enrolled by the recovery authority and waits for its time lock to run out")
    case .unknown where index.rights.vetoed.contains(device):
      metrics.rejected("recoveryVetoed")
      throw RelayError(
        .recoveryVetoed, "an admin vetoed this device's enrolment by the recovery authority")
    case .unknown:
      metrics.rejected("unknownDevice")
      throw RelayError(.unknownDevice, "this device is not a member of the journal")
    }
    let ticket = try checkFreshness(device: device, journal: journal, time: time, nonce: nonce)
    return Caller(device: device, ticket: ticket)
  }

  /// Checks the request's time and records its nonce; returns the group that holds it.
  private func checkFreshness(
    device: Signing.PublicKey, journal: JournalID, time: UInt64, nonce: [UInt8]
  ) throws(RelayError) -> UInt64 {
    let now = configuration.clock()
    let skew = RequestSignature.allowedSkew
    let earliest = now > skew ? now - skew : 0
    let latest = now.addingReportingOverflow(skew).overflow ? UInt64.max : now + skew
    guard time >= earliest, time <= latest else {
      metrics.rejected("staleTime")
      throw RelayError(
        .staleTime, "the request's time is too far from the relay's: retry with the relay's time",
        serverTime: now)
    }
    let ticket = try openGroup()
    do {
      if now > lastPrune + 60_000 {
        try storage.pruneNonces(before: now > 2 * skew ? now - 2 * skew : 0)
        lastPrune = now
      }
      guard try storage.useNonce(nonce, device: device, journal: journal, time: time) else {
        metrics.rejected("replayed")
        throw RelayError(.replayed, "this request was sent before: it is not taken twice")
      }
      return ticket
    } catch let error as RelayError {
      throw error
    } catch let error as StoreError {
      throw RelayError(error)
    } catch {
      throw RelayError(.internal, "the relay could not complete the request")
    }
  }

  // MARK: - Group commit

  /// Opens a group if none is open (queueing its commit behind the requests already waiting
  /// on the actor) and returns the open group's number.
  func openGroup() throws(RelayError) -> UInt64 {
    if groupIsOpen { return group }
    do { try storage.beginGroup() } catch { throw RelayError(error) }
    group += 1
    groupIsOpen = true
    Task { self.commitGroup() }
    return group
  }

  private func commitGroup() {
    guard groupIsOpen else { return }
    do { try storage.commitGroup() } catch {
      storage.rollbackGroup()
      lastFailedGroup = group
      // The indexes may hold entries that were not stored: they are rebuilt from the store.
      indexes = [:]
    }
    groupIsOpen = false
    let resumed = waiting
    waiting = []
    for continuation in resumed { continuation.resume() }
  }

  /// Waits until every write and read of a request since `ticket` is committed; throws when a
  /// group in between failed, so nothing uncommitted is ever reported as done.
  func settle(_ ticket: UInt64) async throws(RelayError) {
    if groupIsOpen {
      await withCheckedContinuation { waiting.append($0) }
    }
    guard lastFailedGroup < ticket else {
      throw RelayError(.internal, "the relay could not store the request: send it again")
    }
  }

  // MARK: - Journals

  func index(_ journal: JournalID) throws(RelayError) -> JournalIndex {
    if let index = indexes[journal] {
      // A recovery enrolment's time lock ran out: its device may now come in.
      if let until = index.rights.recheckAt, configuration.clock() >= until {
        indexes[journal] = nil
        var updated = index
        updated.rights = JournalIndex.Rights(dag: updated.dag, now: configuration.clock())
        indexes[journal] = updated
        return updated
      }
      return index
    }
    do {
      guard let row = try storage.journal(journal) else {
        throw RelayError(.unknownJournal, "the relay holds no such journal")
      }
      let rows = try storage.entries(of: journal)
      let index = try JournalIndex(
        rows: rows, erased: try storage.erasedHashes(of: journal), bytes: row.bytes,
        now: configuration.clock())
      guard index.head == row.head else {
        throw StoreError(.corrupt, "the relay store's journal head does not match its entries")
      }
      indexes[journal] = index
      return index
    } catch let error as RelayError {
      throw error
    } catch let error as StoreError {
      throw RelayError(error)
    } catch {
      throw RelayError(.internal, "a stored journal does not verify")
    }
  }

  /// Creates a journal from its genesis entry, pushed by its author. Creating it again with
  /// the same genesis is a no-op.
  public func createJournal(_ request: SignedRequest) async throws(RelayError) -> (
    created: Bool, checkpoint: RelayCheckpoint
  ) {
    let (device, time, nonce) = try checkSignature(request, origin: configuration.origin)
    let genesis: Entry
    do { genesis = try Entry(decoding: request.body) } catch {
      throw RelayError(.malformedEntry, "the genesis entry is malformed (\(error.code))")
    }
    guard genesis.header.journal == request.journal else {
      throw RelayError(.wrongJournal, "the genesis belongs to another journal")
    }
    guard genesis.author == device else {
      throw RelayError(.badSignature, "only the genesis's author may create the journal")
    }
    let candidate: JournalIndex
    do { candidate = try JournalIndex(genesis: genesis) } catch {
      throw RelayError(.malformedEntry, "the entry is not a valid genesis (\(error.code))")
    }
    guard genesis.verifySignature() else {
      throw RelayError(.badSignature, "the genesis entry's signature does not verify")
    }
    if let quota = configuration.journalQuota, Int64(request.body.count) > quota {
      throw RelayError(.quotaExceeded, "the journal's genesis is larger than the relay's quota")
    }
    let ticket = try checkFreshness(
      device: device, journal: request.journal, time: time, nonce: nonce)
    if let existing = try? index(request.journal) {
      guard existing.dag.genesisID == genesis.id else {
        throw RelayError(.journalExists, "another journal with this id exists on the relay")
      }
      let answer = checkpoint(request.journal, existing.head, existing.chain)
      try await settle(ticket)
      return (false, answer)
    }
    guard Self.mayCreate(request.journal, listedIn: configuration.allowedJournalsFile) else {
      metrics.rejected("journalNotAllowed")
      throw RelayError(
        .journalNotAllowed,
        "this relay takes only the journals its operator listed: give them the journal id")
    }
    var index = candidate
    index.head = 1
    index.dag.setMark(1, of: genesis.id)
    index.chain = RelayCheckpoint.extend(.zero, sequence: 1, id: genesis.id)
    let data = genesis.encoded
    index.bytes = Int64(data.count)
    do {
      try storage.createJournal(
        request.journal, now: configuration.clock(),
        genesis: .init(
          sequence: 1, id: genesis.id, bodyHash: genesis.header.bodyHash, chain: index.chain,
          data: data))
    } catch {
      throw RelayError(error)
    }
    indexes[request.journal] = index
    let answer = checkpoint(request.journal, index.head, index.chain)
    try await settle(ticket)
    metrics.stored(entries: 1, bytes: data.count)
    return (true, answer)
  }

  /// Whether the operator's list (read again each time, so it can change while the relay
  /// runs) names the journal. No list: any journal may be created. An unreadable list: none.
  static func mayCreate(_ journal: JournalID, listedIn path: String?) -> Bool {
    guard let path else { return true }
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return false }
    return text.split(whereSeparator: \.isNewline).contains { line in
      let id = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0]
        .trimmingCharacters(in: .whitespaces)
      return Digest256(hex: id) == journal
    }
  }

  // MARK: - Push

  /// Takes a batch of entries that decoded and authenticated (`ChainVerification`, done by
  /// the caller outside the actor): places each whose parents the relay holds and whose
  /// author may write, assigns sequence numbers, and stores them in one transaction. The
  /// checkpoint is signed after the actor (the answer still waits for `settle`).
  nonisolated func push(_ entries: [Entry], to journal: JournalID) async throws(RelayError)
    -> PushResult
  {
    let incoming = entries.map(Incoming.init)
    var (result, head, chain) = try await store(incoming, in: journal)
    result.checkpoint = Hex.encode(checkpoint(journal, head, chain).encoded)
    return result
  }

  /// A pushed entry with the forms the actor stores: made before it, on any core.
  struct Incoming: Sendable {
    let entry: Entry
    /// The wire form as stored (unless an erasure listed its body: then it is detached).
    let data: [UInt8]
    /// The form the DAG keeps (`JournalIndex.indexed`).
    let indexed: Entry

    init(_ entry: Entry) {
      self.entry = entry
      data = entry.encoded
      indexed = JournalIndex.indexed(entry)
    }
  }

  private func store(_ entries: [Incoming], in journal: JournalID) throws(RelayError)
    -> (result: PushResult, head: UInt64, chain: Digest256)
  {
    var index = try index(journal)
    // Out of the table while it changes, so the DAG is mutated in place, not copied; a
    // failure below leaves it out, and the next request rebuilds it from the store.
    indexes[journal] = nil
    var result = PushResult(accepted: 0, known: 0, missing: [], refused: [], checkpoint: "")
    var rows = [RelayStorage.NewRow]()
    var missing = Set<EntryID>()
    var rightsAreStale = false
    var named = Set<Signing.PublicKey>()
    var controls = [Entry]()
    var added: Int64 = 0
    let quota = configuration.journalQuota
    // Parents first: a client sends causal order, but nothing relies on it.
    let ordered = entries.enumerated().sorted {
      ($0.element.entry.lamport, $0.offset) < ($1.element.entry.lamport, $1.offset)
    }.map(\.element)
    for incoming in ordered {
      let entry = incoming.entry
      if index.dag.contains(entry.id) {
        result.known += 1
        continue
      }
      if !entry.parents.allSatisfy({ index.dag.contains($0) }) {
        for parent in entry.parents where !index.dag.contains(parent) { missing.insert(parent) }
        continue
      }
      // A removal or veto earlier in this batch changes its target's rights at once.
      if rightsAreStale && named.contains(entry.author) {
        index.rights = JournalIndex.Rights(dag: index.dag, now: configuration.clock())
        rightsAreStale = false
      }
      var standing = index.rights.admits(entry)
      if standing != .allowed && rightsAreStale {
        index.rights = JournalIndex.Rights(dag: index.dag, now: configuration.clock())
        rightsAreStale = false
        standing = index.rights.admits(entry)
      }
      guard standing == .allowed else {
        let reason =
          switch standing {
          case .revoked: "revoked"
          case .pending: "pendingEnrolment"
          default: "notMember"
          }
        metrics.rejected(reason)
        result.refused.append(.init(id: entry.id.hex, reason: reason))
        continue
      }
      var data = incoming.data
      if entry.body != nil, entry.bodyKind == .sealed, index.erased.contains(entry.header.bodyHash)
      {
        data = entry.detachingBody().encoded
      }
      if let quota, index.bytes + added + Int64(data.count) > quota {
        metrics.rejected("quotaExceeded")
        result.refused.append(.init(id: entry.id.hex, reason: "quotaExceeded"))
        continue
      }
      // A sealed body is never in the DAG's form, erased or not.
      do { try index.dag.insert(incoming.indexed) } catch {
        metrics.rejected(error.code.raw)
        result.refused.append(.init(id: entry.id.hex, reason: error.code.raw))
        continue
      }
      index.head += 1
      index.dag.setMark(index.head, of: entry.id)
      index.chain = RelayCheckpoint.extend(index.chain, sequence: index.head, id: entry.id)
      rows.append(
        .init(
          sequence: index.head, id: entry.id, bodyHash: entry.header.bodyHash, chain: index.chain,
          data: data))
      added += Int64(data.count)
      if entry.bodyKind == .control {
        controls.append(entry)
        rightsAreStale = true
        switch entry.control {
        case .deviceRemoved(let removal)?: named.insert(removal.device)
        case .recoveryVeto(let veto)?:
          if case .recoveryEnrolment(let enrolment)? = index.dag[veto.enrolment]?.control {
            named.insert(enrolment.device)
          }
        default: break
        }
      }
    }
    // Erasures count once membership, with this batch, says their author is an admin.
    var erasing = RelayStorage.Erasure()
    if !controls.isEmpty {
      let membership = Membership(dag: index.dag, now: configuration.clock())
      for entry in controls where membership.isValid(entry.id) {
        if case .erasure(let erasure)? = entry.control { erasing.hashes += erasure.bodies }
      }
      index.rights = JournalIndex.Rights(dag: index.dag, now: configuration.clock())
    }
    if !erasing.isEmpty {
      // The DAG holds every stored entry's header (content bodies detached, so their kind is
      // read from the stored row): it finds the rows carrying these bodies.
      let hashes = Set(erasing.hashes).subtracting(index.erased)
      erasing.hashes = hashes.sorted()
      erasing.entries = index.dag.allEntries.filter {
        $0.bodyKind != .control && hashes.contains($0.header.bodyHash)
      }.compactMap { index.sequence(of: $0.id) }
    }
    if !rows.isEmpty || !erasing.isEmpty {
      _ = try openGroup()
      do {
        let freed = try storage.append(
          rows, to: journal, head: index.head, chain: index.chain, addedBytes: added,
          erasing: erasing)
        index.bytes -= freed
      } catch {
        // The DAG took entries that were not stored: it is rebuilt from the store next time.
        throw RelayError(error)
      }
      index.bytes += added
      index.erased.formUnion(erasing.hashes)
    }
    indexes[journal] = index
    result.accepted = rows.count
    result.missing = missing.subtracting(rows.map(\.id)).sorted().map(\.hex)
    metrics.stored(entries: rows.count, bytes: Int(added))
    return (result, index.head, index.chain)
  }

  nonisolated func checkpoint(_ journal: JournalID, _ sequence: UInt64, _ chain: Digest256)
    -> RelayCheckpoint
  {
    RelayCheckpoint(
      signedBy: key, journal: journal, sequence: sequence, chain: chain, time: clock())
  }

  // MARK: - Reads

  public struct Page: Sendable {
    public var body: [UInt8]
    public var checkpoint: RelayCheckpoint
    public var head: UInt64
  }

  /// Entries after `sequence`, with the checkpoint at the page's end (or at the relay's
  /// head when the cursor is past it: a relay that went back shows it there).
  func page(_ journal: JournalID, after sequence: UInt64, limit: Int) throws(RelayError) -> Page {
    let index = try index(journal)
    do {
      let rows = try storage.page(
        of: journal, after: sequence, limit: max(1, min(limit, Wire.maxBatchEntries)),
        maxBytes: 4 << 20)
      let body = Wire.encodePage(rows.map { ($0.sequence, $0.data) })
      let end: (UInt64, Digest256)
      if let last = rows.last {
        end = (last.sequence, last.chain)
      } else if sequence <= index.head, let chain = try storage.chain(of: journal, at: sequence) {
        end = (sequence, chain)
      } else {
        end = (index.head, index.chain)
      }
      metrics.pulled(entries: rows.count)
      return Page(body: body, checkpoint: checkpoint(journal, end.0, end.1), head: index.head)
    } catch { throw RelayError(error) }
  }

  /// The entries asked for by id that the relay holds (framed), in the order asked.
  func fetch(_ journal: JournalID, ids: [EntryID]) throws(RelayError) -> [UInt8] {
    let index = try index(journal)
    var out = [UInt8]()
    var asked = Set<EntryID>()
    do {
      // Each id once, and about 8 MiB at most: the client asks again for the rest.
      for id in ids where asked.insert(id).inserted && out.count < 8 << 20 {
        guard let sequence = index.sequence(of: id),
          let data = try storage.entry(of: journal, sequence: sequence)
        else { continue }
        Wire.appendU32(UInt32(data.count), to: &out)
        out += data
      }
    } catch { throw RelayError(error) }
    return out
  }

  func entry(_ journal: JournalID, id: EntryID) throws(RelayError) -> [UInt8] {
    let index = try index(journal)
    do {
      guard let sequence = index.sequence(of: id),
        let data = try storage.entry(of: journal, sequence: sequence)
      else {
        throw RelayError(.notFound, "the relay holds no such entry")
      }
      return data
    } catch let error as RelayError { throw error } catch let error as StoreError {
      throw RelayError(error)
    } catch { throw RelayError(.internal, "the relay could not complete the request") }
  }

  /// Which of `ids` the relay does not hold (for repair after a rollback).
  func absent(_ journal: JournalID, ids: [EntryID]) throws(RelayError) -> [EntryID] {
    let index = try index(journal)
    return ids.filter { !index.dag.contains($0) }
  }

  // MARK: - Attestations

  func putAttestation(_ attestation: HeadAttestation, from device: Signing.PublicKey)
    throws(RelayError)
  {
    guard attestation.device == device else {
      throw RelayError(.badRequest, "a device publishes only its own attestation")
    }
    _ = try openGroup()
    do { try storage.putAttestation(attestation) } catch { throw RelayError(error) }
  }

  func attestations(_ journal: JournalID) throws(RelayError) -> [UInt8] {
    _ = try index(journal)
    do {
      var out = [UInt8]()
      for data in try storage.attestations(of: journal) {
        Wire.appendU32(UInt32(data.count), to: &out)
        out += data
      }
      return out
    } catch { throw RelayError(error) }
  }

  // MARK: - Operations

  /// Figures for `/metrics`.
  public func gauges() -> (journals: Int, entries: UInt64, bytes: Int64) {
    (
      indexes.count, indexes.values.reduce(0) { $0 + $1.head },
      indexes.values.reduce(0) { $0 + $1.bytes }
    )
  }

  /// Loads every journal's index (at start-up, so the first request does not wait).
  public func warmUp() throws(RelayError) {
    let ids: [JournalID]
    do { ids = try storage.journalIDs() } catch { throw RelayError(error) }
    for id in ids { _ = try index(id) }
  }
}

/// The relay's own Ed25519 key, which signs checkpoints: `relay-key` in the data directory
/// (its 32-byte seed, readable by the owner only). It is not in backups.
enum RelayKey {
  static func loadOrCreate(in directory: String) throws(StoreError) -> Signing.PrivateKey {
    let path = directory + "/relay-key"
    if FileIO.exists(path) {
      var seed = try FileIO.read(path)
      defer { ConstantTime.zero(&seed) }
      guard seed.count == Signing.seedCount else {
        throw StoreError(.corrupt, "the relay key file is damaged")
      }
      return Signing.PrivateKey(seed: SecureBytes(copying: seed))
    }
    let key = Signing.PrivateKey()
    var seed = key.seed.withUnsafeBytes { Array($0) }
    defer { ConstantTime.zero(&seed) }
    try FileIO.replace(path, with: seed)
    FileIO.restrictToOwner(path)
    return key
  }
}

/// The relay's origin, set once the listening port is known and read by every signature
/// check off the actor.
final class OriginCell: @unchecked Sendable {
  // @unchecked: `stored` is only read and written under `lock`.
  private let lock = NSLock()
  private var stored: String

  init(_ origin: String) { stored = origin }

  var value: String {
    get { lock.withLock { stored } }
    set { lock.withLock { stored = newValue } }
  }
}
