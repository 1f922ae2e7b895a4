import Foundation
import Testing

/// `--help` and the main error messages, compared with the files in `Golden/`: what a
/// coordinator reads must not change by accident. `ANKER_UPDATE_GOLDEN=1` rewrites them
/// (review the diff before committing).
@Suite struct GoldenTests {
  static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("Golden").path

  static let helpPages: [[String]] = [
    [], ["init"], ["join"], ["unlock"], ["lock"], ["status"], ["sync"], ["case"], ["case", "new"],
    ["case", "list"], ["case", "show"], ["case", "set"], ["case", "resolve"], ["case", "shred"],
    ["client"], ["client", "new"], ["client", "identity"], ["note"], ["note", "add"],
    ["note", "amend"], ["note", "strike"], ["risk"], ["plan"], ["consent", "record"], ["export"],
    ["export", "case"], ["stats"], ["devices"], ["devices", "revoke"], ["devices", "veto"],
    ["invite"], ["invite", "new"], ["invite", "accept"], ["invite", "list"], ["invite", "cancel"],
    ["checkpoint"], ["passphrase"], ["panic"],
  ]

  @Test(arguments: helpPages) func helpPage(_ command: [String]) throws {
    let outcome = try run("anker", command + ["--help"], environment: ["COLUMNS": "100"])
    #expect(outcome.status == 0)
    try compare(outcome.stdout, with: "help-" + (["anker"] + command).joined(separator: "-"))
  }

  static let restoreHelpPages: [[String]] = [[], ["verify"], ["export"], ["rebuild"]]

  @Test(arguments: restoreHelpPages) func restoreHelpPage(_ command: [String]) throws {
    let outcome = try run("anker-restore", command + ["--help"], environment: ["COLUMNS": "100"])
    #expect(outcome.status == 0)
    try compare(
      outcome.stdout, with: "help-" + (["anker-restore"] + command).joined(separator: "-"))
  }

  /// The errors people meet most, with the hint that gets them going again.
  @Test func mainErrorMessages() throws {
    let scratch = Scratch()
    defer { scratch.cleanUp() }
    let journal = scratch.path + "/journal"
    var transcript = ""
    func record(_ title: String, _ arguments: [String], stdin: String = "") throws {
      let outcome = try run("anker", arguments, stdin: stdin)
      let stderr = outcome.stderr.replacingOccurrences(of: scratch.path, with: "<scratch>")
      transcript += "$ anker \(title)\nexit \(outcome.status)\n\(stderr)\n"
    }
    try record("status (no journal)", ["status", "--journal", journal])
    try record(
      "init",
      [
        "init", "--journal", journal, "--name", "A", "--passphrase-fd", "0",
        "--recovery-key-fd", "1",
      ], stdin: "first passphrase\n")
    try record("lock", ["lock", "--journal", journal])
    try record("status (locked)", ["status", "--journal", journal])
    try record(
      "unlock (wrong passphrase)", ["unlock", "--journal", journal, "--passphrase-fd", "0"],
      stdin: "not the passphrase\n")
    try record(
      "unlock", ["unlock", "--journal", journal, "--passphrase-fd", "0"],
      stdin: "first passphrase\n")
    try record("case show (unknown)", ["case", "show", "abcd1234", "--journal", journal])
    try record("case new (bad type)", ["case", "new", "--type", "picnic", "--journal", journal])
    try record("note add (empty)", ["note", "add", "abcd", "--journal", journal])
    try record("sync (no relay)", ["sync", "--journal", journal])
    try record(
      "join (not a code)",
      [
        "join", "--journal", scratch.path + "/new", "--relay", "http://127.0.0.1:1", "--code-fd",
        "0",
      ],
      stdin: "anker-device:1234\n")
    try record(
      "join (a typo)",
      [
        "join", "--journal", scratch.path + "/new", "--relay", "http://127.0.0.1:1", "--code-fd",
        "0",
      ],
      stdin: "anker-invite:AAAA-BBBB-CCCC\n")
    try record("frobnicate", ["frobnicate"])
    try record("lock", ["lock", "--journal", journal])
    try compare(transcript, with: "errors")
  }

  private func compare(_ text: String, with name: String) throws {
    let path = Self.folder + "/" + name + ".txt"
    if ProcessInfo.processInfo.environment["ANKER_UPDATE_GOLDEN"] == "1" {
      try FileManager.default.createDirectory(
        atPath: Self.folder, withIntermediateDirectories: true)
      try text.write(toFile: path, atomically: true, encoding: .utf8)
      return
    }
    let expected = try String(contentsOfFile: path, encoding: .utf8)
    #expect(text == expected, "\(name) differs from Golden/\(name).txt")
  }
}
