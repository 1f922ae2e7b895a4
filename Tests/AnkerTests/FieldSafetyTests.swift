import Anker
import AnkerCrypto
import AnkerStore
import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Runs a built executable with `environment` added, feeding `input` on stdin.
func run(
  _ tool: String, _ arguments: [String], input: String, environment: [String: String] = [:]
) throws -> (status: Int32, output: String) {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: executable(tool))
  process.arguments = arguments
  process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
  let stdin = Pipe()
  let stdout = Pipe()
  process.standardInput = stdin
  process.standardOutput = stdout
  process.standardError = stdout
  try process.run()
  stdin.fileHandleForWriting.write(Data(input.utf8))
  try stdin.fileHandleForWriting.close()
  let output = stdout.fileHandleForReading.readDataToEndOfFile()
  process.waitUntilExit()
  return (process.terminationStatus, String(decoding: output, as: UTF8.self))
}

@Suite struct FieldSafetyTests {
  /// Notes, aliases, names, an identity field and a safety plan with distinctive strings are
  /// written, searched, exported and read in a child process whose $HOME and $TMPDIR are
  /// fresh directories; afterwards none of the strings is in any file of the store, $HOME or
  /// $TMPDIR (DESIGN rule 9).
  @Test func noPlaintextAtRest() throws {
    let root = TemporaryDirectory()
    defer { root.cleanUp() }
    let home = root.path + "/home"
    let temporary = root.path + "/tmp"
    for directory in [home, temporary] {
      try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }
    let store = home + "/.local/share/anker/journal"
    var random = SystemRandom()
    let marker = { (label: String) in label + Hex.encode(random.bytes(8)) }
    let secrets = [
      marker("PersonName"), marker("ClientAlias"), marker("NoteText"), marker("LegalName"),
      marker("SafetyPlan"), marker("Amendment"),
    ]
    let passphrase = marker("Passphrase")
    let result = try run(
      "anker-test-child", ["scenario", store],
      input: ([passphrase] + secrets).joined(separator: "\n") + "\n",
      environment: ["HOME": home, "TMPDIR": temporary])
    #expect(result.status == 0)
    #expect(result.output.hasPrefix("ok"))
    let scanned = files(under: home) + files(under: temporary)
    #expect(scanned.count >= 3)  // keys, journal.sqlite, lock at least
    for needle in secrets + [passphrase] {
      for variant in [needle, needle.lowercased(), needle.uppercased()] {
        let found = scanned.contains { contains(readFile($0), Array(variant.utf8)) }
        #expect(!found, "a planted string was found at rest")
      }
      // UTF-16 too (what some platforms' string APIs write).
      let utf16 = Array(needle.utf16).flatMap { [UInt8($0 & 0xff), UInt8($0 >> 8)] }
      let found = scanned.contains { contains(readFile($0), utf16) }
      #expect(!found, "a planted string was found at rest (UTF-16)")
    }
  }

  /// A child appends notes in a loop and is killed with SIGKILL at random moments, 60
  /// times; every append that returned (its id printed) is there afterwards, SQLite's
  /// integrity check passes and the journal unlocks.
  @Test func appendsSurviveSIGKILL() throws {
    let directory = TemporaryDirectory()
    defer { directory.cleanUp() }
    let path = directory.path + "/j"
    do {
      let (journal, _) = try Journal.create(
        at: path, passphrase: passphrase("crash"), name: "A", options: testOptions)
      try journal.createCase(type: .outreach)
      journal.lock()
    }
    var returned = Set<String>()
    var random = SystemRandom()
    var kills = 0
    for _ in 0..<60 {
      let process = Process()
      process.executableURL = URL(fileURLWithPath: executable("anker-test-child"))
      process.arguments = ["append-loop", path]
      let stdin = Pipe()
      let stdout = Pipe()
      process.standardInput = stdin
      process.standardOutput = stdout
      try process.run()
      stdin.fileHandleForWriting.write(Data("crash\n".utf8))
      try stdin.fileHandleForWriting.close()
      // Wait for the first append, then kill at a random moment 0–60 ms later.
      let reader = stdout.fileHandleForReading
      var buffer = Data()
      while !buffer.contains(UInt8(ascii: "\n")) {
        let chunk = reader.availableData
        if chunk.isEmpty { break }
        buffer += chunk
      }
      usleep(UInt32(random.bytes(1)[0]) * 240)
      kill(process.processIdentifier, SIGKILL)
      process.waitUntilExit()
      #expect(process.terminationReason == .uncaughtSignal)
      kills += 1
      buffer += reader.readDataToEndOfFile()
      // Only complete lines: a line is written after its append returned.
      let text = String(decoding: buffer, as: UTF8.self)
      var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
      lines.removeLast()  // the part after the last newline (empty, or cut by the kill)
      returned.formUnion(lines.map(String.init))
    }
    #expect(kills >= 50)
    #expect(returned.count >= kills)
    do {
      let store = try Store.open(at: path)
      try store.checkIntegrity()
    }
    let journal = try Journal.open(at: path, options: testOptions)
    try journal.unlock(passphrase: passphrase("crash"))
    let state = try journal.state
    let notes = Set(state.cases.values.flatMap { $0.notes.keys.map(\.hex) })
    let missing = returned.subtracting(notes)
    #expect(missing.isEmpty, "\(missing.count) appends that returned are missing")
    #expect(state.faults.isEmpty)
  }
}
