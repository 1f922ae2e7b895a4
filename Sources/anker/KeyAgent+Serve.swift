import AnkerCrypto

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The agent process itself (`anker agent`).
extension KeyAgent {
  /// The agent's main loop (the hidden `anker agent` subcommand): reads exactly 96 bytes from
  /// stdin into `SecureBytes`, then serves the socket until `Q`, the idle timeout (no `G` for
  /// that long) or SIGTERM/SIGINT/SIGHUP; then zeroes the secrets, removes the socket and exits
  /// 0. Exits with a nonzero `AgentExit` status when it cannot start.
  static func serve(directory: String, idleTimeoutSeconds: Int) -> Never {
    guard hardenProcess() else { exit(AgentExit.notHardened.rawValue) }
    let quitSignal = installQuitSignals()
    var secrets: SecureBytes? = SecureBytes(count: secretCount)
    let received = secrets!.withUnsafeMutableBytes {
      readExactly(0, $0, until: Deadline(in: stdinTimeout), cancel: quitSignal)
    }
    let devNull = open("/dev/null", O_RDWR)
    if devNull > 0 {  // the secrets channel is not kept open
      _ = dup2(devNull, 0)
      close(devNull)
    }
    guard received else { finish(&secrets, exit: .noSecrets) }

    let path = socketPath(for: directory)
    guard let address = SocketAddress(path: path) else { finish(&secrets, exit: .pathTooLong) }
    var existing = stat()
    if lstat(path, &existing) == 0 {
      guard existing.st_mode & S_IFMT == S_IFSOCK else { finish(&secrets, exit: .notASocket) }
      _ = unlink(path)  // a stale socket: `start` stopped any live agent first
    }
    let listener = socket(AF_UNIX, streamSocketType, 0)
    guard listener >= 0 else { finish(&secrets, exit: .socketFailed) }
    let oldMask = umask(0o177)  // the socket is born 0600
    let bound = address.withSockaddr { bind(listener, $0, $1) } == 0
    _ = umask(oldMask)
    var own = stat()
    guard bound, chmod(path, 0o600) == 0, listen(listener, 16) == 0, lstat(path, &own) == 0,
      fcntl(listener, F_SETFL, O_NONBLOCK) == 0
    else { finish(&secrets, exit: .socketFailed) }
    // Only this agent's own socket file is ever removed: a newer agent may have replaced it.
    let removeSocket = {
      var now = stat()
      if lstat(path, &now) == 0 && now.st_ino == own.st_ino && now.st_dev == own.st_dev {
        _ = unlink(path)
      }
      close(listener)
    }

    let idle = min(max(idleTimeoutSeconds, 1), maximumIdleTimeout) * 1_000
    var idleDeadline = Deadline(in: idle)
    while !idleDeadline.hasPassed {
      var fds = [
        pollfd(fd: listener, events: Int16(POLLIN), revents: 0),
        pollfd(fd: quitSignal, events: Int16(POLLIN), revents: 0),
      ]
      let wait = min(idleDeadline.remainingMilliseconds, 60_000)
      let ready = poll(&fds, 2, Int32(wait))
      if ready < 0 && errno != EINTR { break }
      guard ready > 0 else { continue }  // timeout or a signal: recheck
      if fds[1].revents != 0 { break }
      guard fds[0].revents != 0 else { continue }
      let client = accept(listener, nil, nil)
      guard client >= 0 else {
        if errno != EAGAIN && errno != EINTR && errno != ECONNABORTED {
          var pause = timespec(tv_sec: 0, tv_nsec: 100_000_000)  // out of descriptors, say
          _ = nanosleep(&pause, nil)
        }
        continue
      }
      let deadline = Deadline(in: connectionTimeout)
      var request: UInt8 = 0
      guard fcntl(client, F_SETFL, O_NONBLOCK) == 0, peerID(of: client)?.uid == geteuid(),
        withUnsafeMutableBytes(of: &request, { readExactly(client, $0, until: deadline) })
      else {
        close(client)
        continue
      }
      switch request {
      case UInt8(ascii: "G"):
        idleDeadline = Deadline(in: idle)
        _ = secrets!.withUnsafeBytes { writeAll(client, $0, until: deadline) }
        close(client)
      case UInt8(ascii: "Q"):
        // Forget first, then confirm: once `stop` returns, the secrets are gone.
        removeSocket()
        zero(&secrets)
        _ = withUnsafeBytes(of: UInt8(ascii: "k")) { writeAll(client, $0, until: deadline) }
        close(client)
        exit(0)
      default:
        close(client)
      }
    }
    removeSocket()
    finish(&secrets, exit: nil)
  }

