import AnkerCrypto
import AnkerLog
import AnkerStore
import AnkerSync
import Foundation

/// One stored entry as the source handed it over: its bytes are not trusted yet.
public struct RawRecord: Sendable {
  /// The relay's arrival sequence number.
  public let sequence: UInt64
  /// The id the relay filed it under (a backup's `id` column), if the source gives one.
  public let claimedID: EntryID?
  public let bytes: [UInt8]

  public init(sequence: UInt64, claimedID: EntryID?, bytes: [UInt8]) {
    self.sequence = sequence
    self.claimedID = claimedID
    self.bytes = bytes
  }
}

/// What a restore reads: one journal's stored entries, in the relay's sequence order.
public struct RestoreInput: Sendable {
  public let journal: JournalID
  /// For the report: "backup FILE" or "relay ORIGIN" (no secret in either).
  public let source: String
  public let records: [RawRecord]
  /// The relay's newest sequence number, as the source states it.
  public let head: UInt64
  /// Problems in how the source filed the entries (sequence gaps, found here, and those the
  /// source adds, like an answer that does not chain to the relay's signed checkpoint):
  /// faults, never content.
  public let sourceFaults: [String]

  public init(
    journal: JournalID, source: String, records: [RawRecord], head: UInt64,
    sourceFaults: [String] = []
  ) {
    self.journal = journal
    self.source = source
    self.records = records
    self.head = head
    self.sourceFaults = Self.gaps(in: records, head: head) + sourceFaults
  }

  /// Sequence numbers that should be there (1 through `head`) and are not.
  static func gaps(in records: [RawRecord], head: UInt64) -> [String] {
    var out = [String]()
    var expected: UInt64 = 1
    for record in records {
      if record.sequence > expected {
        out.append(range(expected, record.sequence - 1))
      } else if record.sequence < expected {
        out.append("relay sequence \(record.sequence) appears twice or out of order")
      }
      expected = max(expected, record.sequence + 1)
    }
    if head >= expected { out.append(range(expected, head)) }
    return out
  }

  private static func range(_ low: UInt64, _ high: UInt64) -> String {
    low == high
      ? "relay sequence \(low) is missing from the source"
      : "relay sequences \(low) to \(high) are missing from the source"
  }
}

// MARK: - A relay backup file

extension RestoreInput {
  /// The journals a relay backup (or a relay's `relay.sqlite`) holds, ascending.
  public static func journals(inBackup path: String) throws(RestoreError) -> [JournalID] {
    let db = try openBackup(path)
    defer { db.close() }
    do {
      let query = try db.statement("SELECT id FROM journal ORDER BY id")
      defer { query.reset() }
      var out = [JournalID]()
      while try query.step() {
        guard let id = Digest256(query.blob(0)) else { throw damaged(path) }
        out.append(id)
      }
      return out
    } catch { throw damaged(path) }
  }

  /// Reads one journal's entries from a relay backup, opened read-only. Without `journal`
  /// the backup must hold exactly one.
  public static func backup(_ path: String, journal: JournalID?) throws(RestoreError) -> Self {
    let known = try journals(inBackup: path)
    let chosen: JournalID
    if let journal {
      guard known.contains(journal) else {
        throw RestoreError(
          .journalNotChosen, "the backup holds no journal \(journal.short)",
          hint: "the backup holds \(known.count) journal(s): "
            + known.map(\.hex).joined(separator: ", "))
      }
      chosen = journal
    } else {
      guard known.count == 1 else {
        throw RestoreError(
          .journalNotChosen,
          known.isEmpty
            ? "the backup holds no journal"
            : "the backup holds \(known.count) journals: choose one with --journal",
          hint: known.isEmpty ? nil : known.map(\.hex).joined(separator: ", "))
      }
      chosen = known[0]
    }
    let db = try openBackup(path)
    defer { db.close() }
    do {
      let journalRow = try db.statement("SELECT head FROM journal WHERE id = ?")
      journalRow.bind(1, chosen.bytes)
      guard try journalRow.step() else { throw damaged(path) }
      let head = UInt64(clamping: journalRow.int(0))
      journalRow.reset()
      let query = try db.statement(
        "SELECT seq, id, data FROM entry WHERE journal = ? ORDER BY seq")
      defer { query.reset() }
      query.bind(1, chosen.bytes)
      var records = [RawRecord]()
      while try query.step() {
        records.append(
          RawRecord(
            sequence: UInt64(clamping: query.int(0)), claimedID: Digest256(query.blob(1)),
            bytes: query.blob(2)))
      }
      return RestoreInput(
        journal: chosen, source: "backup \(path)", records: records, head: head)
    } catch let error as RestoreError {
      throw error
    } catch { throw damaged(path) }
  }

