import Anker
import AnkerLog
import AnkerSync
import Foundation

/// A small seeded generator (SplitMix64), so every schedule can be replayed from its seed.
struct SeededRandom: RandomNumberGenerator {
  private var state: UInt64
  init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }

  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}

/// How many entries a laptop holds.
func entryCount(_ journal: Journal) throws -> Int {
  try Wire.splitBatch(try journal.exportLog()).count
}

/// The relay's error code behind a failed sync, if any.
func relayCode(_ error: any Error) -> String? {
  ((error as? JournalError)?.cause as? SyncError)?.relayCode
}

/// Syncs until a sync goes through (the relay may be restarting), at most `tries` times.
@discardableResult
func syncEventually(
  _ journal: Journal, relay: String, tries: Int = 50, transport: (any RelayTransport)? = nil
) async throws -> SyncReport {
  var last: (any Error)?
  for _ in 0..<tries {
    do {
      if let transport { return try await journal.sync(relay: relay, transport: transport) }
      return try await journal.sync(relay: relay)
    } catch {
      last = error
      try await Task.sleep(for: .milliseconds(50))
    }
  }
  throw last!
}
