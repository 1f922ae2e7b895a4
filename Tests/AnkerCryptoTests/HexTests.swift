import AnkerCrypto
import Testing

@Suite("Hex")
struct HexTests {
  @Test("every byte value encodes to two lower-case digits and decodes back")
  func allBytes() {
    let bytes = [UInt8](0...255)
    let hex = Hex.encode(bytes)
    #expect(hex.count == 512)
    #expect(hex.hasPrefix("000102030405060708090a0b0c0d0e0f10"))
    #expect(hex.hasSuffix("f9fafbfcfdfeff"))
    #expect(Hex.decode(hex) == bytes)
    #expect(Hex.decode(hex.uppercased()) == bytes)
  }

  @Test("mixed case decodes; empty is empty")
  func decoding() {
    #expect(Hex.decode("DeadBEEF") == [0xde, 0xad, 0xbe, 0xef])
    #expect(Hex.decode("") == [])
    #expect(Hex.encode([UInt8]()) == "")
    #expect(Hex.encode([0xAB, 0x01]) == "ab01")
  }

  @Test(
    "odd lengths and non-hex characters give nil",
    arguments: ["0", "abc", "0g", "g0", " 00", "00 ", "0x00", "zz", "+1", "é0", "0:", "@A", "`a"])
  func invalid(text: String) {
    #expect(Hex.decode(text) == nil)
  }

  @Test("random round trips")
  func roundTrip() {
    var random = SeededRandom(seed: 80)
    for length in 0..<100 {
      let bytes = random.bytes(length)
      #expect(Hex.decode(Hex.encode(bytes)) == bytes)
    }
  }
}
