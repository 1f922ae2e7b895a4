import AnkerCrypto
import Testing

@Suite("AEAD: seal and open")
struct AEADTests {
  struct Fixture {
    let key: AEAD.Key
    let nonce: [UInt8]
    let aad: [UInt8]
    let plaintext: [UInt8]
    let sealed: [UInt8]

    init(length: Int = 40) {
      var random = SeededRandom(seed: 0xAEAD)
      key = AEAD.Key(using: &random)
      nonce = random.bytes(AEAD.nonceCount)
      aad = Array("entry header".utf8)
      plaintext = random.bytes(length)
      sealed = AEAD.seal(plaintext, key: key, nonce: nonce, associatedData: aad)
    }
  }

  @Test("round trip at every length from 0 to 300, with and without associated data")
  func roundTrip() throws {
    var random = SeededRandom(seed: 1)
    for length in 0...300 {
      let key = AEAD.Key(using: &random)
      let nonce = random.bytes(AEAD.nonceCount)
      let plaintext = random.bytes(length)
      let aad = random.bytes(length % 7)
      let sealed = AEAD.seal(plaintext, key: key, nonce: nonce, associatedData: aad)
      #expect(sealed.count == length + AEAD.tagCount)
      let opened = try AEAD.open(sealed, key: key, nonce: nonce, associatedData: aad)
      #expect(opened == plaintext, "length \(length)")
    }
  }

  @Test("slices and raw buffers seal and open like arrays")
  func otherByteSources() throws {
    let fixture = Fixture()
    let padded = [0xEE] + fixture.plaintext + [0xEE]
    let fromSlice = AEAD.seal(
      padded.dropFirst().dropLast(), key: fixture.key, nonce: fixture.nonce,
      associatedData: fixture.aad)
    #expect(fromSlice == fixture.sealed)
    let fromBuffer = fixture.plaintext.withUnsafeBytes {
      AEAD.seal($0, key: fixture.key, nonce: fixture.nonce, associatedData: fixture.aad)
    }
    #expect(fromBuffer == fixture.sealed)
    let sealedSlice = ([0xEE] + fixture.sealed).dropFirst()
    let opened = try AEAD.open(
      sealedSlice, key: fixture.key, nonce: fixture.nonce, associatedData: fixture.aad)
    #expect(opened == fixture.plaintext)
  }

  @Test("sealing is deterministic for the same key and nonce, and the nonce matters")
  func determinism() {
    let fixture = Fixture()
    let again = AEAD.seal(
      fixture.plaintext, key: fixture.key, nonce: fixture.nonce, associatedData: fixture.aad)
    #expect(again == fixture.sealed)
    var otherNonce = fixture.nonce
    otherNonce[0] ^= 1
    let other = AEAD.seal(
      fixture.plaintext, key: fixture.key, nonce: otherNonce, associatedData: fixture.aad)
    #expect(other != fixture.sealed)
    #expect(Array(fixture.sealed.prefix(fixture.plaintext.count)) != fixture.plaintext)
  }

