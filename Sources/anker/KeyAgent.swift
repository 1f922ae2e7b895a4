import AnkerCrypto

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Keeps a journal's unlocked device secrets in a separate process, never in a file (DESIGN
/// rule 9), as ssh-agent does.
///
/// The agent is the hidden `anker agent` subcommand of the same binary, in its own session. It
/// gets the 96 secret bytes on its standard input, keeps them only in `SecureBytes`
/// (`sodium_malloc`: locked, excluded from core dumps, zeroed on release), is not dumpable and
/// has no core limit. It listens on `<directory>/agent.sock` (mode 0600) and serves peers of
/// its own uid only, one at a time. The protocol is one request byte: `G` is answered with
/// the 96 bytes and restarts the idle timer; `Q` makes the agent remove its socket, zero the
/// secrets, answer `k` and exit. It also exits, zeroing, after `idleTimeoutSeconds` without a
/// `G`, and on SIGTERM, SIGINT or SIGHUP.
enum KeyAgent {
  /// The size of `DeviceSecrets.packed`.
  static let secretCount = 96

  static let fetchTimeout = 2_000  // milliseconds, every client request in all
  static let startTimeout = 5_000  // until a new agent answers
  static let stdinTimeout = 10_000  // for the agent to get its secrets
  static let connectionTimeout = 1_000  // the agent's limit per client, under a fetch's
  static let maximumIdleTimeout = 366 * 86_400  // seconds

  /// The agent's socket for a journal directory: `<directory>/agent.sock` (the directory is 0700).
  static func socketPath(for directory: String) -> String {
    directory.hasSuffix("/") ? directory + "agent.sock" : directory + "/agent.sock"
  }

  /// Starts a detached agent for `directory` (`executable agent --directory D --idle-timeout S`
  /// in a new session, stdin a socket pair, stdout and stderr `/dev/null`) and hands it
  /// `secrets` through its stdin, never argv, the environment or a file. Replaces an agent
  /// already running for `directory`. Returns once the new agent answers with the same secrets
  /// (at most 5 s); throws otherwise. `executable` should be an absolute path (a bare name is
  /// looked up in `PATH`).
  static func start(
    directory: String, secrets: SecureBytes, idleTimeoutSeconds: Int, executable: String
  ) throws(KeyAgentError) {
    guard secrets.count == secretCount else {
      throw KeyAgentError(message: "the key agent holds exactly \(secretCount) bytes of secrets")
    }
    let path = socketPath(for: directory)
    guard SocketAddress(path: path) != nil else {
      throw KeyAgentError(
        message:
          "the journal directory path is too long for the key agent's socket; use a shorter path")
    }
    _ = stop(directory: directory)
    let seconds = min(max(idleTimeoutSeconds, 1), maximumIdleTimeout)
    let (pid, channel) = try spawn(
      executable, arguments: ["agent", "--directory", directory, "--idle-timeout", "\(seconds)"])
    let deadline = Deadline(in: startTimeout)
    let handedOver = secrets.withUnsafeBytes { writeAll(channel, $0, until: deadline) }
    close(channel)  // the agent sees the end of its input
    guard handedOver else {
      abandon(pid, directory: directory)
      throw KeyAgentError(message: "could not hand the secrets to the key agent")
    }
    while !deadline.hasPassed {
      var status: Int32 = 0
      if waitpid(pid, &status, WNOHANG) == pid {
        throw KeyAgentError(message: "the key agent stopped at once: \(AgentExit.explain(status))")
      }
      let attempt = Deadline(in: min(deadline.remainingMilliseconds, 1_000))
      if let held = fetch(path: path, until: attempt) {
        if held.constantTimeEquals(secrets) { return }
        abandon(pid, directory: directory)
        throw KeyAgentError(message: "another key agent answered on \(path); run `anker lock`")
      }
      var pause = timespec(tv_sec: 0, tv_nsec: 50_000_000)
      _ = nanosleep(&pause, nil)
    }
    abandon(pid, directory: directory)
    throw KeyAgentError(message: "the key agent did not answer within 5 seconds")
  }

