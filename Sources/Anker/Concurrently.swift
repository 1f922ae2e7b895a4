import Dispatch

/// Runs two pieces of work at once, the second on another thread, and returns when both are
/// done. For work that shares nothing mutable: the caller hands each its own inputs.
enum Concurrently {
  static func run<A, B>(_ first: () -> A, _ second: () -> B) -> (A, B) {
    withoutActuallyEscaping(first) { first in
      withoutActuallyEscaping(second) { second in
        let work = Pair(first: first, second: second)
        DispatchQueue.concurrentPerform(iterations: 2) { index in
          if index == 0 { work.a = work.first() } else { work.b = work.second() }
        }
        return (work.a!, work.b!)
      }
    }
  }

  /// The two closures and their results. Each slot is written by one thread only, and read
  /// after `concurrentPerform` has joined both.
  private final class Pair<A, B>: @unchecked Sendable {
    // @unchecked: disjoint writes (`a` by one iteration, `b` by the other), joined before
    // any read.
    let first: () -> A
    let second: () -> B
    var a: A?
    var b: B?

    init(first: @escaping () -> A, second: @escaping () -> B) {
      self.first = first
      self.second = second
    }
  }
}
