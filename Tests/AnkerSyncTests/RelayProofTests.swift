import AnkerCrypto
import AnkerLog
import AnkerSync
import Testing

/// The cursor keeps the highest checkpoint a relay signed for the device, and two of its
/// checkpoints prove a rollback only when they should (DESIGN rule 10).
@Suite struct RelayProofTests {
  let relayKey: Signing.PrivateKey
  let journal: JournalID

  init() {
    var random = AnkerCrypto.SeededRandom(seed: 71)
    relayKey = Signing.PrivateKey(using: &random)
    journal = Digest256(random.bytes(32))!
  }

  func checkpoint(
    _ sequence: UInt64, time: UInt64, key: Signing.PrivateKey? = nil, history: UInt8 = 0
  ) -> RelayCheckpoint {
    RelayCheckpoint(
      signedBy: key ?? relayKey, journal: journal, sequence: sequence,
      chain: BLAKE2b.hash256([UInt8(sequence & 0xff), history]), time: time)
  }

  @Test func aCursorReadsBackInEveryForm() throws {
    let forms = [
      SyncCursor(relayKey: relayKey.publicKey, sequence: 4, chain: .zero, highest: 9),
      SyncCursor(relayKey: nil, sequence: 4, checkpoint: checkpoint(4, time: 10), highest: 9),
      SyncCursor(relayKey: relayKey.publicKey, sequence: 4, signedHighest: checkpoint(9, time: 11)),
      SyncCursor(
        relayKey: relayKey.publicKey, sequence: 4, checkpoint: checkpoint(4, time: 10),
        highest: 9, signedHighest: checkpoint(9, time: 11)),
    ]
    var sizes = Set<Int>()
    for cursor in forms {
      sizes.insert(cursor.encoded.count)
      #expect(try SyncCursor(decoding: cursor.encoded) == cursor)
    }
    #expect(sizes.count == 4)
    // Wrong lengths and flags that do not match the length are refused.
    var bad = forms[3].encoded
    bad[80] = 2
    #expect(throws: WireError.self) { _ = try SyncCursor(decoding: bad) }
    #expect(throws: WireError.self) {
      _ = try SyncCursor(decoding: Array(forms[3].encoded.dropLast()))
    }
    // A damaged signature in the kept checkpoint is refused.
    var damaged = forms[2].encoded
    damaged[damaged.count - 1] ^= 1
    #expect(throws: WireError.self) { _ = try SyncCursor(decoding: damaged) }
  }

  @Test func keepSignedKeepsOnlyAHigherCheckpoint() {
    var cursor = SyncCursor()
    cursor.keepSigned(checkpoint(5, time: 1))
    cursor.keepSigned(checkpoint(3, time: 2))
    #expect(cursor.signedHighest?.sequence == 5)
    cursor.keepSigned(checkpoint(8, time: 3))
    #expect(cursor.signedHighest?.sequence == 8)
  }

  @Test func onlyALaterLowerCheckpointOfTheSameRelayAndJournalProvesARollback() {
    let high = checkpoint(9, time: 100)
    #expect(RelayProof(earlier: high, later: checkpoint(4, time: 200)) != nil)
    // Not lower, or signed before: no proof.
    #expect(RelayProof(earlier: high, later: checkpoint(9, time: 200)) == nil)
    #expect(RelayProof(earlier: high, later: checkpoint(12, time: 200)) == nil)
    #expect(RelayProof(earlier: high, later: checkpoint(4, time: 50)) == nil)
    // Another relay's statement proves nothing about this one.
    var random = AnkerCrypto.SeededRandom(seed: 72)
    let other = Signing.PrivateKey(using: &random)
    #expect(RelayProof(earlier: high, later: checkpoint(4, time: 200, key: other)) == nil)
    // A proof read from text with a flipped byte is refused.
    if let proof = RelayProof(earlier: high, later: checkpoint(4, time: 200)) {
      var text = Array(proof.text)
      text[10] = text[10] == "0" ? "1" : "0"
      #expect(throws: WireError.self) { _ = try RelayProof(parsing: String(text)) }
      #expect((try? RelayProof(parsing: proof.text)) == proof)
    }
  }

  @Test func twoChainsSignedAtOneSequenceProveAFork() throws {
    let one = checkpoint(7, time: 100)
    let other = checkpoint(7, time: 90, history: 1)
    let proof = try #require(RelayProof(earlier: one, later: other))
    #expect(proof.kind == .fork)
    #expect(try RelayProof(parsing: proof.text) == proof)
    // The same statement twice proves nothing.
    #expect(RelayProof(earlier: one, later: checkpoint(7, time: 200)) == nil)
    #expect(
      RelayProof(earlier: checkpoint(9, time: 1), later: checkpoint(4, time: 2))?.kind == .rollback)
  }
}