  /// The secrets the running agent holds (the agent restarts its idle timer); nil when no agent
  /// answers (no socket, refused, stale socket file, another uid, about 2 s passed).
  static func fetch(directory: String) -> SecureBytes? {
    fetch(path: socketPath(for: directory), until: Deadline(in: fetchTimeout))
  }

  /// Tells the agent to zero its secrets and exit; true when one was running. Removes a stale
  /// socket file. An agent that accepts the connection but does not confirm gets SIGTERM.
  @discardableResult
  static func stop(directory: String) -> Bool {
    let path = socketPath(for: directory)
    let deadline = Deadline(in: fetchTimeout)
    switch openConnection(to: path, until: deadline) {
    case .failure(.stale):
      removeStaleSocket(path)
      return false
    case .failure:
      return false
    case .success(let connection):
      defer { close(connection.fd) }
      var reply: UInt8 = 0
      let confirmed =
        withUnsafeBytes(of: UInt8(ascii: "Q")) { writeAll(connection.fd, $0, until: deadline) }
        && withUnsafeMutableBytes(of: &reply) { readExactly(connection.fd, $0, until: deadline) }
        && reply == UInt8(ascii: "k")
      if !confirmed && connection.peer > 0 { _ = kill(connection.peer, SIGTERM) }
      return true
    }
  }

  // MARK: - Client side

  struct Connection {
    let fd: Int32
    /// The agent's pid, from SO_PEERCRED (0 where unknown).
    let peer: pid_t
  }

  enum ConnectFailure: Error {
    case absent, stale, failed
  }

  static func fetch(path: String, until deadline: Deadline) -> SecureBytes? {
    guard case .success(let connection) = openConnection(to: path, until: deadline) else {
      return nil
    }
    defer { close(connection.fd) }
    guard withUnsafeBytes(of: UInt8(ascii: "G"), { writeAll(connection.fd, $0, until: deadline) })
    else { return nil }
    // Straight into secure memory; released (and so zeroed) if the read fails.
    let secrets = SecureBytes(count: secretCount)
    guard secrets.withUnsafeMutableBytes({ readExactly(connection.fd, $0, until: deadline) })
    else { return nil }
    return secrets
  }

  /// Connects within the deadline and checks that the agent runs as this user.
  static func openConnection(
    to path: String, until deadline: Deadline
  ) -> Result<Connection, ConnectFailure> {
    guard let address = SocketAddress(path: path) else { return .failure(.failed) }
    let fd = socket(AF_UNIX, streamSocketType, 0)
    guard fd >= 0 else { return .failure(.failed) }
    // A connect to a Unix socket whose backlog is full waits, bounded by SO_SNDTIMEO.
    let remaining = deadline.remainingMilliseconds
    guard remaining > 0 else {  // a zero SO_SNDTIMEO would mean no limit at all
      close(fd)
      return .failure(.failed)
    }
    var limit = timeval(tv_sec: .init(remaining / 1_000), tv_usec: .init(remaining % 1_000 * 1_000))
    _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
    #if canImport(Darwin)
      var one: Int32 = 1
      _ = setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
    #endif
    if address.withSockaddr({ connect(fd, $0, $1) }) != 0 {
      let error = errno
      close(fd)
      switch error {
      case ENOENT: return .failure(.absent)
      case ECONNREFUSED: return .failure(.stale)
      default: return .failure(.failed)
      }
    }
    guard let peer = peerID(of: fd), peer.uid == geteuid(),
      fcntl(fd, F_SETFL, O_NONBLOCK) == 0
    else {
      close(fd)
      return .failure(.failed)
    }
    return .success(Connection(fd: fd, peer: peer.pid))
  }

  /// Removes `path` if it is a socket nobody listens on (never a file of another kind).
  static func removeStaleSocket(_ path: String) {
    var info = stat()
    if lstat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFSOCK { _ = unlink(path) }
  }

