import AnkerCrypto
import AnkerRestore
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// The new laptop's passphrase: from a file descriptor (scripts), else the terminal without
/// echo, twice when it is chosen. Read into secure memory, never an argument.
enum Passphrase {
  static func obtain(fd: Int32?, choosing: Bool) throws(RestoreError) -> SecureBytes {
    if let fd { return try readLine(fd) }
    let tty = open("/dev/tty", O_RDWR | O_CLOEXEC)
    guard tty >= 0 else {
      throw RestoreError(
        .rebuildFailed, "there is no terminal to type the passphrase at",
        hint: "in a script, pass it on a file descriptor: `--passphrase-fd 4 4<file`")
    }
    defer { close(tty) }
    let first = try prompt(
      tty, choosing ? "Choose a passphrase for this laptop: " : "This laptop's passphrase: ")
    guard choosing else { return first }
    let second = try prompt(tty, "Type it again: ")
    guard first.constantTimeEquals(second) else {
      throw RestoreError(.rebuildFailed, "the two passphrases differ; nothing was made")
    }
    guard first.count >= 8 else {
      throw RestoreError(
        .rebuildFailed, "a passphrase needs at least 8 characters",
        hint: "several unrelated words are easy to remember and hard to guess")
    }
    return first
  }

  private static func prompt(_ tty: Int32, _ text: String) throws(RestoreError) -> SecureBytes {
    _ = text.withCString { write(tty, $0, strlen($0)) }
    var saved = termios()
    let hasTerminal = tcgetattr(tty, &saved) == 0
    if hasTerminal {
      var quiet = saved
      quiet.c_lflag &= ~tcflag_t(ECHO)
      quiet.c_lflag |= tcflag_t(ECHONL)
      tcsetattr(tty, TCSAFLUSH, &quiet)
    }
    defer { if hasTerminal { tcsetattr(tty, TCSAFLUSH, &saved) } }
    return try readLine(tty)
  }

  /// One line from `fd` (without the newline), read byte by byte into secure memory so that
  /// nothing after it is consumed: the paper key and the passphrase may share a descriptor.
  private static func readLine(_ fd: Int32) throws(RestoreError) -> SecureBytes {
    let buffer = SecureBytes(count: 1024)
    var length = 0
    var byte: UInt8 = 0
    while length < 1024 {
      let got = read(fd, &byte, 1)
      if got < 0 && errno == EINTR { continue }
      guard got == 1, byte != 0x0A else { break }
      buffer.withUnsafeMutableBytes { $0[length] = byte }
      length += 1
    }
    byte = 0
    if length > 0 && buffer.withUnsafeBytes({ $0[length - 1] }) == 0x0D { length -= 1 }
    guard length > 0 else { throw RestoreError(.rebuildFailed, "no passphrase was given") }
    let out = SecureBytes(count: length)
    out.withUnsafeMutableBytes { target in
      buffer.withUnsafeBytes {
        target.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[0..<length]))
      }
    }
    return out
  }
}
