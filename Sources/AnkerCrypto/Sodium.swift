internal import CSodium

/// libsodium's one-time initialisation, done lazily and thread-safely on first use.
enum Sodium {
  static let ready: Bool = sodium_init() >= 0

  @inline(__always)
  static func ensureReady() {
    precondition(ready, "libsodium failed to initialise")
  }
}
