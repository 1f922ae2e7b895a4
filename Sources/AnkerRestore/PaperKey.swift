import AnkerCrypto
import AnkerTerminal

/// Reads the paper recovery key: typed at the terminal without echo, or from a file
/// descriptor a script opened. Never from an argument or the environment (they show in `ps`,
/// shell history and crash reports).
public enum PaperKey {
  static let maxBytes = 1024

  /// From the file descriptor `fd` (read to a newline or its end), or, when nil, from the
  /// controlling terminal with echo off.
  public static func obtain(fd: Int32?) throws(RestoreError) -> RecoveryKey {
    let typed: SecureBytes?
    do {
      if let fd {
        typed = try SecretInput.line(from: fd)
      } else {
        typed = try SecretInput.terminalLine(prompt: "Recovery key (typing is not shown): ")
      }
    } catch .unreadable {
      throw RestoreError(
        .invalidRecoveryKey, "cannot read the recovery key from file descriptor \(fd ?? -1)",
        hint: "open it for the command, e.g. `--recovery-key-fd 3 3<file`")
    } catch {
      throw RestoreError(
        .invalidRecoveryKey, "there is no terminal to type the recovery key at",
        hint: "in a script, pass it on a file descriptor: `--recovery-key-fd 3 3<file`")
    }
    guard let typed else {
      throw RestoreError(.invalidRecoveryKey, "no recovery key was given")
    }
    // The parser takes a String, which cannot be wiped; it lives only for this call.
    let text = typed.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
    do { return try RecoveryKey(parsing: text) } catch {
      throw RestoreError(
        .invalidRecoveryKey, "the recovery key is not valid: \(error.message)",
        hint: "type it again from the paper; groups may be separated by spaces or dashes")
    }
  }
}
