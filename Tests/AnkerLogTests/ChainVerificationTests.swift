import AnkerCrypto
import Testing

@testable import AnkerLog

@Suite struct ChainVerificationTests {
  /// A journal with three authors writing interleaved chains.
  func journal(notesEach: Int) -> (LogBuilder, [Entry]) {
    var builder = LogBuilder(seed: 10)
    let a = builder.addDevice(role: .worker)
    let b = builder.addDevice(role: .worker)
    for index in 0..<notesEach {
      builder.note(a.key, Array("a\(index)".utf8))
      builder.note(b.key, Array("b\(index)".utf8))
      builder.note(builder.admin, Array("c\(index)".utf8))
    }
    return (builder, builder.dag.causalOrder)
  }

  @Test func checksOneSignaturePerAuthorChain() {
    let (_, entries) = journal(notesEach: 30)
    let report = ChainVerification.verify(entries.shuffled())
    #expect(report.isComplete)
    #expect(report.authenticated.count == entries.count)
    #expect(report.signaturesChecked == 3)
    #expect(ChainVerification.verifyEach(entries).signaturesChecked == entries.count)
  }

  @Test func rejectsAForgedEntryInTheMiddleOfAChain() throws {
    var (builder, entries) = journal(notesEach: 10)
    // Forge the admin's fifth note: same position, other content, signed by another key
    // that claims the admin's identity.
    let adminChain = entries.filter { $0.author == builder.admin.publicKey }
    let victim = adminChain[adminChain.count / 2]
    var forgedBytes = victim.encoded
    forgedBytes[forgedBytes.count - 1] ^= 0x55  // body changes …
    let forgedBody = Array(forgedBytes[(forgedBytes.count - victim.body!.count)...])
    let impostor = Signing.PrivateKey(using: &builder.random)
    let resigned = Entry(
      journal: victim.header.journal, author: impostor, sequence: victim.sequence,
      prev: victim.prev, parents: victim.parents, lamport: victim.lamport, body: forgedBody)
    // … and the header claims the admin as author, keeping the impostor's signature.
    var header = resigned.header
    header.author = builder.admin.publicKey
    let forged = try Entry(decoding: header.encoded + resigned.signature + [1] + forgedBody)
    let batch = entries.map { $0.id == victim.id ? forged : $0 }
    let report = ChainVerification.verify(batch)
    #expect(!report.isComplete)
    #expect(report.rejected.map(\.entry.id) == [forged.id])
    #expect(report.rejected.first?.error.code == .badSignature)
    #expect(report.authenticated.count == entries.count - 1)
    #expect(!report.authenticated.contains { $0.id == forged.id })
  }

  @Test func aFlippedSignatureInAChainIsCaught() throws {
    let (_, entries) = journal(notesEach: 5)
    for target in entries.indices {
      var bytes = entries[target].encoded
      bytes[entries[target].headerBytes.count + 3] ^= 1
      let tampered = try Entry(decoding: bytes)
      let batch = entries.enumerated().map { $0.offset == target ? tampered : $0.element }
      let report = ChainVerification.verify(batch)
      #expect(report.rejected.map(\.entry.id) == [tampered.id])
    }
  }

  @Test func forksAreEachAuthenticatedByTheirOwnSignature() {
    var builder = LogBuilder(seed: 11)
    let worker = builder.addDevice(role: .worker)
    let base = builder.note(worker.key, Array("before the clone".utf8))
    let draft = builder.draft(worker.key.publicKey)
    let left = draft.sign(body: builder.sealedBody([1], for: draft), with: worker.key)
    let right = draft.sign(body: builder.sealedBody([2], for: draft), with: worker.key)
    #expect(left.id != right.id)
    #expect(left.prev == base.id && right.prev == base.id)
    let report = ChainVerification.verify(builder.dag.causalOrder + [left, right])
    #expect(report.isComplete)
    #expect(report.signaturesChecked == 3)  // the admin tip and the two fork tips
  }

  @Test func trustedEntriesEndTheWalk() {
    let (_, entries) = journal(notesEach: 4)
    let trusted = Set(entries.prefix(5).map(\.id))
    let report = ChainVerification.verify(entries, trusted: trusted)
    #expect(report.isComplete)
    #expect(report.authenticated.count == entries.count)
  }
}