  private static func openBackup(_ path: String) throws(RestoreError) -> SQLiteDatabase {
    guard FileIO.exists(path) else {
      throw RestoreError(.unreadableSource, "there is no file \(path)")
    }
    let db: SQLiteDatabase
    do {
      db = try SQLiteDatabase(path: path, create: false, readOnly: true)
      guard try db.scalarText("PRAGMA quick_check") == "ok" else { throw damaged(path) }
      guard (try? db.scalarText("SELECT count(*) FROM journal")) != nil,
        (try? db.scalarText("SELECT count(*) FROM entry")) != nil
      else {
        throw RestoreError(
          .unreadableSource, "\(path) is not an anker-relay backup",
          hint: "give the file `anker-relay backup --to FILE` wrote, or the relay's relay.sqlite")
      }
    } catch let error as RestoreError {
      throw error
    } catch { throw damaged(path) }
    return db
  }

  private static func damaged(_ path: String) -> RestoreError {
    RestoreError(
      .unreadableSource, "the backup \(path) is damaged (truncated or corrupt)",
      hint: "use an older backup, or restore from the relay with --relay and --journal")
  }
}

// MARK: - A relay

extension RestoreInput {
  /// Pulls every page of `journal` from the relay at `url`, each request signed by the
  /// recovery authority (which the relay admits to read). Checks that the pages chain up to
  /// the relay's signed checkpoints; a relay that answers otherwise is named in
  /// `sourceFaults`.
  public static func relay(
    url: String, journal: JournalID, authority: Signing.PrivateKey,
    transport: any RelayTransport = URLSessionTransport(),
    clock: @escaping @Sendable () -> UInt64 = { UInt64(Date().timeIntervalSince1970 * 1000) },
    progress: (@Sendable (Int) -> Void)? = nil
  ) async throws(RestoreError) -> Self {
    let client: RelayClient
    do {
      client = try RelayClient(
        url: url, journal: journal, device: authority, transport: transport, clock: clock)
    } catch {
      throw RestoreError(.unreadableSource, error.message)
    }
    var records = [RawRecord]()
    var faults = [String]()
    var cursor: UInt64 = 0
    var chain = Digest256.zero
    var head: UInt64 = 0
    var relayKey: Signing.PublicKey?
    var chainBroken = false
    while true {
      let response = try await answer(
        client, clock, "GET",
        client.journalPath + "/entries?after=\(cursor)&limit=\(Wire.maxBatchEntries)")
      guard let checkpointBytes = response.headers[PageHeaders.checkpoint].flatMap(Hex.decode),
        let checkpoint = try? RelayCheckpoint(decoding: checkpointBytes),
        checkpoint.journal == journal,
        let stated = response.headers[PageHeaders.head].flatMap(UInt64.init)
      else {
        throw RestoreError(
          .unreadableSource, "the relay's page lacks a valid signed checkpoint")
      }
      if let relayKey, relayKey != checkpoint.relay {
        faults.append("the relay signed its pages with two different keys")
      }
      relayKey = checkpoint.relay
      head = max(head, stated)
      let page = try framedRecords(response.body)
      for record in page {
        if let entry = try? Entry(decoding: record.bytes) {
          chain = RelayCheckpoint.extend(chain, sequence: record.sequence, id: entry.id)
        } else {
          chainBroken = true
        }
      }
      records += page
      if !chainBroken, let last = page.last,
        checkpoint.sequence != last.sequence || checkpoint.chain != chain
      {
        faults.append(
          "the relay's pages do not chain up to its signed checkpoint at sequence \(last.sequence)")
        chainBroken = true
      }
      progress?(records.count)
      guard let last = page.last, last.sequence > cursor else { break }
      cursor = last.sequence
      if cursor >= head { break }
    }
    return RestoreInput(
      journal: journal, source: "relay \(client.origin)", records: records, head: head,
      sourceFaults: faults)
  }

