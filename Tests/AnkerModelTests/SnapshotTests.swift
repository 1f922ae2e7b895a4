import AnkerCrypto
import AnkerLog
import Testing

@testable import AnkerModel

/// A state written as a snapshot and read back is the state: same digests, same records,
/// same membership, same keys, for every replica of 60 random journals (removals, shreds,
/// restrictions, vaults, conflicts and faults among them).
@Suite struct SnapshotTests {
  @Test func snapshotsRoundTrip() throws {
    var compared = 0
    for seed in (0..<UInt64(60)).map({ 5_000 + $0 }) {
      var run = Simulation(seed: seed)
      try run.play(steps: 30)
      for replica in run.replicas {
        let state = replica.state
        var keyBytes = state.keyBytes
        let back = try JournalState(
          snapshot: state.snapshotBytes, keys: keyBytes, readers: [replica.box])
        ConstantTime.zero(&keyBytes)
        #expect(back.digest == state.digest, "seed \(seed)")
        #expect(back.logDigest == state.logDigest)
        do {
          let holds = back.people == state.people
          #expect(holds, "content differs (not printed)")
        }
        do {
          let holds = back.clients == state.clients
          #expect(holds, "content differs (not printed)")
        }
        do {
          let holds = back.cases == state.cases
          #expect(holds, "content differs (not printed)")
        }
        #expect(back.faults == state.faults)
        #expect(back.unreadable == state.unreadable)
        #expect(back.erased == state.erased)
        #expect(back.shreddedCases == state.shreddedCases)
        #expect(back.shredLeftovers == state.shredLeftovers)
        #expect(back.newestEpoch == state.newestEpoch)
        #expect(back.newestEpochRecipients == state.newestEpochRecipients)
        #expect(back.position == state.position)
        #expect(back.readAudit == state.readAudit)
        #expect(back.membership.statuses == state.membership.statuses)
        #expect(back.membership.devices == state.membership.devices)
        #expect(back.membership.enrolments == state.membership.enrolments)
        #expect(back.membership.recoveryBox == state.membership.recoveryBox)
        #expect(back.membership.missingBodies == state.membership.missingBodies)
        #expect(back.keys.caseKeys.count == state.keys.caseKeys.count)
        for (ref, key) in state.keys.caseKeys {
          let other = back.keys.caseKeys[ref]
          let same =
            other.map {
              $0.key.constantTimeEquals(key.key) && $0.generation == key.generation
                && $0.wrapID == key.wrapID && $0.isVault == key.isVault
                && $0.viaLink == key.viaLink && $0.isCombination == key.isCombination
                && $0.epoch == key.epoch
            } ?? false
          #expect(same, "case key differs after the round trip")
        }
        #expect(back.keys.epochs.keys.sorted() == state.keys.epochs.keys.sorted())
        for (epoch, candidates) in state.keys.epochs {
          let others = back.keys.epochs[epoch] ?? []
          let same =
            others.count == candidates.count
            && zip(others, candidates).allSatisfy {
              $0.candidate == $1.candidate && $0.key.constantTimeEquals($1.key)
            }
          #expect(same, "epoch key differs after the round trip")
        }
        compared += 1
      }
    }
    #expect(compared == 240)
  }

  @Test func aDamagedSnapshotIsRefused() throws {
    var run = Simulation(seed: 77)
    try run.play(steps: 20)
    let state = run.replicas[0].state
    let bytes = state.snapshotBytes
    #expect(throws: LogError.self) {
      try JournalState(snapshot: Array(bytes.dropLast(3)), keys: state.keyBytes, readers: [])
    }
    var other = bytes
    other[0] = 9
    #expect(throws: LogError.self) {
      try JournalState(snapshot: other, keys: state.keyBytes, readers: [])
    }
  }
}
