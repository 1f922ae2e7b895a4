import AnkerCrypto

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// What the agent and its clients share: socket calls with deadlines, peer credentials.
extension KeyAgent {
  #if os(Linux)
    static let streamSocketType =
      Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
  #else
    static let streamSocketType = SOCK_STREAM
  #endif

  /// The peer's pid and uid (on Linux the agent's pid at `listen` for a client's socket).
  static func peerID(of fd: Int32) -> (pid: pid_t, uid: uid_t)? {
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
  static func readExactly(
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
  static func writeAll(
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
  static func wait(
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
nonisolated(unsafe) var quitSignalWriteEnd: Int32 = -1

/// A point on the monotonic clock.
struct Deadline {
  private let nanoseconds: UInt64

  init(in milliseconds: Int) {
    nanoseconds = Self.now() + UInt64(max(milliseconds, 0)) * 1_000_000
  }

  var remainingMilliseconds: Int {
    let now = Self.now()
    return now >= nanoseconds ? 0 : Int((nanoseconds - now + 999_999) / 1_000_000)
  }

  var hasPassed: Bool { Self.now() >= nanoseconds }

  static func now() -> UInt64 {
    var time = timespec()
    _ = clock_gettime(CLOCK_MONOTONIC, &time)
    return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
  }
}

/// A `sockaddr_un` for a path that fits (108 bytes with its NUL on Linux, 104 on Darwin).
struct SocketAddress {
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