  /// Why an agent could not start: its exit status, since its stderr is `/dev/null`.
  enum AgentExit: Int32 {
    case notHardened = 69
    case noSecrets = 70
    case pathTooLong = 71
    case notASocket = 72
    case socketFailed = 73

    static func explain(_ status: Int32) -> String {
      let code = (status >> 8) & 0xff
      guard status & 0x7f == 0, let reason = AgentExit(rawValue: code) else {
        return status & 0x7f == 0 ? "exit status \(code)" : "killed by signal \(status & 0x7f)"
      }
      switch reason {
      case .notHardened: return "it could not make itself undumpable"
      case .noSecrets: return "it did not receive the secrets"
      case .pathTooLong:
        return
          "the journal directory path is too long for the key agent's socket; use a shorter path"
      case .notASocket: return "agent.sock in the journal directory is not a socket; remove it"
      case .socketFailed: return "it could not listen on agent.sock in the journal directory"
      }
    }
  }

  /// Not dumpable (no ptrace by the same uid, no core, /proc files owned by root), no core
  /// limit, SIGPIPE ignored. False when it could not be done: the agent then refuses to run.
  static func hardenProcess() -> Bool {
    #if os(Linux)
      // prctl is variadic and so not imported; its integer arguments pass the same way.
      typealias Prctl = @convention(c) (Int32, UInt, UInt, UInt, UInt) -> Int32
      guard let symbol = dlsym(nil, "prctl") else { return false }
      let prctl = unsafeBitCast(symbol, to: Prctl.self)
      // PR_SET_DUMPABLE (4) to 0, then PR_GET_DUMPABLE (3) to check.
      guard prctl(4, 0, 0, 0, 0) == 0, prctl(3, 0, 0, 0, 0) == 0 else { return false }
      let core = Int32(RLIMIT_CORE.rawValue)
    #else
      let core = RLIMIT_CORE
    #endif
    var none = rlimit(rlim_cur: 0, rlim_max: 0)
    guard setrlimit(core, &none) == 0 else { return false }
    _ = signal(SIGPIPE, SIG_IGN)
    return true
  }

  /// SIGTERM, SIGINT and SIGHUP make the returned descriptor readable (a self-pipe).
  static func installQuitSignals() -> Int32 {
    var ends: [Int32] = [-1, -1]
    guard pipe(&ends) == 0 else { return -1 }  // the signals then keep killing at once
    for fd in ends {
      _ = fcntl(fd, F_SETFL, O_NONBLOCK)
      _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
    }
    quitSignalWriteEnd = ends[1]
    for quit in [SIGTERM, SIGINT, SIGHUP] {
      _ = signal(quit) { _ in
        let saved = errno
        var byte: UInt8 = 1
        _ = write(quitSignalWriteEnd, &byte, 1)
        errno = saved
      }
    }
    return ends[0]
  }

  /// Zeroes and releases the secrets (`exit` runs no deinitialisers), then exits.
  static func finish(_ secrets: inout SecureBytes?, exit reason: AgentExit?) -> Never {
    zero(&secrets)
    exit(reason?.rawValue ?? 0)
  }

  static func zero(_ secrets: inout SecureBytes?) {
    secrets?.withUnsafeMutableBytes { _ = $0.initializeMemory(as: UInt8.self, repeating: 0) }
    secrets = nil  // the last reference: sodium_free zeroes and unlocks the pages
  }
}
