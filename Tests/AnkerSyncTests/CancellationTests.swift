import AnkerSync
import Foundation
import Synchronization
import Testing

/// Cancelling a request at any moment, including while URLSession is finishing it, never
/// leaves the caller waiting (a sync cancels the pages it asked ahead whenever it moves on).
@Suite struct CancellationTests {
  @Test func aRequestCancelledAtAnyMomentAlwaysReturns() async throws {
    let directory = TemporaryDirectory()
    defer { directory.cleanUp() }
    let relay = try RelayProcess(directory: directory.path)
    defer { relay.stop() }
    let transport = URLSessionTransport(timeoutSeconds: 5)
    let request = HTTPExchange.Request(
      method: "GET", url: relay.url + "/v1/relay", headers: [], body: [])
    // How long one request takes here: the cancellations are spread around it.
    let started = ContinuousClock.now
    _ = try await transport.send(request)
    let span = max(ContinuousClock.now - started, .microseconds(200))
    var random = SeededRandom(seed: 81)
    var (answered, cancelled, stuck) = (0, 0, 0)
    for _ in 0..<400 {
      let finished = Mutex<Bool?>(nil)
      let task = Task {
        let ok = (try? await transport.send(request)) != nil
        finished.withLock { $0 = ok }
      }
      try await Task.sleep(for: span * (Double(random.next() % 1_000) / 500))
      // From another thread: were the cancellation to hang, this test would see it and fail
      // instead of hanging with it.
      DispatchQueue.global().async { task.cancel() }
      // A request that returns does so well within the transport's 5 s timeout.
      let deadline = ContinuousClock.now + .seconds(8)
      var outcome: Bool?
      while outcome == nil && ContinuousClock.now < deadline {
        outcome = finished.withLock { $0 }
        if outcome == nil { try await Task.sleep(for: .milliseconds(1)) }
      }
      switch outcome {
      case true?: answered += 1
      case false?: cancelled += 1
      case nil: stuck += 1
      }
      if stuck > 0 { break }
    }
    #expect(stuck == 0)
    #expect(answered + cancelled >= 400)
    // The cancellations landed on both sides of the answer.
    #expect(answered > 0 && cancelled > 0)
  }
}
