import AnkerCrypto
import Testing

@Suite("ConstantTime")
struct ConstantTimeTests {
  @Test("equal arrays are equal, including empty ones")
  func equal() {
    var random = SeededRandom(seed: 81)
    let bytes = random.bytes(64)
    #expect(ConstantTime.equals(bytes, bytes))
    #expect(ConstantTime.equals(Array(bytes), bytes.map { $0 }))
    #expect(ConstantTime.equals([], []))
    #expect(ConstantTime.equals([0], [0]))
  }

  @Test("a difference in any one bit at any position is seen")
  func differences() {
    var random = SeededRandom(seed: 82)
    let bytes = random.bytes(40)
    let missed = (0..<(bytes.count * 8)).filter {
      ConstantTime.equals(bytes, flipping(bytes, bit: $0))
    }
    #expect(missed.isEmpty)
  }

  @Test("different lengths are unequal, even when one is a prefix of the other")
  func lengths() {
    #expect(!ConstantTime.equals([1, 2, 3], [1, 2]))
    #expect(!ConstantTime.equals([], [0]))
    #expect(!ConstantTime.equals([0], []))
  }

  @Test("zero clears every byte and keeps the length")
  func zero() {
    var random = SeededRandom(seed: 83)
    var bytes = random.bytes(33)
    ConstantTime.zero(&bytes)
    #expect(bytes == [UInt8](repeating: 0, count: 33))
    var empty = [UInt8]()
    ConstantTime.zero(&empty)
    #expect(empty.isEmpty)
  }
}