  /// Spawns `executable arguments…` detached (new session, default signals, empty signal mask),
  /// with one end of a fresh socket pair as its stdin; returns its pid and the other end.
  static func spawn(
    _ executable: String, arguments: [String]
  ) throws(KeyAgentError) -> (pid: pid_t, channel: Int32) {
    var ends: [Int32] = [-1, -1]
    guard socketpair(AF_UNIX, streamSocketType, 0, &ends) == 0 else {
      throw KeyAgentError(message: "could not start the key agent (no socket pair)")
    }
    #if canImport(Darwin)
      var actions: posix_spawn_file_actions_t? = nil
      var attributes: posix_spawnattr_t? = nil
      let flags = POSIX_SPAWN_SETSID | POSIX_SPAWN_CLOEXEC_DEFAULT
    #else
      var actions = posix_spawn_file_actions_t()
      var attributes = posix_spawnattr_t()
      let flags: Int32 = 0x80  // POSIX_SPAWN_SETSID (glibc ≥ 2.26), a _GNU_SOURCE macro
    #endif
    posix_spawn_file_actions_init(&actions)
    posix_spawnattr_init(&attributes)
    defer {
      posix_spawn_file_actions_destroy(&actions)
      posix_spawnattr_destroy(&attributes)
    }
    posix_spawn_file_actions_adddup2(&actions, ends[1], 0)
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    #if !canImport(Darwin)
      // The agent must not inherit this process's files (the journal's database, say).
      if let closeFrom = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") {
        typealias CloseFrom =
          @convention(c) (
            UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32
          ) -> Int32
        _ = unsafeBitCast(closeFrom, to: CloseFrom.self)(&actions, 3)
      }
    #endif
    var noSignals = sigset_t()
    sigemptyset(&noSignals)
    posix_spawnattr_setsigmask(&attributes, &noSignals)
    var defaults = sigset_t()
    sigemptyset(&defaults)
    for signal in [SIGPIPE, SIGTERM, SIGINT, SIGHUP] { sigaddset(&defaults, signal) }
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    posix_spawnattr_setflags(
      &attributes, Int16(flags | Int32(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)))

    // The parent's environment, with the Swift backtracer off: a crashing agent must not
    // spawn a helper that reads its memory.
    var environment: [String] = []
    #if canImport(Darwin)
      let inherited = _NSGetEnviron().pointee
    #else
      let inherited: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = environ
    #endif
    if var entry = inherited {
      while let variable = entry.pointee {
        let text = String(cString: variable)
        if !text.hasPrefix("SWIFT_BACKTRACE=") { environment.append(text) }
        entry += 1
      }
    }
    environment.append("SWIFT_BACKTRACE=enable=no")
    let argv = ([executable] + arguments).map { strdup($0) } + [nil]
    let envp = environment.map { strdup($0) } + [nil]
    defer { for pointer in argv + envp { free(pointer) } }
    var pid: pid_t = 0
    let result =
      executable.contains("/")
      ? posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
      : posix_spawnp(&pid, executable, &actions, &attributes, argv, envp)
    close(ends[1])
    guard result == 0 else {
      close(ends[0])
      throw KeyAgentError(
        message: "could not start the key agent \(executable): \(String(cString: strerror(result)))"
      )
    }
    return (pid, ends[0])
  }

  /// Ends a new agent that failed to come up: SIGTERM (it zeroes), SIGKILL after a second.
  static func abandon(_ pid: pid_t, directory: String) {
    _ = kill(pid, SIGTERM)
    var status: Int32 = 0
    let deadline = Deadline(in: 1_000)
    while waitpid(pid, &status, WNOHANG) == 0 {
      if deadline.hasPassed {
        _ = kill(pid, SIGKILL)
        _ = waitpid(pid, &status, 0)
        break
      }
      var pause = timespec(tv_sec: 0, tv_nsec: 20_000_000)
      _ = nanosleep(&pause, nil)
    }
    let path = socketPath(for: directory)
    if case .failure(.stale) = openConnection(to: path, until: Deadline(in: 500)) {
      removeStaleSocket(path)
    }
  }
}
