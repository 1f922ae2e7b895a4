import AnkerCrypto
import AnkerLog
import AnkerRestore
import Testing

/// The checks on journals built entry by entry, without a relay.
@Suite(.timeLimit(.minutes(1))) struct RestorationTests {
  private func input(_ builder: LogBuilder) -> RestoreInput {
    let records = builder.dag.causalOrder.enumerated().map {
      RawRecord(
        sequence: UInt64($0.offset + 1), claimedID: $0.element.id, bytes: $0.element.encoded)
    }
    return RestoreInput(
      journal: builder.journal, source: "test", records: records, head: UInt64(records.count))
  }

  @Test func theGenesisMustNameThePaperKeysKeys() throws {
    var builder = LogBuilder(seed: 7)
    builder.addDevice(role: .worker)
    let now = builder.clock + 1000
    let own = try Restoration(input: input(builder), recovery: builder.recovery, now: now)
    #expect(own.report.isClean, "\(own.report.text)")
    #expect(own.report.placed == 2)
    #expect(own.report.paperKey == "named by the genesis")

    // A journal whose genesis names other keys (a relay handing over a fake one) is refused.
    let fake = LogBuilder(seed: 8)
    #expect {
      try Restoration(input: input(fake), recovery: builder.recovery, now: now)
    } throws: { ($0 as? RestoreError)?.code == .notThisJournal }
    #expect {
      try Restoration(input: input(builder), recovery: RecoveryKey(), now: now)
    } throws: { ($0 as? RestoreError)?.code == .notThisJournal }
  }

  @Test func anEntryByARemovedDeviceAfterItsCutIsNamed() throws {
    var builder = LogBuilder(seed: 9)
    let worker = builder.addDevice(role: .worker)
    builder.remove(worker.key.publicKey, by: builder.admin)
    let late = builder.control(
      worker.key,
      .epochRotated(
        Control.EpochRotated(
          time: builder.nextTime(), epoch: 3, wraps: [builder.wrap(to: builder.adminBox.publicKey)]
        )))
    let restored = try Restoration(
      input: input(builder), recovery: builder.recovery, now: builder.clock + 1000)
    #expect(!restored.report.isClean)
    #expect(restored.report.notMembers.contains { $0.id == late.id }, "\(restored.report.text)")
  }

  @Test func aSequenceGapInTheSourceIsAFault() throws {
    var builder = LogBuilder(seed: 10)
    builder.addDevice(role: .worker)
    var records = input(builder).records
    records.append(RawRecord(sequence: 5, claimedID: nil, bytes: [1, 2, 3]))
    let restored = try Restoration(
      input: RestoreInput(journal: builder.journal, source: "test", records: records, head: 6),
      recovery: builder.recovery, now: builder.clock + 1000)
    #expect(restored.report.sourceFaults.count == 2, "\(restored.report.text)")
    #expect(restored.report.tampered.count == 1, "\(restored.report.text)")
  }
}