  @Test("a wrong key fails with the opaque error")
  func wrongKey() {
    let fixture = Fixture()
    var random = SeededRandom(seed: 99)
    let otherKey = AEAD.Key(using: &random)
    #expect(throws: authenticationFailed) {
      try AEAD.open(
        fixture.sealed, key: otherKey, nonce: fixture.nonce, associatedData: fixture.aad)
    }
  }

  @Test("a wrong nonce fails, including one of the wrong length")
  func wrongNonce() {
    let fixture = Fixture()
    var nonces = (0..<AEAD.nonceCount).map { flipping(fixture.nonce, bit: $0 * 8 + $0 % 8) }
    nonces += [
      [], Array(fixture.nonce.prefix(12)), fixture.nonce + [0], Array(fixture.nonce.dropLast()),
    ]
    for nonce in nonces {
      #expect(throws: authenticationFailed) {
        try AEAD.open(fixture.sealed, key: fixture.key, nonce: nonce, associatedData: fixture.aad)
      }
    }
  }

  @Test("wrong, missing or extra associated data fails")
  func wrongAssociatedData() {
    let fixture = Fixture()
    let variants: [[UInt8]] = [
      [], Array("entry headeR".utf8), Array("entry header ".utf8), Array("entry heade".utf8),
    ]
    for aad in variants {
      #expect(throws: authenticationFailed) {
        try AEAD.open(fixture.sealed, key: fixture.key, nonce: fixture.nonce, associatedData: aad)
      }
    }
    let noAAD = AEAD.seal(fixture.plaintext, key: fixture.key, nonce: fixture.nonce)
    #expect(throws: authenticationFailed) {
      try AEAD.open(noAAD, key: fixture.key, nonce: fixture.nonce, associatedData: [0])
    }
  }

  @Test("every single flipped bit of ciphertext or tag fails")
  func flippedBits() {
    let fixture = Fixture(length: 24)
    var accepted = [Int]()
    var otherErrors = 0
    for bit in 0..<(fixture.sealed.count * 8) {
      let tampered = flipping(fixture.sealed, bit: bit)
      let error = cryptoError {
        try AEAD.open(tampered, key: fixture.key, nonce: fixture.nonce, associatedData: fixture.aad)
      }
      if error == nil {
        accepted.append(bit)
      } else if error != authenticationFailed {
        otherErrors += 1
      }
    }
    #expect(accepted.isEmpty)
    #expect(otherErrors == 0)
  }

  @Test("every truncation and any extension fails")
  func truncatedOrExtended() {
    let fixture = Fixture()
    for length in 0..<fixture.sealed.count {
      let truncated = Array(fixture.sealed.prefix(length))
      #expect(throws: authenticationFailed, "kept \(length) bytes") {
        try AEAD.open(
          truncated, key: fixture.key, nonce: fixture.nonce, associatedData: fixture.aad)
      }
    }
    #expect(throws: authenticationFailed) {
      try AEAD.open(
        fixture.sealed + [0], key: fixture.key, nonce: fixture.nonce, associatedData: fixture.aad)
    }
  }

  @Test("the failure says nothing but \"authentication failed\"")
  func opaqueError() throws {
    let fixture = Fixture()
    let error = try #require(
      cryptoError { try AEAD.open(fixture.sealed, key: fixture.key, nonce: []) })
    #expect(error.code == .authenticationFailed)
    #expect(error.message == "authentication failed")
    #expect(error.description == "authenticationFailed: authentication failed")
  }

  @Test("an empty plaintext still authenticates")
  func emptyPlaintext() throws {
    let fixture = Fixture(length: 0)
    #expect(fixture.sealed.count == AEAD.tagCount)
    let opened = try AEAD.open(
      fixture.sealed, key: fixture.key, nonce: fixture.nonce, associatedData: fixture.aad)
    #expect(opened.isEmpty)
    #expect(throws: authenticationFailed) {
      try AEAD.open(flipping(fixture.sealed, bit: 3), key: fixture.key, nonce: fixture.nonce)
    }
  }
}

@Suite("AEAD: secrets in secure memory")
struct AEADSecretTests {
  @Test("seal(secret:) then openSecret round-trips, and matches sealing the same bytes")
  func roundTrip() throws {
    var random = SeededRandom(seed: 2)
    let key = AEAD.Key(using: &random)
    let nonce = random.bytes(AEAD.nonceCount)
    let wrapped = AEAD.Key(using: &random)
    let sealed = AEAD.seal(secret: wrapped.secret, key: key, nonce: nonce, associatedData: [7])
    #expect(sealed.count == AEAD.keyCount + AEAD.tagCount)
    let sameBytes = AEAD.seal(
      wrapped.secret.unsafeCopy(), key: key, nonce: nonce, associatedData: [7])
    #expect(sealed == sameBytes)
    let opened = try AEAD.openSecret(sealed, key: key, nonce: nonce, associatedData: [7])
    #expect(same(opened, wrapped.secret))
    let plain = try AEAD.open(sealed, key: key, nonce: nonce, associatedData: [7])
    #expect(holds(wrapped.secret, plain))
  }

