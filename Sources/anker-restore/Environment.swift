import Anker
import Foundation

/// ANKER_TESTING_ONLY_CLOCK_OFFSET_SECONDS shifts the wall clock this program uses (the
/// journal's, the relay requests', the checks'): the end-to-end tests move past a recovery
/// time lock (one hour at the least) without waiting for it. Never set it outside tests
/// (README, SECURITY.md); a warning says so on standard error whenever it is set.
let clockOffsetMilliseconds: Int64 = {
  guard let text = ProcessInfo.processInfo.environment["ANKER_TESTING_ONLY_CLOCK_OFFSET_SECONDS"],
    !text.isEmpty
  else { return 0 }
  guard let seconds = Int64(text), abs(seconds) < 10 * 365 * 86_400 else {
    FileHandle.standardError.write(
      Data("anker-restore: error: ANKER_TESTING_ONLY_CLOCK_OFFSET_SECONDS is not a number\n".utf8))
    exit(64)
  }
  FileHandle.standardError.write(
    Data(
      ("anker-restore: WARNING: ANKER_TESTING_ONLY_CLOCK_OFFSET_SECONDS shifts this program's "
        + "clock by \(seconds) s: for tests only, never on a real laptop\n").utf8))
  return seconds * 1000
}()

/// The wall clock (ms since 1970), shifted for tests only.
@Sendable func restoreClock() -> UInt64 {
  let now = Int64(Date().timeIntervalSince1970 * 1000)
  return UInt64(max(0, now + clockOffsetMilliseconds))
}

/// The options of the journal folder `rebuild` makes and opens. The test-only passphrase cost
/// is the `anker` CLI's (ANKER_TESTING_ONLY_WEAK_PASSPHRASE_COST=1); a real folder always
/// uses the default.
func rebuildJournalOptions() -> Journal.Options {
  let weak = ProcessInfo.processInfo.environment["ANKER_TESTING_ONLY_WEAK_PASSPHRASE_COST"] == "1"
  return Journal.Options(
    passphraseCost: weak ? .testingOnly : .moderate, idleTimeoutSeconds: nil,
    clock: restoreClock)
}
