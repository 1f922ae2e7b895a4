import AnkerCrypto
import AnkerRestore
import AnkerTerminal

/// The new laptop's passphrase: from a file descriptor (scripts), else the terminal without
/// echo, twice when it is chosen. Read into secure memory, never an argument.
enum Passphrase {
  static func obtain(fd: Int32?, choosing: Bool) throws(RestoreError) -> SecureBytes {
    if let fd {
      return try read { () throws(SecretInput.Failure) in try SecretInput.line(from: fd) }
    }
    let first = try read { () throws(SecretInput.Failure) in
      try SecretInput.terminalLine(
        prompt: choosing ? "Choose a passphrase for this laptop: " : "This laptop's passphrase: ")
    }
    guard choosing else { return first }
    let second = try read { () throws(SecretInput.Failure) in
      try SecretInput.terminalLine(prompt: "Type it again: ")
    }
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

  private static func read(
    _ body: () throws(SecretInput.Failure) -> SecureBytes?
  ) throws(RestoreError) -> SecureBytes {
    let typed: SecureBytes?
    do { typed = try body() } catch .noTerminal {
      throw RestoreError(
        .rebuildFailed, "there is no terminal to type the passphrase at",
        hint: "in a script, pass it on a file descriptor: `--passphrase-fd 4 4<file`")
    } catch {
      throw RestoreError(
        .rebuildFailed, "the passphrase could not be read from its file descriptor",
        hint: "open it for the command, e.g. `--passphrase-fd 4 4<file`")
    }
    guard let typed else { throw RestoreError(.rebuildFailed, "no passphrase was given") }
    return typed
  }
}
