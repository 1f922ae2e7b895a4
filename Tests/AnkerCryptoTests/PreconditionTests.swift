import AnkerCrypto
import Testing

/// Programmer errors stop the process rather than returning wrong bytes. Each case runs in a
/// child process (an exit test).
@Suite("Preconditions stop the process")
struct PreconditionTests {
  @Test("AEAD.seal refuses a nonce that is not 24 bytes")
  func aeadNonce() async {
    await #expect(processExitsWith: .failure) {
      _ = AEAD.seal([1], key: AEAD.Key(), nonce: [UInt8](repeating: 0, count: 12))
    }
  }

  @Test("a KDF context must be 8 bytes")
  func kdfContext() async {
    await #expect(processExitsWith: .failure) {
      _ = AEAD.Key().derive(context: "seven!!", id: 1)
    }
  }

  @Test("BLAKE2b refuses output lengths outside 16...64 and keys outside 16...64")
  func blake2bLengths() async {
    await #expect(processExitsWith: .failure) { _ = BLAKE2b.hash([1], outputLength: 15) }
    await #expect(processExitsWith: .failure) { _ = BLAKE2b.hash([1], outputLength: 65) }
    await #expect(processExitsWith: .failure) {
      _ = BLAKE2b.hash([1], key: [UInt8](repeating: 1, count: 15))
    }
    await #expect(processExitsWith: .failure) {
      _ = BLAKE2b.keyedHash256([1], key: SecureBytes(count: 65))
    }
  }

  /// Without the check, libsodium leaves the state uninitialised and aborts later, if at all.
  @Test("the incremental hasher refuses the same lengths as the one-shot hash")
  func hasherLengths() async {
    await #expect(processExitsWith: .failure) { _ = BLAKE2b.Hasher(outputLength: 100) }
    await #expect(processExitsWith: .failure) { _ = BLAKE2b.Hasher(outputLength: 8) }
  }

  @Test("key pairs need 32-byte seeds")
  func seeds() async {
    await #expect(processExitsWith: .failure) {
      _ = Signing.PrivateKey(seed: SecureBytes(count: 31))
    }
    await #expect(processExitsWith: .failure) { _ = Box.PrivateKey(seed: SecureBytes(count: 33)) }
  }

  @Test("secure memory cannot have a negative size")
  func negativeSize() async {
    await #expect(processExitsWith: .failure) { _ = SecureBytes(count: -1) }
  }
}
