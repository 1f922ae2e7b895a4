import AnkerSync
import ArgumentParser
import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Shows a long sync's progress on stderr: a line that updates itself on a terminal, a line
/// every few seconds otherwise. A sync shorter than a second shows nothing. Counts only, never
/// content.
final class ProgressLine: @unchecked Sendable {
  // @unchecked: every mutable field is guarded by `lock`.
  enum Mode: String, ExpressibleByArgument, CaseIterable {
    /// After the first second, on a terminal or not.
    case auto
    /// From the start (logs of scripted syncs).
    case always
    case never
  }

  private let lock = NSLock()
  private let mode: Mode
  private let started = ContinuousClock.now
  private var lastShown: ContinuousClock.Instant?
  private var shownOnTerminal = false
  private let isTerminal = isatty(STDERR_FILENO) == 1

  init(mode: Mode) { self.mode = mode }

  func update(_ progress: SyncProgress) {
    lock.lock()
    defer { lock.unlock() }
    let now = ContinuousClock.now
    switch mode {
    case .never: return
    case .auto: guard now - started >= .seconds(1) else { return }
    case .always: break
    }
    let every: Duration = isTerminal ? .milliseconds(200) : .seconds(5)
    if let lastShown, now - lastShown < every { return }
    lastShown = now
    let line = Self.describe(progress)
    if isTerminal {
      FileHandle.standardError.write(Data("\r\u{1B}[2Kanker: \(line)".utf8))
      shownOnTerminal = true
    } else {
      FileHandle.standardError.write(Data("anker: \(line)\n".utf8))
    }
  }

  /// Ends the updating line, if one was shown.
  func finish() {
    lock.lock()
    defer { lock.unlock() }
    if shownOnTerminal { FileHandle.standardError.write(Data("\n".utf8)) }
    shownOnTerminal = false
  }

  static func describe(_ progress: SyncProgress) -> String {
    let what =
      switch progress.phase {
      case .pushing: "sending"
      case .pulling: "receiving"
      case .fetching: "fetching missing entries"
      case .repairing: "re-sending what the relay lost"
      case .attesting: "checking heads"
      }
    guard let total = progress.total, total > 0 else { return "\(what): \(progress.done)" }
    let done = min(progress.done, total)
    return "\(what): \(done) of \(total) (\(done * 100 / total) %)"
  }
}
