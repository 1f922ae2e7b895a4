import AnkerCrypto
import AnkerLog

extension VectorSuite {
  /// An unplaced sealed note at the admin's next position: the base every malformed entry
  /// starts from.
  mutating func baseNote(_ text: [UInt8] = Array("base".utf8)) -> Entry {
    let draft = builder.draft(builder.admin.publicKey)
    return draft.sign(body: builder.sealedBody(text, for: draft), with: builder.admin)
  }

  /// A variant of the base note with one field broken and a valid signature over the result.
  mutating func broken(_ change: (inout HeaderParts) -> Void) -> [UInt8] {
    var parts = HeaderParts(baseNote())
    change(&parts)
    parts.sign(with: builder.admin)
    return parts.bytes
  }

  mutating func buildInvalid() {
    buildMoreValid()
    let admin = builder.admin
    let base = baseNote()
    let bytes = base.encoded
    // Decode stage.
    fail(
      "truncated-header", "the entry ends inside the header", Array(bytes.prefix(40)),
      stage: .decode, .truncated)
    fail(
      "truncated-body", "the entry ends inside the body", Array(bytes.dropLast(1)), stage: .decode,
      .truncated)
    fail(
      "truncated-signature", "the entry ends inside the signature",
      Array(bytes.prefix(base.headerBytes.count + 10)), stage: .decode, .truncated)
    fail("trailing-bytes", "a byte follows the body", bytes + [0], stage: .decode, .trailingBytes)
    fail(
      "unknown-version", "format version 2", broken { $0.version = [2] }, stage: .decode,
      .unknownVersion)
    fail(
      "noncanonical-sequence", "the sequence number has a redundant zero group",
      broken { $0.sequence = [$0.sequence[0] | 0x80, 0x00] }, stage: .decode, .nonCanonicalInteger)
    fail(
      "noncanonical-lamport", "the Lamport number has a redundant zero group",
      broken { $0.lamport = [$0.lamport[0] | 0x80, 0x00] }, stage: .decode, .nonCanonicalInteger)
    fail(
      "noncanonical-parent-count", "the parent count has a redundant zero group",
      broken { $0.parentCount = [$0.parentCount[0] | 0x80, 0x00] }, stage: .decode,
      .nonCanonicalInteger)
    fail(
      "noncanonical-body-length", "the body length is not in its shortest form",
      broken { $0.bodyLength = [0x80, 0x88, 0x00] }, stage: .decode, .nonCanonicalInteger)
    fail(
      "integer-too-large", "a Lamport number of 2^53",
      broken {
        $0.lamport = HeaderParts.varint(1 << 52) + []
        $0.lamport = [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10]
      }, stage: .decode, .fieldTooLarge)
    fail(
      "sequence-zero", "sequence numbers start at 1",
      broken {
        $0.sequence = [0]
        $0.prev = []
      }, stage: .decode, .invalidSequence)
    fail(
      "too-many-parents", "65 parents",
      broken { parts in
        parts.parentCount = [65]
        parts.parents = (0..<65).flatMap { index in
          [UInt8](repeating: 0, count: 31) + [UInt8(index)]
        }
      }, stage: .decode, .fieldTooLarge)
    fail(
      "body-too-long", "a body length above 65,536",
      broken { $0.bodyLength = HeaderParts.varint(65_537) }, stage: .decode, .fieldTooLarge)
    fail(
      "parents-unsorted", "parents not in ascending order",
      broken { parts in
        parts.parentCount = [2]
        parts.parents = [UInt8](repeating: 0xff, count: 32) + parts.prev
      }, stage: .decode, .parentsNotSorted)
    fail(
      "parents-repeated", "the same parent twice",
      broken { parts in
        parts.parentCount = [2]
        parts.parents = parts.prev + parts.prev
      }, stage: .decode, .parentsNotSorted)
    fail(
      "prev-not-a-parent", "the author's previous entry is missing from the parents",
      broken { parts in
        parts.parents = [UInt8](repeating: 0, count: 32)
        parts.parentCount = [1]
      }, stage: .decode, .prevNotInParents)
    fail(
      "lamport-one-with-parents", "Lamport 1 although the entry has parents",
      broken { $0.lamport = [1] }, stage: .decode, .invalidLamport)
    fail(
      "lamport-below-sequence", "Lamport number smaller than the sequence number",
      broken { parts in
        parts.sequence = HeaderParts.varint(500)
      }, stage: .decode, .invalidLamport)
    fail(
      "root-lamport-two", "no parents but Lamport 2",
      broken { parts in
        parts.sequence = [1]
        parts.prev = []
        parts.parentCount = [0]
        parts.parents = []
        parts.lamport = [2]
      }, stage: .decode, .invalidLamport)
    fail(
      "body-flag-two", "a body flag other than 0 or 1", broken { $0.flag = [2] }, stage: .decode,
      .invalidBodyFlag)
    fail(
      "empty-body-detached", "an empty body cannot be detached",
      broken { parts in
        parts.setBody([])
        parts.flag = [0]
        parts.body = []
      }, stage: .decode, .invalidBodyFlag)
    fail(
      "body-hash-mismatch", "one bit of the body flipped", broken { $0.body[200] ^= 1 },
      stage: .decode, .bodyHashMismatch)
    fail(
      "unknown-body-kind", "body kind 7",
      broken { $0.setBody([7] + [UInt8](repeating: 0, count: 1023)) }, stage: .decode,
      .unknownBodyKind)
    fail(
      "sealed-unpadded", "a sealed body of 1,000 bytes (below the 1 KiB floor)",
      broken { $0.setBody([1] + [UInt8](repeating: 0, count: 999)) }, stage: .decode, .unpaddedBody)
    fail(
      "sealed-off-bucket", "a sealed body of 1,100 bytes (not a Padmé bucket)",
      broken { $0.setBody([1] + [UInt8](repeating: 0, count: 1099)) }, stage: .decode, .unpaddedBody
    )
    let rotation = Control.epochRotated(
      Control.EpochRotated(time: builder.nextTime(), epoch: 9, wraps: []))
    fail(
      "control-unknown-kind", "control kind 99", broken { $0.setBody([2, 99, 0, 0]) },
      stage: .decode, .malformedControl)
    fail(
      "control-trailing-bytes", "a byte after a control payload",
      broken { $0.setBody(rotation.encoded + [0]) }, stage: .decode, .trailingBytes)
    fail(
      "control-truncated", "a control payload cut short",
      broken { $0.setBody(Array(rotation.encoded.dropLast())) }, stage: .decode, .truncated)
    let w1 = builder.wrap(to: builder.adminBox.publicKey)
    let w2 = builder.wrap(to: builder.recovery.boxKey.publicKey)
    let unsortedWraps =
      [UInt8]([2, 4, 0, 0, 9, 2])
      + [w1, w2].sorted { $0.recipient > $1.recipient }.flatMap { $0.recipient.bytes + $0.sealed }
    fail(
      "control-wraps-unsorted", "key wraps not sorted by recipient",
      broken { $0.setBody(unsortedWraps) }, stage: .decode, .malformedControl)
    fail(
      "control-unknown-role", "role 3 in a device-added payload",
      broken { parts in
        var payload: [UInt8] = [2, 2, 0, 0]
        payload += [UInt8](repeating: 1, count: 64) + [UInt8](repeating: 2, count: 16) + [3, 1, 0]
        parts.setBody(payload)
      }, stage: .decode, .malformedControl)
    let hashes = [base.header.bodyHash, builder.genesis.header.bodyHash].sorted()
    fail(
      "erasure-unsorted", "erased body hashes not in ascending order",
      broken { $0.setBody([2, 8, 0, 0, 2] + hashes[1].bytes + hashes[0].bytes) },
      stage: .decode, .malformedControl)
    // Verify stage.
    var flipped = bytes
    flipped[base.headerBytes.count + 5] ^= 0x01
    fail(
      "bad-signature", "one bit of the signature flipped", flipped, stage: .verify, .badSignature)
    let impostor = Signing.PrivateKey(using: &builder.random)
    var forged = HeaderParts(base)
    forged.sign(with: impostor)
    fail(
      "signed-by-another-key", "the header names the admin but another key signed", forged.bytes,
      stage: .verify, .badSignature)
    var undomained = HeaderParts(base)
    undomained.signature = admin.signature(for: undomained.header)
    fail(
      "signature-without-context", "signed over the header without the domain string",
      undomained.bytes, stage: .verify, .badSignature)
    var flippedHeader = HeaderParts(base)
    flippedHeader.journal[0] ^= 0x80
    fail(
      "header-changed-after-signing", "the journal id altered after signing", flippedHeader.bytes,
      stage: .verify, .badSignature)
    fail(
      "wrong-id", "the claimed id is not BLAKE2b-256(header ‖ signature)", bytes, stage: .verify,
      .idMismatch, claimedID: BLAKE2b.hash256(base.headerBytes))
    buildPlacementFailures()
  }
}
