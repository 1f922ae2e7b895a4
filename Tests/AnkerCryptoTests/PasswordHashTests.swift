import AnkerCrypto
import Testing

@Suite("PasswordHash: Argon2id")
struct PasswordHashTests {
  static let passphrase = Array("correct horse battery staple".utf8)
  static let salt = [UInt8](0..<16)

  /// The cheapest parameters libsodium accepts, so that most tests are fast.
  static func cheap(salt: [UInt8] = salt) throws -> PasswordHash.Parameters {
    try PasswordHash.Parameters(opsLimit: 1, memLimit: 8192, salt: salt)
  }

  /// A derived key from nacl.pwhash.argon2id.kdf(length, passphrase, salt, ops, mem) in PyNaCl.
  struct Vector: Sendable, CustomTestStringConvertible {
    let opsLimit: UInt32
    let memLimit: UInt64
    let length: Int
    let key: [String]

    var testDescription: String { "ops \(opsLimit), \(memLimit / 1024) KiB, \(length) bytes" }

    static let all = [
      Vector(
        opsLimit: 2, memLimit: 67_108_864, length: 32,
        key: ["c05ce4c4dd7e0e45ee6011cc59d068ade47df1b01fc0cf9cd4678bdf68a5b7b0"]),
      Vector(
        opsLimit: 1, memLimit: 8192, length: 32,
        key: ["d17ea6341ca93da6079ea2f64dc4aa31dd1aaf9caa67fb42ac4afd0714706f26"]),
      Vector(
        opsLimit: 1, memLimit: 8192, length: 64,
        key: [
          "c0b134792dfa3642578c035d90f244864df1209f0ed75d6fdf42601cd5e2a2cc",
          "d146c1edeb73755ff48e8eeb9af3428fa511021d98551816c4545884fd500a2d",
        ]),
    ]
  }

  @Test("deriveKey matches PyNaCl's argon2id.kdf", arguments: Vector.all)
  func knownAnswer(vector: Vector) throws {
    let parameters = try PasswordHash.Parameters(
      opsLimit: vector.opsLimit, memLimit: vector.memLimit, salt: Self.salt)
    let key = try PasswordHash.deriveKey(
      from: SecureBytes(copying: Self.passphrase), parameters: parameters, length: vector.length)
    #expect(key.count == vector.length)
    #expect(holds(key, try unhex(vector.key.joined())))
  }

  /// PyNaCl: argon2id.kdf(32, b"", salt, 1, 8192) and argon2id.kdf(32, b"\\x00", salt, 1, 8192).
  @Test("an empty passphrase is hashed as empty, not as one zero byte")
  func emptyPassphrase() throws {
    let empty = try PasswordHash.deriveKey(
      from: SecureBytes(copying: [UInt8]()), parameters: try Self.cheap())
    let zeroByte = try PasswordHash.deriveKey(
      from: SecureBytes(copying: [0]), parameters: try Self.cheap())
    #expect(
      holds(empty, try unhex("31ed41e2d73f27fdfe4eb4bec651341e58ba43477051c6fe4adad735d82ee08a")))
    #expect(
      holds(zeroByte, try unhex("88cc49fd408e4a20f9d971459ca4cc932dc234e009195539d13b07ac19461d9c"))
    )
  }

  @Test("libsodium's interactive parameters are the ones the vector used")
  func interactive() {
    var random = SeededRandom(seed: 50)
    let parameters = PasswordHash.Parameters.interactive(using: &random)
    #expect(parameters.opsLimit == 2)
    #expect(parameters.memLimit == 67_108_864)
    #expect(parameters.salt.count == PasswordHash.saltCount)
    let moderate = PasswordHash.Parameters.moderate(using: &random)
    #expect(moderate.opsLimit == 3)
    #expect(moderate.memLimit == 268_435_456)
    #expect(moderate.salt != parameters.salt)
  }

  @Test("the same passphrase and parameters give the same key")
  func deterministic() throws {
    let a = try PasswordHash.deriveKey(
      from: SecureBytes(copying: Self.passphrase), parameters: try Self.cheap())
    let b = try PasswordHash.deriveKey(
      from: SecureBytes(copying: Self.passphrase), parameters: try Self.cheap())
    #expect(same(a, b))
  }

  @Test("a wrong passphrase, salt or cost gives a different key")
  func inputsMatter() throws {
    let reference = try PasswordHash.deriveKey(
      from: SecureBytes(copying: Self.passphrase), parameters: try Self.cheap())
    let wrongPassphrases = ["correct horse battery stapl", "Correct horse battery staple", "x"]
    for wrong in wrongPassphrases {
      let key = try PasswordHash.deriveKey(
        from: SecureBytes(copying: Array(wrong.utf8)), parameters: try Self.cheap())
      #expect(!same(key, reference))
    }
    var otherSalt = Self.salt
    otherSalt[15] ^= 1
    let salted = try PasswordHash.deriveKey(
      from: SecureBytes(copying: Self.passphrase), parameters: try Self.cheap(salt: otherSalt))
    #expect(!same(salted, reference))
    let costlier = try PasswordHash.deriveKey(
      from: SecureBytes(copying: Self.passphrase),
      parameters: try PasswordHash.Parameters(opsLimit: 2, memLimit: 8192, salt: Self.salt))
    #expect(!same(costlier, reference))
  }

  @Test("a salt must be 16 bytes", arguments: [0, 8, 15, 17, 32])
  func badSalt(length: Int) {
    let error = cryptoError {
      try PasswordHash.Parameters(
        opsLimit: 2, memLimit: 67_108_864, salt: [UInt8](repeating: 1, count: length))
    }
    #expect(error?.code == .invalidLength)
  }

  @Test(
    "costs below libsodium's minimum or not whole KiB are refused",
    arguments: [(0, 8192), (1, 0), (1, 4096), (1, 8191), (1, 8193), (1, 9000)]
      as [(UInt32, UInt64)])
  func badCost(opsLimit: UInt32, memLimit: UInt64) {
    let error = cryptoError {
      try PasswordHash.Parameters(opsLimit: opsLimit, memLimit: memLimit, salt: Self.salt)
    }
    #expect(error?.code == .derivationFailed)
  }

  @Test("a key shorter than Argon2id's 16-byte minimum fails cleanly")
  func shortOutput() throws {
    let error = cryptoError {
      try PasswordHash.deriveKey(
        from: SecureBytes(copying: Self.passphrase), parameters: try Self.cheap(), length: 8)
    }
    #expect(error?.code == .derivationFailed)
  }
}

