import Anker
import AnkerCrypto
import AnkerStore
import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Starts a built executable with `environment` added, writes `input` to its stdin and
/// closes it; returns the process and its stdout (stderr too, if merging).
func startChild(
  _ tool: String, _ arguments: [String], input: String, environment: [String: String] = [:],
  mergingStandardError: Bool = false
) throws -> (Process, Pipe) {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: executable(tool))
  process.arguments = arguments
  process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
  let stdin = Pipe()
  let stdout = Pipe()
  process.standardInput = stdin
  process.standardOutput = stdout
  if mergingStandardError { process.standardError = stdout }
  try process.run()
  stdin.fileHandleForWriting.write(Data(input.utf8))
  try stdin.fileHandleForWriting.close()
  return (process, stdout)
}

/// Runs a built executable with `environment` added, feeding `input` on stdin.
func run(
  _ tool: String, _ arguments: [String], input: String, environment: [String: String] = [:]
) throws -> (status: Int32, output: String) {
  let (process, stdout) = try startChild(
    tool, arguments, input: input, environment: environment, mergingStandardError: true)
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
      let (process, stdout) = try startChild(
        "anker-test-child", ["append-loop", path], input: "crash\n")
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

  /// A laptop joining a journal of 4,000 entries (stored in one large first write, under a
  /// rollback journal) is killed with SIGKILL at random moments, 12 times, each time from
  /// the same prepared laptop: afterwards its store passes SQLite's integrity check and is
  /// back in write-ahead logging, and the laptop is either not a member yet or holds the
  /// whole journal; a join that said it was done is done.
  @Test func aJoinKilledAtAnyMomentLeavesTheLaptopWholeOrUnjoined() throws {
    let directory = TemporaryDirectory()
    defer { directory.cleanUp() }
    let (admin, _) = try Journal.create(
      at: directory.path + "/admin", passphrase: passphrase("a"), name: "Admin",
      options: testOptions)
    let caseID = try admin.createCase(type: .outreach)
    let prepared = directory.path + "/prepared"
    do {
      let (laptop, request) = try Journal.prepareDevice(
        at: prepared, passphrase: passphrase("join"), options: testOptions)
      try admin.addDevice(request, role: .worker, name: "Worker")
      laptop.lock()
    }
    for index in 0..<4_000 {
      try admin.addNote(.outreachContact, text: "contact \(index)", in: caseID)
    }
    let logFile = directory.path + "/log"
    try Data(try admin.exportLog()).write(to: URL(fileURLWithPath: logFile))
    let genesis = try admin.identity.genesis
    let expected = try admin.openCase(caseID).notes.count
    let input = ["join", genesis.hex, logFile].joined(separator: "\n") + "\n"
    let path = directory.path + "/laptop"
    let fresh = {
      try? FileManager.default.removeItem(atPath: path)
      try FileManager.default.copyItem(atPath: prepared, toPath: path)
    }
    let said = { (output: String) in output.split(separator: "\n").contains("joined") }

    // How long an uninterrupted child takes here: the kills are spread over it.
    try fresh()
    let started = Date()
    let whole = try run("anker-test-child", ["join", path], input: input)
    let span = Date().timeIntervalSince(started)
    #expect(whole.status == 0 && said(whole.output))

    var random = SystemRandom()
    var outcomes = (killed: 0, member: 0, unjoined: 0)
    for _ in 0..<12 {
      try fresh()
      let (process, stdout) = try startChild("anker-test-child", ["join", path], input: input)
      usleep(UInt32(span * Double(random.bytes(1)[0]) / 255 * 1_000_000))
      kill(process.processIdentifier, SIGKILL)
      process.waitUntilExit()
      let output = String(
        decoding: stdout.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
      if process.terminationReason == .uncaughtSignal { outcomes.killed += 1 }

      do {
        let store = try Store.open(at: path)
        try store.checkIntegrity()
      }
      // The database header's read and write versions (bytes 18 and 19) are 2 in WAL mode.
      let header = Array(readFile(path + "/journal.sqlite").prefix(20))
      #expect(header.count == 20 && header[18] == 2 && header[19] == 2)
      let laptop = try Journal.open(at: path, options: testOptions)
      try laptop.unlock(passphrase: passphrase("join"))
      if (try? laptop.identity) != nil {
        outcomes.member += 1
        let complete = try laptop.openCase(caseID).notes.count == expected
        #expect(complete, "a killed join left part of the journal")
      } else {
        outcomes.unjoined += 1
        #expect(!said(output), "a join that said it was done is undone")
        // Not a member: the next join takes the journal whole.
        try laptop.join(log: try admin.exportLog(), genesis: genesis)
        #expect(try laptop.openCase(caseID).notes.count == expected)
      }
      laptop.lock()
    }
    #expect(outcomes.killed >= 6)
    #expect(outcomes.member + outcomes.unjoined == 12)
  }
}
