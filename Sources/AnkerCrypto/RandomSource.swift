internal import CSodium

/// Where randomness comes from. Pure code takes one as a parameter, so that tests and the
/// vector generator can be deterministic while production uses the operating system.
public protocol RandomSource {
  /// Fills the buffer with random bytes.
  mutating func fill(_ buffer: UnsafeMutableRawBufferPointer)
}

extension RandomSource {
  /// Returns `count` random bytes.
  public mutating func bytes(_ count: Int) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: count)
    out.withUnsafeMutableBytes { fill($0) }
    return out
  }
}

/// The operating system's cryptographic random generator (libsodium's `randombytes_buf`).
public struct SystemRandom: RandomSource, Sendable {
  public init() { Sodium.ensureReady() }

  public mutating func fill(_ buffer: UnsafeMutableRawBufferPointer) {
    guard let base = buffer.baseAddress, buffer.count > 0 else { return }
    randombytes_buf(base, buffer.count)
  }
}

/// A deterministic generator for tests and test vectors only: each call to `fill` draws
/// from `randombytes_buf_deterministic` keyed by BLAKE2b(seed ‖ counter). Never use it for
/// real keys.
public struct SeededRandom: RandomSource, Sendable {
  private let seed: [UInt8]
  private var counter: UInt64 = 0

  /// Any seed bytes; they are hashed to the 32-byte seed libsodium needs.
  public init(seed: [UInt8]) {
    Sodium.ensureReady()
    self.seed = BLAKE2b.hash(seed, outputLength: 32)
  }

  /// A seed from a number, for property tests.
  public init(seed: UInt64) {
    self.init(seed: withUnsafeBytes(of: seed.bigEndian) { Array($0) })
  }

  public mutating func fill(_ buffer: UnsafeMutableRawBufferPointer) {
    guard let base = buffer.baseAddress, buffer.count > 0 else { return }
    counter &+= 1
    let callSeed = BLAKE2b.hash(
      seed + withUnsafeBytes(of: counter.bigEndian) { Array($0) }, outputLength: 32)
    callSeed.withUnsafeBufferPointer { seedPointer in
      randombytes_buf_deterministic(base, buffer.count, seedPointer.baseAddress!)
    }
  }

  /// A uniform 64-bit integer, for tests that need keys or choices.
  public mutating func next() -> UInt64 {
    var value: UInt64 = 0
    withUnsafeMutableBytes(of: &value) { fill($0) }
    return value
  }

  /// A uniform integer in `0..<bound`, for tests that shuffle and pick.
  public mutating func next(below bound: Int) -> Int {
    precondition(bound > 0)
    return Int(next() % UInt64(bound))
  }
}
