import AnkerCrypto
import Testing

@Suite("Padding: Padmé buckets and ISO/IEC 7816-4 padding")
struct PaddingTests {
  /// Padmé written out the long way: E = ⌊log2 L⌋, S = ⌊log2 E⌋ + 1, round L up to a multiple
  /// of 2^(E − S).
  static func referencePadme(_ length: Int) -> Int {
    guard length >= 2 else { return length }
    var e = 0
    while 1 << (e + 1) <= length { e += 1 }
    var s = 1
    while 1 << s <= e { s += 1 }
    let step = 1 << (e - s)
    return (length + step - 1) / step * step
  }

  /// Worked by hand from the definition above.
  @Test(
    "padme with the default 1024-byte floor",
    arguments: [
      (0, 1024), (1, 1024), (1023, 1024), (1024, 1024), (1025, 1088), (1088, 1088),
      (1089, 1152), (2000, 2048), (2047, 2048), (2048, 2048), (2049, 2176), (65_536, 65_536),
      (65_537, 67_584), (100_000, 100_352), (1_000_000, 1_015_808),
    ])
  func padmeDefaultFloor(length: Int, bucket: Int) {
    #expect(Padding.padme(length) == bucket)
  }

  @Test(
    "padme without a floor",
    arguments: [
      (0, 0), (1, 1), (2, 2), (3, 3), (5, 5), (7, 7), (8, 8), (9, 10), (11, 12), (15, 16),
      (16, 16), (17, 18), (255, 256), (256, 256), (257, 272), (1000, 1024),
    ])
  func padmeNoFloor(length: Int, bucket: Int) {
    #expect(Padding.padme(length, floor: 0) == bucket)
  }

  @Test("padme agrees with the reference and is idempotent, monotonic and within 12%")
  func padmeProperties() {
    var previous = 0
    var lengths = Array(0...5000)
    var random = SeededRandom(seed: 60)
    for _ in 0..<2000 { lengths.append(5000 + random.next(below: 1 << 30)) }
    var wrong = [Int]()
    for length in lengths {
      let bucket = Padding.padme(length, floor: 0)
      if bucket != Self.referencePadme(length) || Padding.padme(bucket, floor: 0) != bucket
        || bucket < length || (bucket - length) * 100 > length * 12
        || Padding.padme(length) != max(bucket, 1024) || (length <= 5000 && bucket < previous)
      {
        wrong.append(length)
      }
      if length <= 5000 { previous = bucket }
    }
    #expect(wrong.isEmpty)
  }

  @Test("isBucket is true exactly for lengths padme produces, at or above the floor")
  func isBucket() {
    let produced = Set((0...10_000).map { Padding.padme($0) })
    let mismatched = (0...8192).filter { Padding.isBucket($0) != produced.contains($0) }
    #expect(mismatched.isEmpty)
    #expect(Padding.isBucket(1024))
    #expect(Padding.isBucket(1088))
    #expect(!Padding.isBucket(1025))
    #expect(!Padding.isBucket(0))
    #expect(!Padding.isBucket(512))
    #expect(Padding.isBucket(512, floor: 256))
    #expect(Padding.isBucket(10, floor: 0))
    #expect(!Padding.isBucket(9, floor: 0))
  }

  @Test("pad writes content ‖ 0x80 ‖ zeros to exactly the requested length")
  func padLayout() throws {
    #expect(try Padding.pad([], toLength: 1) == [0x80])
    #expect(try Padding.pad([], toLength: 4) == [0x80, 0, 0, 0])
    #expect(try Padding.pad([1, 2, 3], toLength: 4) == [1, 2, 3, 0x80])
    #expect(try Padding.pad([0x80, 0], toLength: 5) == [0x80, 0, 0x80, 0, 0])
  }

  @Test("pad then unpad round-trips at many content and padded lengths")
  func roundTrip() throws {
    var random = SeededRandom(seed: 61)
    var failures = [String]()
    for contentLength in 0..<300 {
      let content = random.bytes(contentLength)
      let targets = [
        contentLength + 1, contentLength + 2, contentLength + 17, Padding.padme(contentLength + 1),
      ]
      for target in targets {
        let padded = try Padding.pad(content, toLength: target)
        if padded.count != target || Array(padded.prefix(contentLength)) != content {
          failures.append("pad \(contentLength)→\(target)")
        }
        if try Padding.unpad(padded) != content { failures.append("unpad \(contentLength)") }
      }
    }
    #expect(failures.isEmpty)
  }

  @Test("pad refuses a length that does not exceed the content", arguments: [0, 9, 10])
  func padTooShort(length: Int) {
    let error = cryptoError { try Padding.pad([UInt8](repeating: 1, count: 10), toLength: length) }
    #expect(error?.code == .invalidLength)
  }

  @Test(
    "unpad refuses malformed padding",
    arguments: [
      [], [0], [0, 0, 0], [1], [0x7f], [0x81], [0xff], [0x80, 1], [0x80, 0, 1], [1, 2, 3],
      [0x80, 0, 0x40, 0], [UInt8](repeating: 0, count: 1000),
    ] as [[UInt8]])
  func unpadMalformed(bytes: [UInt8]) {
    let error = cryptoError { try Padding.unpad(bytes) }
    #expect(error?.code == .invalidPadding)
  }

  @Test("damaging the marker or any trailing zero of real padding is refused")
  func unpadDamaged() throws {
    var random = SeededRandom(seed: 62)
    let content = random.bytes(20) + [0x42]
    let padded = try Padding.pad(content, toLength: 64)
    var accepted = [Int]()
    for index in content.count..<padded.count {
      var damaged = padded
      damaged[index] = index == content.count ? 0 : 1
      if (try? Padding.unpad(damaged)) != nil { accepted.append(index) }
    }
    #expect(accepted.isEmpty)
    #expect(try Padding.unpad(padded) == content)
  }

  /// ISO/IEC 7816-4 unpadding written out the long way: the last byte that is not zero must
  /// be the 0x80 marker; what comes before it is the content.
  static func referenceUnpad(_ bytes: [UInt8]) -> [UInt8]? {
    guard let marker = bytes.lastIndex(where: { $0 != 0 }), bytes[marker] == 0x80 else {
      return nil
    }
    return Array(bytes[..<marker])
  }

  @Test("unpad agrees with the reference around every word boundary, damaged or not")
  func unpadAgreesWithReference() throws {
    var random = SeededRandom(seed: 63)
    var disagreements = 0
    for contentLength in 0..<40 {
      for extra in 1..<40 {
        var padded = try Padding.pad(random.bytes(contentLength), toLength: contentLength + extra)
        if random.bytes(1)[0] & 1 == 0 {
          let index = Int(random.bytes(1)[0]) % padded.count
          padded[index] = random.bytes(1)[0]
        }
        if (try? Padding.unpad(padded)) != Self.referenceUnpad(padded) { disagreements += 1 }
      }
    }
    #expect(disagreements == 0)
  }
}
