import AnkerCrypto

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Reads the paper recovery key: typed at the terminal without echo, or from a file
/// descriptor a script opened. Never from an argument or the environment (they show in `ps`,
/// shell history and crash reports).
public enum PaperKey {
  static let maxBytes = 1024

  /// From the file descriptor `fd` (read to a newline or its end), or, when nil, from the
  /// controlling terminal with echo off.
  public static func obtain(fd: Int32?) throws(RestoreError) -> RecoveryKey {
    var bytes: [UInt8]
    if let fd {
      bytes = try readLine(fd)
    } else {
      bytes = try readTerminal()
    }
    defer { ConstantTime.zero(&bytes) }
    guard !bytes.isEmpty else {
      throw RestoreError(.invalidRecoveryKey, "no recovery key was given")
    }
    // The parser takes a String, which cannot be wiped; it lives only for this call.
    do { return try RecoveryKey(parsing: String(decoding: bytes, as: UTF8.self)) } catch {
      throw RestoreError(
        .invalidRecoveryKey, "the recovery key is not valid: \(error.message)",
        hint: "type it again from the paper; groups may be separated by spaces or dashes")
    }
  }

  private static func readLine(_ fd: Int32) throws(RestoreError) -> [UInt8] {
    var out = [UInt8]()
    var byte: UInt8 = 0
    while out.count < maxBytes {
      let result = read(fd, &byte, 1)
      if result < 0 && errno == EINTR { continue }
      guard result >= 0 else {
        ConstantTime.zero(&out)
        throw RestoreError(
          .invalidRecoveryKey, "cannot read the recovery key from file descriptor \(fd)",
          hint: "open it for the command, e.g. `--recovery-key-fd 3 3<file`")
      }
      if result == 0 || byte == UInt8(ascii: "\n") { break }
      out.append(byte)
    }
    byte = 0
    return out
  }

  private static func readTerminal() throws(RestoreError) -> [UInt8] {
    let tty = open("/dev/tty", O_RDWR | O_CLOEXEC)
    guard tty >= 0 else {
      throw RestoreError(
        .invalidRecoveryKey, "there is no terminal to type the recovery key at",
        hint: "in a script, pass it on a file descriptor: `--recovery-key-fd 3 3<file`")
    }
    defer { close(tty) }
    let prompt = Array("Recovery key (typing is not shown): ".utf8)
    _ = prompt.withUnsafeBytes { write(tty, $0.baseAddress, $0.count) }
    var saved = termios()
    let haveTermios = tcgetattr(tty, &saved) == 0
    if haveTermios {
      var silent = saved
      silent.c_lflag &= ~tcflag_t(ECHO)
      silent.c_lflag |= tcflag_t(ECHONL)
      _ = tcsetattr(tty, TCSAFLUSH, &silent)
    }
    defer { if haveTermios { _ = tcsetattr(tty, TCSAFLUSH, &saved) } }
    return try readLine(tty)
  }
}
