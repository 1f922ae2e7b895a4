import Anker
import AnkerCrypto
import AnkerLog
import AnkerModel
import AnkerStore
import AnkerSync
import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// A fresh private directory for one test, removed by `cleanUp`.
struct TemporaryDirectory {
  let path: String

  init() {
    path = NSTemporaryDirectory() + "anker-restore-test-" + UUID().uuidString
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  }

  func cleanUp() { try? FileManager.default.removeItem(atPath: path) }
}

/// The built executables sit beside the test bundle.
func executable(_ name: String) -> String {
  let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
  var candidate = bundle.appendingPathComponent(name).path
  if !FileManager.default.fileExists(atPath: candidate) {
    candidate = Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent(name).path
  }
  return candidate
}

enum ChildError: Error { case didNotStart, timedOut }

/// What a child process did: its exit status and what it wrote (reports hold no content).
struct Outcome {
  var status: Int32
  var stdout: String
  var stderr: String
}

/// Runs a built executable with `input` on its standard input, killed after `seconds`.
func run(
  _ name: String, _ arguments: [String], input: String = "", seconds: Double = 120
) throws -> Outcome {
  let scratch = TemporaryDirectory()
  defer { scratch.cleanUp() }
  let out = scratch.path + "/out"
  let err = scratch.path + "/err"
  #expect(FileManager.default.createFile(atPath: out, contents: nil))
  #expect(FileManager.default.createFile(atPath: err, contents: nil))
  let process = Process()
  process.executableURL = URL(fileURLWithPath: executable(name))
  process.arguments = arguments
  let stdin = Pipe()
  process.standardInput = stdin
  process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
  process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: err))
  try process.run()
  stdin.fileHandleForWriting.write(Data(input.utf8))
  try stdin.fileHandleForWriting.close()
  let deadline = Date().addingTimeInterval(seconds)
  while process.isRunning && Date() < deadline { usleep(20_000) }
  if process.isRunning {
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
    throw ChildError.timedOut
  }
  process.waitUntilExit()
  return Outcome(
    status: process.terminationStatus,
    stdout: (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
    stderr: (try? String(contentsOfFile: err, encoding: .utf8)) ?? "")
}

/// A real `anker-relay` process on a loopback port, with its own data directory.
final class RelayProcess {
  let directory: String
  let process = Process()
  private(set) var port = 0

  var url: String { "http://127.0.0.1:\(port)" }
  var data: String { directory + "/data" }

  init(directory: String) throws {
    self.directory = directory
    let portFile = directory + "/port-\(UUID().uuidString)"
    process.executableURL = URL(fileURLWithPath: executable("anker-relay"))
    process.arguments = [
      "serve", "--port", "0", "--data", directory + "/data", "--port-file", portFile,
      "--log-level", "warning",
    ]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    let deadline = Date().addingTimeInterval(30)
    while Date() < deadline {
      if let text = try? String(contentsOfFile: portFile, encoding: .utf8),
        let bound = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)), bound > 0
      {
        port = bound
        return
      }
      guard process.isRunning else { break }
      usleep(20_000)
    }
    stop()
    throw ChildError.didNotStart
  }

  deinit { stop() }

  func stop() {
    guard process.isRunning else { return }
    process.terminate()
    process.waitUntilExit()
  }
}

func passphrase(_ text: String) -> SecureBytes { SecureBytes(copying: Array(text.utf8)) }

let testOptions = Journal.Options(passphraseCost: .testingOnly, idleTimeoutSeconds: nil)

/// A journal written through the library by an admin and a worker against a real relay:
/// three cases with notes (one closed), one more case shredded, all synced, then backed up.
/// It keeps what was written so a test can compare an export with it, never printing it.
final class WrittenJournal {
  let directory = TemporaryDirectory()
  let relay: RelayProcess
  let admin: Journal
  let worker: Journal
  let recovery: RecoveryKey
  let journal: JournalID
  /// Case → the texts of its notes.
  private(set) var notes: [CaseID: Set<String>] = [:]
  private(set) var closed: Set<CaseID> = []
  private(set) var shredded: CaseID?

