import Anker
import AnkerCrypto
import AnkerLog
import AnkerModel
import AnkerSync
import Foundation
import Testing

/// The pull asks for the next page while it takes the current one. These tests break the
/// connection under that second request and lock the journal mid-pull: the sync resumes
/// from its saved cursor without losing or duplicating an entry, and no request is signed
/// once the journal is locked.
@Suite(.serialized) struct PipelinedPullTests {
  /// Pages of 5 over ~150 entries: a pull of about 30 pages, each asked for ahead.
  private static func options() -> SyncSession<JournalSyncLocal>.Options {
    var options = SyncSession<JournalSyncLocal>.Options()
    options.pageSize = 5
    options.attempts = 2
    options.retryPause = .milliseconds(5)
    return options
  }

  /// A worker writes; the admin pulls through a transport that drops every page request
  /// after the 8th once, then stops answering at all after the 15th (the sync stops). The
  /// next sync over a clean network resumes after the pages already taken: together the
  /// two pulls take every entry exactly once and the laptops agree.
  @Test func aDroppedConnectionDuringAPipelinedPullResumesWithoutLossOrDuplicates()
    async throws
  {
    let setup = try await RelayTeam.start(workers: 1)
    defer { setup.stop() }
    let (relay, team) = (setup.relay, setup.team)
    let (admin, worker) = (team[0], team[1])
    let client = try worker.createClient(alias: "Rose", code: "R-1", languages: [])
    let caseID = try worker.createCase(type: .outreach, client: client)
    for index in 0..<150 {
      try worker.addNote(.phoneCall, text: "call \(index)", in: caseID)
    }
    #expect(try await worker.sync(relay: relay.url).isClean)
    let before = try entryCount(admin)

    let flaky = FlakyTransport(dropOnceAfter: 8, deadAfter: 15)
    await #expect(throws: JournalError.self) {
      _ = try await admin.sync(relay: relay.url, transport: flaky, options: Self.options())
    }
    #expect(flaky.dropped > 0, "no page request was dropped")
    let partial = try entryCount(admin)
    #expect(partial > before, "the first pull took nothing before it stopped")
    let written = try entryCount(worker)
    #expect(partial < written, "the first pull was not interrupted")

    let resumed = FlakyTransport(dropOnceAfter: .max, deadAfter: .max)
    let report = try await admin.sync(
      relay: relay.url, transport: resumed, options: Self.options())
    #expect(report.isClean)
    // It went on from the saved cursor, not from the start.
    #expect(resumed.firstPageAfter > 0)
    // Every entry once: what the second pull took is exactly what the first one lacked.
    let count = try entryCount(admin)
    #expect(count == (try entryCount(worker)))
    #expect(report.received == count - partial)
    #expect(report.relayHead == UInt64(count))
    _ = try await worker.sync(relay: relay.url)
    #expect(try admin.state.digest == worker.state.digest)
    #expect(try admin.state.cases[caseID]?.notes.count == 150)
  }

  /// Locking the journal while it syncs stops the sync: the key is asked for at each request
  /// and is gone, so no request is signed after the lock. What was taken stays taken.
  @Test func lockingDuringASyncStopsItsRequests() async throws {
    let setup = try await RelayTeam.start(workers: 1)
    defer { setup.stop() }
    let (relay, team) = (setup.relay, setup.team)
    let (admin, worker) = (team[0], team[1])
    let client = try worker.createClient(alias: "Iris", code: "I-1", languages: [])
    let caseID = try worker.createCase(type: .outreach, client: client)
    for index in 0..<60 {
      try worker.addNote(.phoneCall, text: "call \(index)", in: caseID)
    }
    #expect(try await worker.sync(relay: relay.url).isClean)

    // Held weakly here: once the journal is locked nothing may keep the key alive, a sync
    // in flight included.
    let key = WeakKey(admin.unlockedSecrets?.signing)
    let locking = FlakyTransport(
      dropOnceAfter: .max, deadAfter: .max, locking: (admin, 4))
    do {
      _ = try await admin.sync(relay: relay.url, transport: locking, options: Self.options())
      Issue.record("a sync went on after the journal was locked")
    } catch {
      #expect((error.cause as? SyncError)?.code == .local)
    }
    #expect(admin.isLocked)
    #expect(locking.didLock, "the journal was not locked during the sync")
    // A page asked ahead may have been signing at the moment of the lock, holding the key
    // for that signature; nothing may hold it beyond. (Checked once the sync is over and
    // such a signature has had time to end, not at the instant of the lock.)
    var alive = key.isAlive
    for _ in 0..<100 where alive {
      try await Task.sleep(for: .milliseconds(20))
      alive = key.isAlive
    }
    #expect(!alive, "the sync kept the signing key past the lock")
    // The request that locked it (and at most the one already signed ahead of it) went out;
    // nothing was signed later.
    #expect(locking.requestsAfterLock <= 1)
    try admin.unlock(passphrase: passphrase("admin pass"))
    #expect(try await admin.sync(relay: relay.url).isClean)
    #expect(try entryCount(admin) == (try entryCount(worker)))
  }
}

