/// A hybrid logical clock reading: wall-clock milliseconds and a counter. It ranks concurrent
/// writes for display only; causal order always comes from the DAG.
public struct Timestamp: Hashable, Comparable, Sendable {
  /// Milliseconds since 1970-01-01 UTC.
  public var milliseconds: UInt64
  public var counter: UInt32

  public init(milliseconds: UInt64, counter: UInt32 = 0) {
    self.milliseconds = milliseconds
    self.counter = counter
  }

  public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
    (lhs.milliseconds, lhs.counter) < (rhs.milliseconds, rhs.counter)
  }
}

/// The clock a device keeps. It takes the wall clock as an argument so it stays pure.
public struct HybridLogicalClock: Sendable {
  /// How far ahead of the local wall clock a remote reading may pull the local clock.
  public static let maxDriftMilliseconds: UInt64 = 5 * 60 * 1000

  public private(set) var last: Timestamp

  public init(last: Timestamp = Timestamp(milliseconds: 0)) { self.last = last }

  /// A reading for a new local event: later than every reading so far.
  public mutating func tick(wallClock: UInt64) -> Timestamp {
    if wallClock > last.milliseconds {
      last = Timestamp(milliseconds: wallClock)
    } else {
      last.counter &+= 1
    }
    return last
  }

  /// What a remote reading tells about it.
  public enum Observation: Hashable, Sendable {
    case accepted
    /// More than five minutes ahead of the local wall clock: stored and flagged; the local
    /// clock advances no further than now + 5 min.
    case farFuture
  }

  /// Takes in a reading from another device's entry.
  @discardableResult
  public mutating func observe(_ remote: Timestamp, wallClock: UInt64) -> Observation {
    let ceiling = Timestamp(
      milliseconds: wallClock + Self.maxDriftMilliseconds, counter: 0)
    let capped = min(remote, ceiling)
    if capped > last { last = capped }
    return remote.milliseconds > wallClock + Self.maxDriftMilliseconds ? .farFuture : .accepted
  }
}
