import AnkerCrypto
import Testing

@testable import AnkerLog

@Suite struct EncodingTests {
  @Test func roundTripsEveryPartOfAnEntry() throws {
    var builder = LogBuilder(seed: 1)
    let worker = builder.addDevice(role: .worker)
    let note = builder.note(worker.key, Array("first contact".utf8))
    let decoded = try Entry(decoding: note.encoded)
    #expect(decoded == note)
    #expect(decoded.id == note.id)
    #expect(decoded.header.prev == nil)
    #expect(decoded.header.parents.contains(worker.entry.id))
    #expect(decoded.verifySignature())
    #expect(decoded.encoded == note.encoded)
    #expect(decoded.bodyKind == .sealed)
    #expect(decoded.header.bodyLength == 1024)
  }

  @Test func idCoversHeaderAndSignature() {
    let builder = LogBuilder(seed: 2)
    let genesis = builder.genesis
    #expect(genesis.id == BLAKE2b.hash256(genesis.headerBytes + genesis.signature))
    #expect(genesis.header.bodyHash == BLAKE2b.hash256(genesis.body!))
  }

  @Test func detachedBodyKeepsIdAndSignature() throws {
    var builder = LogBuilder(seed: 3)
    let note = builder.note(builder.admin, Array("will be erased".utf8))
    let detached = note.detachingBody()
    let decoded = try Entry(decoding: detached.encoded)
    #expect(decoded.body == nil)
    #expect(decoded.id == note.id)
    #expect(decoded.verifySignature())
    #expect(ChainVerification.verify([decoded]).isComplete)
    let reattached = try decoded.attaching(body: note.body!)
    #expect(reattached == note)
    var wrong = note.body!
    wrong[wrong.count - 1] ^= 1
    #expect(throws: LogError.self) { try decoded.attaching(body: wrong) }
  }

  @Test func sealedBodyOpensOnlyInItsOwnPlace() throws {
    var builder = LogBuilder(seed: 4)
    let text = Array("support talk at drop-in".utf8)
    let note = builder.note(builder.admin, text)
    let position = note.header.positionBytes
    let ref = try SealedBody.openHint(note.body!, position: position, epochKey: builder.epochKey)
    #expect(ref == .zero)
    let opened = try SealedBody.open(
      note.body!, position: position, keyRef: ref, contentKey: builder.epochKey)
    #expect(opened == text)
    // The same body read as if it sat in another entry fails: the AD binds its position.
    let other = builder.note(builder.admin, text)
    #expect(throws: LogError.self) {
      try SealedBody.open(
        note.body!, position: other.header.positionBytes, keyRef: ref,
        contentKey: builder.epochKey)
    }
    #expect(throws: LogError.self) {
      try SealedBody.openHint(note.body!, position: position, epochKey: AEAD.Key())
    }
    #expect(throws: LogError.self) {
      try SealedBody.open(note.body!, position: position, keyRef: ref, contentKey: AEAD.Key())
    }
  }

  @Test func sealedBodiesArePaddedToBuckets() throws {
    var builder = LogBuilder(seed: 5)
    for size in [0, 1, 906, 907, 2000, 10_000, SealedBody.maxPlaintext] {
      let note = builder.note(builder.admin, [UInt8](repeating: 0x41, count: size))
      #expect(Padding.isBucket(note.body!.count, floor: 1024))
      #expect(note.body!.count == SealedBody.bodyLength(forPlaintext: size))
    }
    #expect(SealedBody.bodyLength(forPlaintext: 906) == 1024)
    #expect(SealedBody.bodyLength(forPlaintext: 907) > 1024)
    let draft = builder.draft(builder.admin.publicKey)
    #expect(throws: LogError.self) {
      try SealedBody.seal(
        [UInt8](repeating: 0, count: SealedBody.maxPlaintext + 1), position: draft.positionBytes,
        epoch: 1, epochKey: builder.epochKey, keyRef: .zero, contentKey: builder.epochKey,
        using: &builder.random)
    }
  }

  @Test func controlBodiesRoundTrip() throws {
    var builder = LogBuilder(seed: 6)
    let worker = builder.addDevice(role: .worker)
    let removal = builder.remove(worker.key.publicKey, by: builder.admin)
    for entry in [builder.genesis, worker.entry, removal] {
      let control = try #require(entry.control)
      #expect(control.encoded == entry.body!)
      #expect(try Control(decoding: control.encoded) == control)
    }
  }

  @Test func varintsAreLEB128() throws {
    let cases: [(UInt64, [UInt8])] = [
      (0, [0]), (127, [0x7f]), (128, [0x80, 0x01]), (300, [0xac, 0x02]),
      ((1 << 53) - 1, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]),
    ]
    for (value, bytes) in cases {
      var writer = ByteWriter()
      writer.varint(value)
      #expect(writer.bytes == bytes)
      var reader = ByteReader(bytes)
      #expect(try reader.varint("x") == value)
    }
  }

  @Test func varintsRejectLongFormsAndOverflow() {
    for bytes: [UInt8] in [[0x80, 0x00], [0xff, 0x00], [0x81, 0x80, 0x00]] {
      var reader = ByteReader(bytes)
      #expect(throws: LogError(.nonCanonicalInteger, "x is not in its shortest form")) {
        try reader.varint("x")
      }
    }
    var big = ByteReader([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10])
    #expect(
      performing: { try big.varint("x") }, throws: { ($0 as? LogError)?.code == .fieldTooLarge })
    var endless = ByteReader([UInt8](repeating: 0xff, count: 12))
    #expect(
      performing: { try endless.varint("x") }, throws: { ($0 as? LogError)?.code == .fieldTooLarge }
    )
  }

  @Test func everyTruncationIsRejected() {
    var builder = LogBuilder(seed: 7)
    let note = builder.note(builder.admin, Array("x".utf8))
    let bytes = note.encoded
    for length in 0..<bytes.count {
      #expect(
        performing: { try Entry(decoding: Array(bytes[0..<length])) },
        throws: { ($0 as? LogError)?.code == .truncated })
    }
    #expect(
      performing: { try Entry(decoding: bytes + [0]) },
      throws: { ($0 as? LogError)?.code == .trailingBytes })
  }
}