  init() async throws {
    relay = try RelayProcess(directory: directory.path)
    let created = try Journal.create(
      at: directory.path + "/admin", passphrase: passphrase("admin pass"), name: "Admin",
      options: testOptions)
    admin = created.journal
    recovery = created.recoveryKey
    let (worker, request) = try Journal.prepareDevice(
      at: directory.path + "/worker", passphrase: passphrase("worker pass"), options: testOptions)
    try admin.addDevice(request, role: .worker, name: "Worker")
    _ = try await admin.sync(relay: relay.url)
    let identity = try admin.identity
    try await worker.join(relay: relay.url, journal: identity.journal, genesis: identity.genesis)
    self.worker = worker
    journal = identity.journal

    for index in 0..<3 {
      let client = try worker.createClient(
        alias: "Client \(index)", code: "C-\(index)", languages: ["sv"])
      let caseID = try worker.createCase(type: .outreach, client: client)
      for note in 0..<(index + 2) {
        let text = "note \(note) of case \(index): met, talked, referred"
        _ = try worker.addNote(.supportTalk, text: text, in: caseID)
        notes[caseID, default: []].insert(text)
      }
      if index == 2 {
        try worker.closeCase(caseID)
        closed.insert(caseID)
      }
    }
    let doomed = try worker.createCase(
      type: .outreach,
      client: try worker.createClient(alias: "Shredded", code: "S-1", languages: ["no"]))
    _ = try worker.addNote(.phoneCall, text: "a note that is shredded", in: doomed)
    #expect(try await worker.sync(relay: relay.url).isClean)
    #expect(try await admin.sync(relay: relay.url).isClean)
    try admin.shred(doomed)
    shredded = doomed
    #expect(try await admin.sync(relay: relay.url).isClean)
    #expect(try await worker.sync(relay: relay.url).isClean)
    #expect(try admin.state.digest == worker.state.digest)
  }

  deinit {
    relay.stop()
    directory.cleanUp()
  }

  /// `anker-relay backup` of the running relay into a new file.
  func backup(_ name: String = "backup.sqlite") throws -> String {
    let path = directory.path + "/" + name
    let outcome = try run("anker-relay", ["backup", "--data", relay.data, "--to", path])
    #expect(outcome.status == 0, "anker-relay backup failed: \(outcome.stderr)")
    return path
  }

  /// A copy of `path` for a test to damage.
  func copy(_ path: String, to name: String) throws -> String {
    let target = directory.path + "/" + name
    try FileManager.default.copyItem(atPath: path, toPath: target)
    return target
  }

  /// `anker-restore` with the paper key on standard input (`--recovery-key-fd 0`).
  func restore(_ arguments: [String], key: RecoveryKey? = nil) throws -> Outcome {
    try run(
      "anker-restore", arguments + ["--recovery-key-fd", "0"],
      input: (key ?? recovery).paperText + "\n")
  }
}

/// The stored rows of one journal in a relay backup: sequence, id and entry.
func rows(of path: String) throws -> [(sequence: Int64, id: [UInt8], entry: Entry)] {
  let db = try SQLiteDatabase(path: path, create: false)
  defer { db.close() }
  let query = try db.statement("SELECT seq, id, data FROM entry ORDER BY seq")
  defer { query.reset() }
  var out = [(sequence: Int64, id: [UInt8], entry: Entry)]()
  while try query.step() {
    out.append((query.int(0), query.blob(1), try Entry(decoding: query.blob(2))))
  }
  return out
}

/// Runs `sql` with one bound blob on a backup copy.
func alter(_ path: String, _ sql: String, _ blob: [UInt8]? = nil, _ value: Int64? = nil) throws {
  let db = try SQLiteDatabase(path: path, create: false)
  defer { db.close() }
  let statement = try db.statement(sql)
  if let blob { statement.bind(1, blob) }
  if let value { statement.bind(blob == nil ? 1 : 2, value) }
  try statement.run()
  statement.reset()
}
