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

  private static let fetchTimeout = 2_000  // milliseconds, every client request in all
  private static let startTimeout = 5_000  // until a new agent answers
  private static let stdinTimeout = 10_000  // for the agent to get its secrets
  private static let connectionTimeout = 1_000  // the agent's limit per client, under a fetch's
  private static let maximumIdleTimeout = 366 * 86_400  // seconds

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

  // MARK: - Client side

  private struct Connection {
    let fd: Int32
    /// The agent's pid, from SO_PEERCRED (0 where unknown).
    let peer: pid_t
  }

  private enum ConnectFailure: Error {
    case absent, stale, failed
  }

  private static func fetch(path: String, until deadline: Deadline) -> SecureBytes? {
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
  private static func openConnection(
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
  private static func removeStaleSocket(_ path: String) {
    var info = stat()
    if lstat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFSOCK { _ = unlink(path) }
  }

  /// Spawns `executable arguments…` detached (new session, default signals, empty signal mask),
  /// with one end of a fresh socket pair as its stdin; returns its pid and the other end.
  private static func spawn(
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
  private static func abandon(_ pid: pid_t, directory: String) {
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

  // MARK: - Agent side

  /// Why an agent could not start: its exit status, since its stderr is `/dev/null`.
  private enum AgentExit: Int32 {
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
  private static func hardenProcess() -> Bool {
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
  private static func installQuitSignals() -> Int32 {
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
  private static func finish(_ secrets: inout SecureBytes?, exit reason: AgentExit?) -> Never {
    zero(&secrets)
    exit(reason?.rawValue ?? 0)
  }

  private static func zero(_ secrets: inout SecureBytes?) {
    secrets?.withUnsafeMutableBytes { _ = $0.initializeMemory(as: UInt8.self, repeating: 0) }
    secrets = nil  // the last reference: sodium_free zeroes and unlocks the pages
  }

  // MARK: - Shared

  #if os(Linux)
    private static let streamSocketType =
      Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
  #else
    private static let streamSocketType = SOCK_STREAM
  #endif

  /// The peer's pid and uid (on Linux the agent's pid at `listen` for a client's socket).
  private static func peerID(of fd: Int32) -> (pid: pid_t, uid: uid_t)? {
    #if os(Linux)
      var credentials = (pid: pid_t(0), uid: uid_t(0), gid: gid_t(0))  // struct ucred
      var length = socklen_t(MemoryLayout.size(ofValue: credentials))
      guard getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0,
        Int(length) == MemoryLayout.size(ofValue: credentials)
      else { return nil }
      return (credentials.pid, credentials.uid)
    #else
      var uid = uid_t(0)
      var gid = gid_t(0)
      guard getpeereid(fd, &uid, &gid) == 0 else { return nil }
      return (0, uid)
    #endif
  }

  /// Reads exactly `buffer.count` bytes before the deadline (or until `cancel` is readable).
  private static func readExactly(
    _ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, until deadline: Deadline,
    cancel: Int32 = -1
  ) -> Bool {
    var done = 0
    while done < buffer.count {
      guard wait(for: fd, events: POLLIN, until: deadline, cancel: cancel) else { return false }
      let count = read(fd, buffer.baseAddress! + done, buffer.count - done)
      if count > 0 {
        done += count
      } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
        return false
      }
    }
    return true
  }

  /// Writes all of `bytes` before the deadline; never raises SIGPIPE.
  private static func writeAll(
    _ fd: Int32, _ bytes: UnsafeRawBufferPointer, until deadline: Deadline
  ) -> Bool {
    #if os(Linux)
      let flags = Int32(MSG_NOSIGNAL)
    #else
      let flags: Int32 = 0  // SO_NOSIGPIPE is set on the socket
    #endif
    var done = 0
    while done < bytes.count {
      guard wait(for: fd, events: POLLOUT, until: deadline) else { return false }
      let count = send(fd, bytes.baseAddress! + done, bytes.count - done, flags)
      if count > 0 {
        done += count
      } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
        return false
      }
    }
    return true
  }

  /// Waits until `fd` is ready for `events` (or has hung up); false on timeout or cancel.
  private static func wait(
    for fd: Int32, events: Int32, until deadline: Deadline, cancel: Int32 = -1
  ) -> Bool {
    while true {
      let remaining = deadline.remainingMilliseconds
      guard remaining > 0 else { return false }
      var fds = [
        pollfd(fd: fd, events: Int16(events), revents: 0),
        pollfd(fd: cancel, events: Int16(POLLIN), revents: 0),
      ]
      let ready = poll(&fds, 2, Int32(min(remaining, 60_000)))  // a negative fd is skipped
      if ready < 0 && errno != EINTR { return false }
      if ready > 0 {
        if fds[1].revents != 0 { return false }
        if fds[0].revents != 0 { return true }
      }
    }
  }
}

/// A key agent could not be started. Its message never holds secrets.
struct KeyAgentError: Error, CustomStringConvertible {
  let message: String
  var description: String { message }
}

/// Written once before the quit signals' handler is installed, then only read by it.
nonisolated(unsafe) private var quitSignalWriteEnd: Int32 = -1

/// A point on the monotonic clock.
private struct Deadline {
  private let nanoseconds: UInt64

  init(in milliseconds: Int) {
    nanoseconds = Self.now() + UInt64(max(milliseconds, 0)) * 1_000_000
  }

  var remainingMilliseconds: Int {
    let now = Self.now()
    return now >= nanoseconds ? 0 : Int((nanoseconds - now + 999_999) / 1_000_000)
  }

  var hasPassed: Bool { Self.now() >= nanoseconds }

  private static func now() -> UInt64 {
    var time = timespec()
    _ = clock_gettime(CLOCK_MONOTONIC, &time)
    return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
  }
}

/// A `sockaddr_un` for a path that fits (108 bytes with its NUL on Linux, 104 on Darwin).
private struct SocketAddress {
  private var storage = sockaddr_un()

  init?(path: String) {
    let bytes = Array(path.utf8)
    guard !bytes.isEmpty, !bytes.contains(0),
      bytes.count < MemoryLayout.size(ofValue: storage.sun_path)
    else { return nil }
    storage.sun_family = sa_family_t(AF_UNIX)
    #if canImport(Darwin)
      storage.sun_len = UInt8(MemoryLayout<sockaddr_un>.size)
    #endif
    withUnsafeMutableBytes(of: &storage.sun_path) { $0.copyBytes(from: bytes) }
  }

  func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
    withUnsafePointer(to: storage) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        body($0, socklen_t(MemoryLayout<sockaddr_un>.size))
      }
    }
  }
}
