import AnkerCrypto

/// Authenticates a batch of decoded entries with as few signature checks as possible.
///
/// The id of an entry is BLAKE2b-256(header ‖ signature) and each header names the author's
/// previous entry by id, so a verified signature on an author's newest entry authenticates,
/// by hashing alone, every earlier entry of that author reachable through `prev` (and
/// decoding already checked each body against its header's hash). The verifier therefore
/// checks one signature per chain tip in the batch; an entry no verified tip reaches (a fork,
/// or the part of a chain below a forgery) becomes a tip of its own in the next round, so
/// nothing is accepted unauthenticated and nothing genuine is rejected for a neighbour's sake.
public enum ChainVerification {
  public struct Report: Sendable {
    /// Entries that are authentic, in input order (duplicates in the input appear once).
    public var authenticated: [Entry] = []
    /// Entries whose signature did not verify, with the reason.
    public var rejected: [(entry: Entry, error: LogError)] = []
    /// How many Ed25519 signatures were checked.
    public var signaturesChecked = 0

    public init() {}

    public var isComplete: Bool { rejected.isEmpty }
  }

  /// Authenticates `batch`. `trusted` lists ids already authenticated earlier (for example
  /// entries in the local store); a chain walk stops there.
  public static func verify(_ batch: [Entry], trusted: Set<EntryID> = []) -> Report {
    var byID = [EntryID: Int](minimumCapacity: batch.count)
    var unique = [Entry]()
    unique.reserveCapacity(batch.count)
    for entry in batch where byID[entry.id] == nil {
      byID[entry.id] = unique.count
      unique.append(entry)
    }
    // The predecessor of each entry within the batch (same author), or -1.
    let previous: [Int] = unique.map { entry in
      guard let prev = entry.prev, let index = byID[prev], unique[index].author == entry.author
      else { return -1 }
      return index
    }
    var authentic = [Bool](repeating: false, count: unique.count)
    var settled = [Bool](repeating: false, count: unique.count)
    for (index, entry) in unique.enumerated() where trusted.contains(entry.id) {
      authentic[index] = true
      settled[index] = true
    }
    var report = Report()
    var referenced = [Bool](repeating: false, count: unique.count)
    while true {
      // Tips: unsettled entries that no other unsettled entry names as its predecessor.
      for index in referenced.indices { referenced[index] = false }
      for index in unique.indices where !settled[index] && previous[index] >= 0 {
        referenced[previous[index]] = true
      }
      let tips = unique.indices.filter { !settled[$0] && !referenced[$0] }
      if tips.isEmpty { break }
      for tip in tips {
        report.signaturesChecked += 1
        settled[tip] = true
        guard unique[tip].verifySignature() else {
          let error = LogError(.badSignature, "entry \(unique[tip].id.short) has a bad signature")
          report.rejected.append((unique[tip], error))
          continue
        }
        authentic[tip] = true
        // Walk back through prev: each predecessor is authenticated by the hash in its
        // successor's signed header.
        var current = previous[tip]
        while current >= 0 && !settled[current] {
          settled[current] = true
          authentic[current] = true
          current = previous[current]
        }
      }
    }
    report.authenticated = unique.indices.filter { authentic[$0] }.map { unique[$0] }
    return report
  }

  /// Authenticates every entry alone (one signature each): the slow path the chain
  /// verification replaces, kept for comparison and for single entries.
  public static func verifyEach(_ batch: [Entry]) -> Report {
    var report = Report()
    for entry in batch {
      report.signaturesChecked += 1
      if entry.verifySignature() {
        report.authenticated.append(entry)
      } else {
        report.rejected.append(
          (entry, LogError(.badSignature, "entry \(entry.id.short) has a bad signature")))
      }
    }
    return report
  }
}