  @Test("an empty secret seals to a bare tag and opens to an empty secret")
  func emptySecret() throws {
    var random = SeededRandom(seed: 4)
    let key = AEAD.Key(using: &random)
    let nonce = random.bytes(AEAD.nonceCount)
    let sealed = AEAD.seal(secret: SecureBytes(copying: [UInt8]()), key: key, nonce: nonce)
    #expect(sealed.count == AEAD.tagCount)
    #expect(try AEAD.openSecret(sealed, key: key, nonce: nonce).count == 0)
    #expect(throws: authenticationFailed) {
      try AEAD.openSecret(flipping(sealed, bit: 5), key: key, nonce: nonce)
    }
  }

  @Test("openSecret fails opaquely on any tampering")
  func failures() {
    var random = SeededRandom(seed: 3)
    let key = AEAD.Key(using: &random)
    let otherKey = AEAD.Key(using: &random)
    let nonce = random.bytes(AEAD.nonceCount)
    let sealed = AEAD.seal(
      secret: SecureBytes(randomCount: 32, using: &random), key: key, nonce: nonce)
    let cases: [(sealed: [UInt8], key: AEAD.Key, nonce: [UInt8], aad: [UInt8])] = [
      (sealed, otherKey, nonce, []),
      (sealed, key, flipping(nonce, bit: 190), []),
      (sealed, key, Array(nonce.prefix(23)), []),
      (sealed, key, nonce, [1]),
      (flipping(sealed, bit: 0), key, nonce, []),
      (flipping(sealed, bit: sealed.count * 8 - 1), key, nonce, []),
      (Array(sealed.dropLast()), key, nonce, []),
      (Array(sealed.prefix(AEAD.tagCount)), key, nonce, []),
      (Array(sealed.prefix(3)), key, nonce, []),
      ([], key, nonce, []),
    ]
    for (index, item) in cases.enumerated() {
      #expect(throws: authenticationFailed, "case \(index)") {
        try AEAD.openSecret(item.sealed, key: item.key, nonce: item.nonce, associatedData: item.aad)
      }
    }
  }
}

@Suite struct AEADInPlaceTests {
  @Test func openInPlaceMatchesOpen() throws {
    var random = SeededRandom(seed: 11)
    let key = AEAD.Key(using: &random)
    let nonce = random.bytes(AEAD.nonceCount)
    let plaintext = random.bytes(100_000)
    var sealed = AEAD.seal(plaintext, key: key, nonce: nonce, associatedData: [1, 2])
    let count = try sealed.withUnsafeMutableBytes {
      try AEAD.openInPlace($0, key: key, nonce: nonce, associatedData: [1, 2])
    }
    #expect(count == plaintext.count)
    let same = Array(sealed[0..<count]) == plaintext
    #expect(same)
  }

  @Test func openInPlaceRefusesTamperingAndLeavesNoPlaintext() {
    var random = SeededRandom(seed: 12)
    let key = AEAD.Key(using: &random)
    let nonce = random.bytes(AEAD.nonceCount)
    var sealed = AEAD.seal(random.bytes(5000), key: key, nonce: nonce)
    sealed[4000] ^= 1
    #expect(throws: CryptoError.self) {
      _ = try sealed.withUnsafeMutableBytes { try AEAD.openInPlace($0, key: key, nonce: nonce) }
    }
    #expect(sealed.allSatisfy { $0 == 0 })
    var short = [UInt8](repeating: 0, count: 10)
    #expect(throws: CryptoError.self) {
      _ = try short.withUnsafeMutableBytes { try AEAD.openInPlace($0, key: key, nonce: nonce) }
    }
  }
}