/// URLSession with faults at chosen page requests (counted from 1): the page request after
/// `dropOnceAfter` fails once before it reaches the relay (a dropped connection); from
/// `deadAfter` on nothing is answered; `locking` locks a journal when its page request goes
/// out. Records where the first page request started and what came after the lock.
final class FlakyTransport: RelayTransport, @unchecked Sendable {
  // @unchecked: every mutable property is behind `lock`.
  private let inner = URLSessionTransport(timeoutSeconds: 10)
  private let lock = NSLock()
  private let dropOnceAfter: Int
  private let deadAfter: Int
  private var pages = 0
  private var droppedOnce = Set<String>()
  private var _dropped = 0
  private var _firstPageAfter: UInt64?
  private var _afterLock = 0
  private var locked = false
  private let locking: (journal: Journal, page: Int)?

  init(
    dropOnceAfter: Int, deadAfter: Int,
    locking: (Journal, Int)? = nil
  ) {
    self.dropOnceAfter = dropOnceAfter
    self.deadAfter = deadAfter
    self.locking = locking
  }

  var dropped: Int { lock.withLock { _dropped } }
  var firstPageAfter: UInt64 { lock.withLock { _firstPageAfter ?? 0 } }
  var requestsAfterLock: Int { lock.withLock { _afterLock } }
  var didLock: Bool { lock.withLock { locked } }

  func send(_ request: HTTPExchange.Request) async throws -> HTTPExchange.Response {
    let isPage = request.method == "GET" && request.url.contains("/entries?after=")
    let (number, drop, dead) = lock.withLock { () -> (Int, Bool, Bool) in
      if locked { _afterLock += 1 }
      guard isPage else { return (0, false, false) }
      pages += 1
      if _firstPageAfter == nil {
        _firstPageAfter = request.url.split(separator: "after=").last
          .flatMap { UInt64($0.prefix { $0.isNumber }) }
      }
      let drop = pages > dropOnceAfter && droppedOnce.insert(request.url).inserted
      if drop { _dropped += 1 }
      return (pages, drop, pages > deadAfter)
    }
    if isPage, let locking, number == locking.page {
      // Marked first: the sync may see the lock and end before this request goes on.
      lock.withLock { locked = true }
      locking.journal.lock()
    }
    if drop || dead { throw URLError(.networkConnectionLost) }
    return try await inner.send(request)
  }
}

/// A signing key held weakly: is anything still keeping it?
final class WeakKey: @unchecked Sendable {
  // @unchecked: set once in `init`, only read afterwards.
  private weak var key: Signing.PrivateKey?
  init(_ key: Signing.PrivateKey?) { self.key = key }
  var isAlive: Bool { key != nil }
}