  /// A page's records, split without decoding: a damaged entry is named by its sequence
  /// number later instead of losing the whole page.
  private static func framedRecords(_ bytes: [UInt8]) throws(RestoreError) -> [RawRecord] {
    var out = [RawRecord]()
    var offset = 0
    while offset < bytes.count {
      guard bytes.count - offset >= 12 else {
        throw RestoreError(.unreadableSource, "a page from the relay is truncated")
      }
      let sequence = Wire.readU64(bytes, at: offset)
      let length = Int(Wire.readU32(bytes, at: offset + 8))
      offset += 12
      guard length <= bytes.count - offset else {
        throw RestoreError(.unreadableSource, "a page from the relay is truncated")
      }
      out.append(
        RawRecord(
          sequence: sequence, claimedID: nil, bytes: Array(bytes[offset..<offset + length])))
      offset += length
    }
    return out
  }

  /// Pushes `entries` (the recovery authority's own) to the relay, signed by `authority`,
  /// and checks that the relay stored or already held every one.
  public static func push(
    _ entries: [Entry], url: String, journal: JournalID, authority: Signing.PrivateKey,
    transport: any RelayTransport = URLSessionTransport(),
    clock: @escaping @Sendable () -> UInt64 = { UInt64(Date().timeIntervalSince1970 * 1000) }
  ) async throws(RestoreError) {
    let client: RelayClient
    do {
      client = try RelayClient(
        url: url, journal: journal, device: authority, transport: transport, clock: clock)
    } catch {
      throw RestoreError(.unreadableSource, error.message)
    }
    let response = try await answer(
      client, clock, "POST", client.journalPath + "/entries", body: Wire.encodeBatch(entries))
    guard let result = try? JSONDecoder().decode(PushResult.self, from: Data(response.body)) else {
      throw RestoreError(.unreadableSource, "the relay's answer to the enrolment is unreadable")
    }
    guard result.accepted + result.known == entries.count, result.refused.isEmpty,
      result.missing.isEmpty
    else {
      let reasons = Set(result.refused.map(\.reason)).sorted().joined(separator: ", ")
      throw RestoreError(
        .unreadableSource,
        "the relay did not take the enrolment"
          + (reasons.isEmpty ? " (it lacks entries it cites)" : " (\(reasons))"),
        hint: "run `anker-restore verify --relay URL --journal ID` and read the report")
    }
  }

  private static func answer(
    _ client: RelayClient, _ clock: @Sendable () -> UInt64, _ method: String, _ path: String,
    body: [UInt8] = []
  ) async throws(RestoreError) -> HTTPExchange.Response {
    var problem = "no answer"
    var skew: Int64 = 0
    for attempt in 0..<4 {
      if attempt > 0 { try? await Task.sleep(for: .milliseconds(200 << attempt)) }
      switch await client.send(method, path, body: body, skew: skew) {
      case .noAnswer(let why):
        problem = why
      case .answer(let response):
        if (200..<300).contains(response.status) { return response }
        let body = try? JSONDecoder().decode(RelayErrorBody.self, from: Data(response.body))
        if body?.error == "staleTime", let serverTime = body?.serverTime {
          skew = Int64(clamping: serverTime) &- Int64(clamping: clock())
          continue
        }
        problem = "the relay answered \(response.status) \(body?.error ?? "")"
        if response.status == 404 || response.status == 401 || response.status == 403 {
          throw RestoreError(
            .unreadableSource, "\(problem): it does not hold this journal for this recovery key",
            hint: "check --journal, and that the paper key is this journal's")
        }
      }
    }
    throw RestoreError(
      .unreadableSource, "the relay at \(client.origin) could not be read: \(problem)")
  }
}
