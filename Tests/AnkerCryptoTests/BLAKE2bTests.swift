import AnkerCrypto
import Testing

@Suite("BLAKE2b")
struct BLAKE2bTests {
  static let abc = Array("abc".utf8)

  /// RFC 7693 appendix A.
  @Test("BLAKE2b-512(\"abc\") is the RFC 7693 appendix A value")
  func rfc7693() {
    #expect(
      Hex.encode(BLAKE2b.hash(Self.abc, outputLength: 64))
        == "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1"
        + "7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923")
  }

  /// Checked with Python's hashlib.blake2b(digest_size=32).
  @Test("BLAKE2b-256 of \"\" and of \"abc\"")
  func blake2b256() {
    let empty = "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8"
    let abc = "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319"
    #expect(Hex.encode(BLAKE2b.hash([UInt8]())) == empty)
    #expect(BLAKE2b.hash256([UInt8]()).hex == empty)
    #expect(Hex.encode(BLAKE2b.hash(Self.abc, outputLength: 32)) == abc)
    #expect(BLAKE2b.hash256(Self.abc).hex == abc)
  }

  /// The BLAKE2 reference KAT (blake2b-kat.txt), key = 00 01 ... 3f; checked with hashlib.
  @Test("keyed BLAKE2b-512 reference vectors")
  func keyedReference() {
    let key = [UInt8](0..<64)
    #expect(
      Hex.encode(BLAKE2b.hash([UInt8](), outputLength: 64, key: key))
        == "10ebb67700b1868efb4417987acf4690ae9d972fb7a590c2f02871799aaa4786"
        + "b5e996e8f0f4eb981fc214b005f42d2ff4233499391653df7aefcbc13fc51568")
    #expect(
      Hex.encode(BLAKE2b.hash([0], outputLength: 64, key: key))
        == "961f6dd1e4dd30f63901690c512e78e4b45e4742ed197c3c5e45c549fd25f2e4"
        + "187b0bc9fe30492b16b0d0bc4ef9b0f34c7003fac09a5ef1532e69430234cebd")
  }

  /// hashlib.blake2b(data, digest_size=32, key=bytes(range(32))).
  @Test("keyed BLAKE2b-256, through hash(key:) and keyedHash256")
  func keyed256() {
    let key = [UInt8](0..<32)
    let abc = "d63a32d3e44738d7907f964316c241adaba0abfeabc32349677578a15a203f7f"
    let empty = "4e51e7a913fc80137da52880fecca175bf81e117d5c68126dc2774033517ea0d"
    #expect(Hex.encode(BLAKE2b.hash(Self.abc, key: key)) == abc)
    #expect(Hex.encode(BLAKE2b.keyedHash256(Self.abc, key: SecureBytes(copying: key))) == abc)
    #expect(Hex.encode(BLAKE2b.hash([UInt8](), key: key)) == empty)
    #expect(Hex.encode(BLAKE2b.keyedHash256([UInt8](), key: SecureBytes(copying: key))) == empty)
    #expect(BLAKE2b.hash(Self.abc, key: key) != BLAKE2b.hash(Self.abc))
  }

  @Test("the output length is a parameter, not a truncation", arguments: [16, 20, 32, 48, 63])
  func lengthIsAParameter(length: Int) {
    let short = BLAKE2b.hash(Self.abc, outputLength: length)
    #expect(short.count == length)
    #expect(short != Array(BLAKE2b.hash(Self.abc, outputLength: 64).prefix(length)))
  }

  @Test("hash256(parts:) equals hashing the concatenation, for every split")
  func parts() {
    var random = SeededRandom(seed: 20)
    let data = random.bytes(300)
    let whole = BLAKE2b.hash256(data)
    for cut in stride(from: 0, through: data.count, by: 7) {
      let split = BLAKE2b.hash256(parts: [Array(data[..<cut]), data[cut...]])
      #expect(split == whole, "cut at \(cut)")
    }
    let three = BLAKE2b.hash256(parts: [data[..<10], [UInt8](), Array(data[10...])])
    #expect(three == whole)
    #expect(BLAKE2b.hash256(parts: []) == BLAKE2b.hash256([UInt8]()))
  }

  @Test("the incremental hasher equals the one-shot hash", arguments: [16, 32, 64])
  func incremental(length: Int) {
    var random = SeededRandom(seed: 21)
    let data = random.bytes(1000)
    var hasher = BLAKE2b.Hasher(outputLength: length)
    var offset = 0
    var step = 1
    while offset < data.count {
      let end = min(offset + step, data.count)
      hasher.update(data[offset..<end])
      offset = end
      step = step * 2 + 1
    }
    #expect(hasher.finalize() == BLAKE2b.hash(data, outputLength: length))
  }

  @Test("the incremental hasher reproduces RFC 7693")
  func incrementalRFC() {
    var hasher = BLAKE2b.Hasher(outputLength: 64)
    hasher.update(Array("a".utf8))
    hasher.update([UInt8]())
    hasher.update(Array("bc".utf8))
    #expect(hasher.finalize() == BLAKE2b.hash(Self.abc, outputLength: 64))
  }

  @Test("raw buffers and slices hash like arrays")
  func byteSources() {
    let data: [UInt8] = [0, 1, 2, 3, 4, 5]
    let expected = BLAKE2b.hash(Array(data[1..<5]))
    #expect(BLAKE2b.hash(data[1..<5]) == expected)
    let fromBuffer = data.withUnsafeBytes {
      BLAKE2b.hash(UnsafeRawBufferPointer(rebasing: $0[1..<5]))
    }
    #expect(fromBuffer == expected)
  }
}
