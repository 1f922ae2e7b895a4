import Dispatch
import Foundation

/// Runs two pieces of work at once, the second on a thread of its own (so the two never
/// wait on one thread, whatever the machine), and returns when both are done. For work
/// that shares nothing mutable but what it is handed.
enum Concurrently {
  static func run<A, B>(_ first: () -> A, _ second: () -> B) -> (A, B) {
    withoutActuallyEscaping(first) { first in
      withoutActuallyEscaping(second) { second in
        let work = Pair(second: second)
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
          work.b = work.second?()
          // Let go of the closure before signalling: it must not outlive this call, and the
          // thread object may outlive it.
          work.second = nil
          done.signal()
        }
        thread.stackSize = 4 << 20
        thread.start()
        let a = first()
        done.wait()
        return (a, work.b!)
      }
    }
  }

  /// The second closure and its result: written by its thread, read after it signalled.
  private final class Pair<B>: @unchecked Sendable {
    // @unchecked: `second` and `b` are touched by the thread only, until its semaphore
    // signal; the caller reads `b` after it.
    var second: (() -> B)?
    var b: B?

    init(second: @escaping () -> B) { self.second = second }
  }
}

/// A yes or no decided on one thread and awaited on another.
final class Verdict: @unchecked Sendable {
  // @unchecked: `value` is written once before `ready` is signalled and read after waiting.
  private let ready = DispatchSemaphore(value: 0)
  private var value = false

  func decide(_ value: Bool) {
    self.value = value
    ready.signal()
  }

  /// Waits for the decision (once: a second wait would block).
  func wait() -> Bool {
    ready.wait()
    return value
  }
}