@Suite("PasswordHash.Parameters: encoding")
struct PasswordHashParametersTests {
  @Test("the encoding is version ‖ ops u32 BE ‖ memory KiB u32 BE ‖ salt")
  func layout() throws {
    let salt = [UInt8](0..<16)
    let parameters = try PasswordHash.Parameters(
      opsLimit: 0x0102_0304, memLimit: 0x0A0B_0C0D * 1024, salt: salt)
    #expect(parameters.encoded == [1, 1, 2, 3, 4, 0x0A, 0x0B, 0x0C, 0x0D] + salt)
    #expect(PasswordHash.Parameters.encodedCount == 25)
    let interactive = try PasswordHash.Parameters(
      opsLimit: 2, memLimit: 67_108_864, salt: salt)
    #expect(Hex.encode(interactive.encoded.prefix(9)) == "010000000200010000")
  }

  @Test("encode then decode gives back the same parameters")
  func roundTrip() throws {
    var random = SeededRandom(seed: 51)
    var cases = [
      PasswordHash.Parameters.interactive(using: &random),
      PasswordHash.Parameters.moderate(using: &random),
      try PasswordHash.Parameters(opsLimit: 1, memLimit: 8192, salt: random.bytes(16)),
      try PasswordHash.Parameters(
        opsLimit: .max, memLimit: UInt64(UInt32.max) * 1024, salt: random.bytes(16)),
    ]
    for _ in 0..<20 {
      let ops = UInt32(1 + random.next(below: 10))
      let kib = UInt64(8 + random.next(below: 1 << 20))
      let salt = random.bytes(16)
      cases.append(try PasswordHash.Parameters(opsLimit: ops, memLimit: kib * 1024, salt: salt))
    }
    for parameters in cases {
      let decoded = try PasswordHash.Parameters(encoded: parameters.encoded)
      #expect(decoded == parameters)
      #expect(decoded.encoded == parameters.encoded)
    }
  }

  @Test("bad encodings are refused")
  func badEncodings() throws {
    let good = try PasswordHash.Parameters(
      opsLimit: 2, memLimit: 67_108_864, salt: [UInt8](0..<16)
    ).encoded
    var bad: [[UInt8]] = [[], [1], Array(good.dropLast()), good + [0]]
    for version: UInt8 in [0, 2, 0x81, 0xff] { bad.append([version] + good.dropFirst()) }
    bad.append([1, 0, 0, 0, 0] + good.dropFirst(5))  // opsLimit 0
    bad.append(Array(good.prefix(5)) + [0, 0, 0, 0] + good.dropFirst(9))  // memory 0 KiB
    bad.append(Array(good.prefix(5)) + [0, 0, 0, 7] + good.dropFirst(9))  // 7 KiB < minimum
    var accepted = [Int]()
    for (index, encoding) in bad.enumerated() {
      let error = cryptoError { try PasswordHash.Parameters(encoded: encoding) }
      if error?.code != .derivationFailed { accepted.append(index) }
    }
    #expect(accepted.isEmpty)
  }
}
