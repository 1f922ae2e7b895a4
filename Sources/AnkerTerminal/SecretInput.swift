public import AnkerCrypto

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Reads secrets a person types (passphrases, the paper key, invite codes): from the
/// controlling terminal with echo off, or from a file descriptor a script opened. Never from
/// an argument or the environment (they show in `ps`, shell history and crash reports).
/// Shared by `anker` and `anker-restore`; each turns the failures into its own errors.
public enum SecretInput {
  /// The longest line read; anything after it stays unread.
  public static let maxBytes = 1024

  public enum Failure: Error, Sendable {
    /// The descriptor could not be read.
    case unreadable
    /// There is no controlling terminal to type at.
    case noTerminal
  }

  /// One line from `fd`, without its newline (or a trailing carriage return), read byte by
  /// byte into secure memory so that nothing after it is consumed: a paper key and a
  /// passphrase may share a descriptor. Nil when the line is empty or the input ended.
  public static func line(from fd: Int32) throws(Failure) -> SecureBytes? {
    let buffer = SecureBytes(count: maxBytes)
    var length = 0
    var byte: UInt8 = 0
    defer { byte = 0 }
    while length < maxBytes {
      let got = read(fd, &byte, 1)
      if got < 0 && errno == EINTR { continue }
      guard got >= 0 else { throw .unreadable }
      guard got == 1, byte != 0x0A else { break }
      buffer.withUnsafeMutableBytes { $0[length] = byte }
      length += 1
    }
    if length > 0 && buffer.withUnsafeBytes({ $0[length - 1] }) == 0x0D { length -= 1 }
    guard length > 0 else { return nil }
    let out = SecureBytes(count: length)
    out.withUnsafeMutableBytes { target in
      buffer.withUnsafeBytes {
        target.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[0..<length]))
      }
    }
    return out
  }

  /// Writes `prompt` to the controlling terminal and reads one line there with echo off.
  public static func terminalLine(prompt: String) throws(Failure) -> SecureBytes? {
    let tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)
    guard tty >= 0 else { throw .noTerminal }
    defer { close(tty) }
    _ = prompt.withCString { write(tty, $0, strlen($0)) }
    var saved = termios()
    let hasTerminal = tcgetattr(tty, &saved) == 0
    if hasTerminal {
      var quiet = saved
      quiet.c_lflag &= ~tcflag_t(ECHO)
      quiet.c_lflag |= tcflag_t(ECHONL)
      _ = tcsetattr(tty, TCSAFLUSH, &quiet)
    }
    defer { if hasTerminal { _ = tcsetattr(tty, TCSAFLUSH, &saved) } }
    return try line(from: tty)
  }
}
