import Anker
import AnkerCrypto
import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// A real `anker-relay` process on a loopback port, with its own data directory.
final class RelayProcess {
  let directory: String
  private(set) var process: Process?
  private(set) var port = 0
  var extraArguments: [String]

  var url: String { "http://127.0.0.1:\(port)" }

  init(directory: String, arguments: [String] = []) throws {
    self.directory = directory
    self.extraArguments = arguments
    try start()
  }

  deinit { stop() }

  /// Starts the relay (again) on the same data directory; the port may change unless given.
  func start(port fixed: Int? = nil) throws {
    let portFile = directory + "/port-\(UUID().uuidString)"
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable("anker-relay"))
    process.arguments =
      [
        "serve", "--port", String(fixed ?? port), "--data", directory + "/data", "--port-file",
        portFile, "--log-level", "warning",
      ] + extraArguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    self.process = process
    port = try waitForPort(in: portFile, of: process, seconds: 30)
  }

  /// SIGKILL: no graceful shutdown, no flush beyond what was committed.
  func kill() {
    guard let process, process.isRunning else { return }
    Glibc.kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
  }

  func stop() {
    guard let process, process.isRunning else { return }
    process.terminate()
    process.waitUntilExit()
  }

  /// Runs `anker-relay` with other arguments (backup, restore) and returns its exit status.
  static func tool(_ arguments: [String]) throws -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable("anker-relay"))
    process.arguments = arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    return process.terminationStatus
  }
}

enum RelayProcessError: Error { case didNotStart }

/// The port a child process wrote to `file` once listening; removes the file.
func waitForPort(in file: String, of process: Process, seconds: Double) throws -> Int {
  let deadline = Date().addingTimeInterval(seconds)
  while Date() < deadline {
    if let text = try? String(contentsOfFile: file, encoding: .utf8),
      let bound = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)), bound > 0
    {
      try? FileManager.default.removeItem(atPath: file)
      return bound
    }
    guard process.isRunning else { break }
    usleep(20_000)
  }
  throw RelayProcessError.didNotStart
}

/// `Tools/fault-proxy.py` in front of a relay: drops, delays, duplicates, reorders, truncates
/// and flips bytes, seeded.
final class FaultProxy {
  let process = Process()
  private(set) var port = 0
  var url: String { "http://127.0.0.1:\(port)" }

  init(upstream: Int, port fixed: Int = 0, seed: UInt64, faults: String, rate: Double) throws {
    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("Tools/fault-proxy.py").path
    let portFile = NSTemporaryDirectory() + "anker-proxy-\(UUID().uuidString)"
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [
      "python3", script, "--upstream", "127.0.0.1:\(upstream)", "--listen-port", String(fixed),
      "--port-file", portFile, "--seed", String(seed), "--faults", faults, "--rate",
      String(rate), "--close-connections",
    ]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    port = try waitForPort(in: portFile, of: process, seconds: 20)
  }

  deinit { stop() }

  /// SIGKILL: the proxy holds nothing worth a graceful stop (and a child may inherit a
  /// blocked SIGTERM from the test process).
  func stop() {
    guard process.isRunning else { return }
    Glibc.kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
  }
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

/// A fresh private directory for one test, removed by `cleanUp`.
struct TemporaryDirectory {
  let path: String

  init() {
    path = NSTemporaryDirectory() + "anker-sync-test-" + UUID().uuidString
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  }

  func cleanUp() { try? FileManager.default.removeItem(atPath: path) }
}

func passphrase(_ text: String) -> SecureBytes { SecureBytes(copying: Array(text.utf8)) }

let testOptions = Journal.Options(passphraseCost: .testingOnly, idleTimeoutSeconds: nil)

/// An admin laptop and `workers` more, all joined through the relay.
/// A relay process on loopback and a team (an admin, then `workers` workers, all joined
/// through it) in a fresh temporary directory. `stop()` ends the relay, then removes the
/// directory.
struct RelayTeam {
  let directory: TemporaryDirectory
  let relay: RelayProcess
  let team: [Journal]

  static func start(workers: Int, relayArguments: [String] = []) async throws -> RelayTeam {
    let directory = TemporaryDirectory()
    do {
      let relay = try RelayProcess(directory: directory.path, arguments: relayArguments)
      let team = try await makeTeam(in: directory.path, relay: relay.url, workers: workers)
      return RelayTeam(directory: directory, relay: relay, team: team)
    } catch {
      directory.cleanUp()
      throw error
    }
  }

  func stop() {
    relay.stop()
    directory.cleanUp()
  }
}

func makeTeam(in directory: String, relay: String, workers: Int) async throws -> [Journal] {
  let (admin, _) = try Journal.create(
    at: directory + "/admin", passphrase: passphrase("admin pass"), name: "Admin",
    options: testOptions)
  var team = [admin]
  var requests = [(Journal, DeviceRequest)]()
  for index in 0..<workers {
    let (worker, request) = try Journal.prepareDevice(
      at: directory + "/worker\(index)", passphrase: passphrase("worker pass"),
      options: testOptions)
    try admin.addDevice(request, role: .worker, name: "Worker \(index)")
    requests.append((worker, request))
  }
  _ = try await admin.sync(relay: relay)
  let identity = try admin.identity
  for (worker, _) in requests {
    try await worker.join(relay: relay, journal: identity.journal, genesis: identity.genesis)
    team.append(worker)
  }
  return team
}
