import AnkerRelay
import ArgumentParser
import Foundation
import Logging

/// `anker-relay`: stores and forwards a journal's ciphertext.
@main
struct AnkerRelayCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "anker-relay",
    abstract: "Store and forward Anker journals' ciphertext.",
    discussion: """
      The relay never sees content: it keeps signed, encrypted entries and hands them to the
      journal's devices. Every option can also be set by the environment variable named in
      its help.
      """,
    subcommands: [Serve.self, Backup.self, Restore.self])
}

private func environment(_ name: String) -> String? {
  ProcessInfo.processInfo.environment[name].flatMap { $0.isEmpty ? nil : $0 }
}

struct Serve: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Run the relay until SIGTERM or SIGINT (requests in flight finish first).")

  @Option(help: "Address to listen on (ANKER_RELAY_HOST). Without TLS: loopback only.")
  var host: String = environment("ANKER_RELAY_HOST") ?? "127.0.0.1"

  @Option(help: "Port; 0 picks a free one (ANKER_RELAY_PORT).")
  var port: Int = environment("ANKER_RELAY_PORT").flatMap(Int.init) ?? 8787

  @Option(name: .customLong("data"), help: "Data directory (ANKER_RELAY_DATA).")
  var data: String = environment("ANKER_RELAY_DATA") ?? "./relay-data"

  @Option(help: "trace, debug, info, notice, warning, error or critical (ANKER_RELAY_LOG_LEVEL).")
  var logLevel: String = environment("ANKER_RELAY_LOG_LEVEL") ?? "info"

  @Option(help: "PEM certificate chain for TLS (ANKER_RELAY_TLS_CERT).")
  var tlsCertificate: String?

  @Option(help: "PEM private key for TLS (ANKER_RELAY_TLS_KEY).")
  var tlsKey: String?

  @Option(help: "Bytes one journal may hold; none by default (ANKER_RELAY_QUOTA).")
  var quota: Int64?

  @Option(
    help: """
      A file of the journal ids this relay may take, one per line (# starts a comment); it \
      is read again for every new journal. Without it any journal may be created \
      (ANKER_RELAY_JOURNALS).
      """)
  var journals: String?

  @Option(help: "Largest request body in bytes (ANKER_RELAY_MAX_REQUEST).")
  var maxRequest: Int = environment("ANKER_RELAY_MAX_REQUEST").flatMap(Int.init) ?? 8 << 20

  @Option(
    help: """
      The origin devices use to reach the relay, e.g. https://relay.example.org, when it \
      differs from scheme://host:port (behind a proxy) (ANKER_RELAY_ORIGIN).
      """)
  var origin: String?

  @Option(help: "Write the port actually bound to this file once listening.")
  var portFile: String?

  func run() async throws {
    guard let level = Logger.Level(rawValue: logLevel) else {
      throw ValidationError("unknown log level \(logLevel)")
    }
    var configuration = RelayServer.Configuration(dataDirectory: data)
    configuration.host = host
    configuration.port = port
    configuration.logLevel = level
    let tlsCertificate = self.tlsCertificate ?? environment("ANKER_RELAY_TLS_CERT")
    configuration.tlsCertificatePath = tlsCertificate
    configuration.tlsKeyPath = tlsKey ?? environment("ANKER_RELAY_TLS_KEY")
    configuration.journalQuota = quota ?? environment("ANKER_RELAY_QUOTA").flatMap(Int64.init)
    configuration.maxRequestBytes = maxRequest
    configuration.allowedJournalsPath = journals ?? environment("ANKER_RELAY_JOURNALS")
    configuration.publicOrigin = origin ?? environment("ANKER_RELAY_ORIGIN")
    if let offset = try testingClockOffset() {
      configuration.clock = {
        UInt64(max(0, Int64(Date().timeIntervalSince1970 * 1000) + offset))
      }
    }
    let server: RelayServer
    do { server = try RelayServer(configuration: configuration) } catch {
      throw ValidationError(error.message)
    }
    let portFile = self.portFile
    let scheme = tlsCertificate == nil ? "http" : "https"
    let host = self.host
    try await server.run { port in
      FileHandle.standardOutput.write(
        Data("anker-relay: listening on \(scheme)://\(host):\(port)\n".utf8))
      if let portFile {
        try? String(port).write(toFile: portFile, atomically: true, encoding: .utf8)
      }
    }
  }
}

/// ANKER_TESTING_ONLY_CLOCK_OFFSET_SECONDS shifts the relay's clock (ms), so end-to-end tests
/// can pass a recovery time lock (at least an hour) without waiting. Never on a real relay: it
/// shortens every time lock by as much (README, SECURITY.md). Warned about on stderr.
private func testingClockOffset() throws -> Int64? {
  guard let text = environment("ANKER_TESTING_ONLY_CLOCK_OFFSET_SECONDS") else { return nil }
  guard let seconds = Int64(text), abs(seconds) < 10 * 365 * 86_400 else {
    throw ValidationError("ANKER_TESTING_ONLY_CLOCK_OFFSET_SECONDS is not a number of seconds")
  }
  FileHandle.standardError.write(
    Data(
      ("anker-relay: WARNING: ANKER_TESTING_ONLY_CLOCK_OFFSET_SECONDS shifts the relay's clock "
        + "by \(seconds) s: for tests only, never on a real relay\n").utf8))
  return seconds * 1000
}

struct Backup: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Copy the relay store consistently while the relay runs (ciphertext only).")

  @Option(name: .customLong("data"), help: "Data directory (ANKER_RELAY_DATA).")
  var data: String = environment("ANKER_RELAY_DATA") ?? "./relay-data"

  @Option(help: "The backup file to write (must not exist).")
  var to: String

  func run() throws {
    do { try RelayBackup.backup(directory: data, to: to) } catch {
      throw ValidationError(error.message)
    }
    print("anker-relay: backup written to \(to)")
  }
}

struct Restore: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Put a backup into a fresh data directory; devices repair what it lacks.")

  @Option(help: "The backup file.")
  var from: String

  @Option(name: .customLong("data"), help: "A data directory without a relay store.")
  var data: String

  func run() throws {
    do { try RelayBackup.restore(from: from, directory: data) } catch {
      throw ValidationError(error.message)
    }
    print(
      "anker-relay: restored into \(data); devices re-send what the backup lacks at their next sync"
    )
  }
}
