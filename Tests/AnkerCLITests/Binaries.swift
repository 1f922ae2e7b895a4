import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// The built executables sit beside the test bundle.
func binary(_ name: String) -> String {
  let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
  var candidate = bundle.appendingPathComponent(name).path
  if !FileManager.default.fileExists(atPath: candidate) {
    candidate = Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent(name).path
  }
  return candidate
}

struct Outcome {
  var status: Int32
  var stdout: String
  var stderr: String
}

/// Runs a built binary with `stdin`, bounded in time (a hang fails the test, it never
/// blocks the suite). The environment holds what the tests need and nothing of the caller's
/// journal.
func run(
  _ name: String, _ arguments: [String], stdin: String = "",
  environment extra: [String: String] = [:],
  seconds: Double = 60
) throws -> Outcome {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: binary(name))
  process.arguments = arguments
  var environment = [
    "PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory(), "LANG": "C.UTF-8",
    // Argon2id at its smallest cost: the tests unlock dozens of times. Never for real use.
    "ANKER_TESTING_ONLY_WEAK_PASSPHRASE_COST": "1",
  ]
  environment.merge(extra) { _, new in new }
  process.environment = environment
  let input = Pipe()
  let output = Pipe()
  let errors = Pipe()
  process.standardInput = input
  process.standardOutput = output
  process.standardError = errors
  try process.run()
  input.fileHandleForWriting.write(Data(stdin.utf8))
  try input.fileHandleForWriting.close()
  // Read both pipes while the process runs (a full pipe would block it).
  nonisolated(unsafe) var outData = Data()
  nonisolated(unsafe) var errData = Data()
  let group = DispatchGroup()
  group.enter()
  DispatchQueue.global().async {
    outData = output.fileHandleForReading.readDataToEndOfFile()
    group.leave()
  }
  group.enter()
  DispatchQueue.global().async {
    errData = errors.fileHandleForReading.readDataToEndOfFile()
    group.leave()
  }
  let deadline = Date().addingTimeInterval(seconds)
  while process.isRunning && Date() < deadline { usleep(10_000) }
  if process.isRunning {
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
    throw TimedOut(command: ([name] + arguments.prefix(1)).joined(separator: " "))
  }
  process.waitUntilExit()
  group.wait()
  return Outcome(
    status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
    stderr: String(decoding: errData, as: UTF8.self))
}

struct TimedOut: Error, CustomStringConvertible {
  var command: String
  var description: String { "\(command) did not finish in time" }
}

/// A real `anker-relay` on loopback; `stop` and `start` keep its data and its port.
final class Relay {
  let directory: String
  private var process: Process?
  private(set) var port = 0
  var url: String { "http://127.0.0.1:\(port)" }
  /// Added to the relay's environment at the next `start` (e.g. a test-only clock offset).
  var environment: [String: String] = [:]

  init(directory: String) throws {
    self.directory = directory
    try start()
  }

  deinit { stop() }

  func start() throws {
    let portFile = directory + "/port-\(UUID().uuidString)"
    let process = Process()
    process.executableURL = URL(fileURLWithPath: binary("anker-relay"))
    process.arguments = [
      "serve", "--port", String(port), "--data", directory + "/relay-data", "--port-file",
      portFile, "--log-level", "warning",
    ]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    if !environment.isEmpty {
      process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    }
    try process.run()
    self.process = process
    let deadline = Date().addingTimeInterval(30)
    while Date() < deadline {
      if let text = try? String(contentsOfFile: portFile, encoding: .utf8),
        let bound = Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
      {
        port = bound
        return
      }
      guard process.isRunning else { break }
      usleep(20_000)
    }
    throw TimedOut(command: "anker-relay serve")
  }

  func stop() {
    guard let process, process.isRunning else { return }
    process.terminate()
    process.waitUntilExit()
  }
}

/// One laptop: its journal folder, driven through the built `anker`.
struct Laptop {
  let directory: String
  let passphrase: String
  /// Added to every command's environment (e.g. a test-only clock offset).
  var environment: [String: String] = [:]

  /// Runs `anker` on this laptop's journal; a failure records the command and its stderr
  /// (which never carries content: the CLI prints none there).
  @discardableResult
  func anker(
    _ arguments: [String], stdin: String? = nil, expect: Int32 = 0,
    sourceLocation: SourceLocation = #_sourceLocation
  ) throws -> Outcome {
    let outcome = try run(
      "anker", arguments + ["--journal", directory], stdin: stdin ?? passphrase + "\n",
      environment: environment)
    #expect(
      outcome.status == expect,
      "anker \(arguments.first ?? "") exited \(outcome.status): \(outcome.stderr)",
      sourceLocation: sourceLocation)
    return outcome
  }

  /// `anker lock` at the end of a test, so no key agent outlives it.
  func lock() { _ = try? run("anker", ["lock", "--journal", directory]) }
}

/// A fresh private directory for one test (short, so the key agent's socket path fits).
struct Scratch {
  let path: String

  init() {
    var template = Array("/tmp/anker-e2e-XXXXXX".utf8CString)
    path = String(cString: mkdtemp(&template)!)
  }

  func cleanUp() { try? FileManager.default.removeItem(atPath: path) }
}

/// The value after `label` on the line that starts with it.
func value(after label: String, in text: String) -> String? {
  text.split(separator: "\n").first { $0.hasPrefix(label) }.map {
    $0.dropFirst(label.count).trimmingCharacters(in: .whitespaces)
  }
}

/// What the screens showed while a laptop joined with an invite.
struct Enrolment {
  var code: String
  /// The inviting admin's fingerprint: on the admin's screen, and on the new laptop's.
  var adminShown: String?
  var adminOnLaptop: String?
  /// The new laptop's fingerprint: on its screen, and at `anker invite accept`.
  var laptopShown: String?
  var accepted: String
  var joined: String
}

/// Brings `laptop` into the journal the way people do: `anker invite` on the admin's laptop,
/// `anker join` with the code on the new one, `anker invite accept`, `anker join` again.
@discardableResult
func enrol(
  _ laptop: Laptop, by admin: Laptop, relay: String, name: String,
  sourceLocation: SourceLocation = #_sourceLocation
) throws -> Enrolment {
  let invited = try admin.anker(["invite", "--name", name], sourceLocation: sourceLocation)
  let code = try #require(
    invited.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
      .first { $0.hasPrefix("anker-invite:") }, sourceLocation: sourceLocation)
  let sent = try laptop.anker(
    ["join", "--relay", relay, "--code-fd", "0", "--passphrase-fd", "0", "--wait", "0"],
    stdin: code + "\n" + laptop.passphrase + "\n", sourceLocation: sourceLocation)
  let accepted = try admin.anker(
    ["invite", "accept", "--yes", "--wait", "10"], sourceLocation: sourceLocation)
  let joined = try laptop.anker(["join", "--wait", "20"], sourceLocation: sourceLocation)
  return Enrolment(
    code: code,
    adminShown: value(after: "Your fingerprint:", in: invited.stdout)?.split(separator: " ")
      .first.map(String.init),
    adminOnLaptop: value(after: "Admin's fingerprint:", in: sent.stdout),
    laptopShown: value(after: "This laptop's fingerprint:", in: sent.stdout),
    accepted: accepted.stdout, joined: joined.stdout)
}
