import Testing

@testable import AnkerLog

@Suite struct ClockTests {
  @Test func ticksMoveForwardEvenWhenTheWallClockStalls() {
    var clock = HybridLogicalClock()
    let first = clock.tick(wallClock: 1_000)
    let second = clock.tick(wallClock: 1_000)
    let third = clock.tick(wallClock: 900)
    #expect(first < second && second < third)
    #expect(third.milliseconds == 1_000)
    #expect(clock.tick(wallClock: 2_000) == Timestamp(milliseconds: 2_000))
  }

  @Test func remoteReadingsAdvanceTheClock() {
    var clock = HybridLogicalClock()
    _ = clock.tick(wallClock: 1_000)
    #expect(
      clock.observe(Timestamp(milliseconds: 5_000, counter: 3), wallClock: 1_000) == .accepted)
    #expect(clock.tick(wallClock: 1_000) == Timestamp(milliseconds: 5_000, counter: 4))
  }

  @Test func farFutureReadingsAreFlaggedAndCapped() {
    var clock = HybridLogicalClock()
    let now: UInt64 = 1_700_000_000_000
    let future = Timestamp(milliseconds: now + 24 * 3600 * 1000)
    #expect(clock.observe(future, wallClock: now) == .farFuture)
    #expect(clock.last.milliseconds <= now + HybridLogicalClock.maxDriftMilliseconds)
    let next = clock.tick(wallClock: now)
    #expect(next.milliseconds == now + HybridLogicalClock.maxDriftMilliseconds)
  }
}
