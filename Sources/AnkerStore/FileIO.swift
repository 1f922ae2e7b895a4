#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The few POSIX calls the store needs beyond SQLite: reading and rewriting small files in
/// place with fsync, private directories, and an exclusive lock for the store.
package enum FileIO {
  package static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

  /// Creates `path` (and parents) readable by the owner only.
  package static func makePrivateDirectory(_ path: String) throws(StoreError) {
    var partial = path.hasPrefix("/") ? "" : "."
    for component in path.split(separator: "/") {
      partial += "/" + component
      if mkdir(partial, 0o700) != 0, errno != EEXIST {
        throw StoreError(.io, "cannot create the store directory (errno \(errno))")
      }
    }
    chmod(path, 0o700)
  }

  package static func read(_ path: String) throws(StoreError) -> [UInt8] {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else {
      throw errno == ENOENT
        ? StoreError(.notFound, "no store here") : StoreError(.io, "cannot read a store file")
    }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0 else { throw StoreError(.io, "cannot read a store file") }
    let size = Int(info.st_size)
    var out = [UInt8](repeating: 0, count: size)
    var done = 0
    while done < size {
      let count = out.withUnsafeMutableBytes {
        systemRead(fd, $0.baseAddress! + done, size - done)
      }
      if count < 0 {
        if errno == EINTR { continue }
        throw StoreError(.io, "cannot read a store file")
      }
      if count == 0 { break }
      done += count
    }
    guard done == size else { throw StoreError(.corrupt, "a store file changed while read") }
    return out
  }

  /// Replaces the file at `path` with `bytes` atomically: a new file is written and fsynced
  /// beside it, then renamed over it. A crash leaves the old file or the new one.
  package static func replace(_ path: String, with bytes: [UInt8]) throws(StoreError) {
    let temporary = path + ".new"
    let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw StoreError(.io, "cannot write a store file (errno \(errno))") }
    var written = 0
    while written < bytes.count {
      let count = bytes.withUnsafeBytes {
        write(fd, $0.baseAddress! + written, $0.count - written)
      }
      if count < 0 {
        if errno == EINTR { continue }
        close(fd)
        throw StoreError(.io, "cannot write a store file (errno \(errno))")
      }
      written += count
    }
    guard fsync(fd) == 0, close(fd) == 0 else {
      throw StoreError(.io, "cannot flush a store file to disk")
    }
    guard rename(temporary, path) == 0 else {
      throw StoreError(.io, "cannot replace a store file (errno \(errno))")
    }
    let directory = path.split(separator: "/", omittingEmptySubsequences: false).dropLast()
      .joined(separator: "/")
    syncDirectory(directory.isEmpty ? "." : directory)
  }

  /// Writes `bytes` at `offset` in place and fsyncs before returning: the old bytes there are
  /// overwritten in the file, not left in a copy. Creates the file (0600) if absent.
  package static func overwrite(_ path: String, at offset: Int, with bytes: [UInt8])
    throws(StoreError)
  {
    let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw StoreError(.io, "cannot write a store file (errno \(errno))") }
    defer { close(fd) }
    var written = 0
    while written < bytes.count {
      let count = bytes.withUnsafeBytes {
        pwrite(fd, $0.baseAddress! + written, $0.count - written, off_t(offset + written))
      }
      if count < 0 {
        if errno == EINTR { continue }
        throw StoreError(.io, "cannot write a store file (errno \(errno))")
      }
      written += count
    }
    guard fsync(fd) == 0 else { throw StoreError(.io, "cannot flush a store file to disk") }
  }

  /// Makes a new or removed name in `directory` durable.
  package static func syncDirectory(_ directory: String) {
    let fd = open(directory, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return }
    fsync(fd)
    close(fd)
  }

  package static func remove(_ path: String) { unlink(path) }

  package static func restrictToOwner(_ path: String) { chmod(path, 0o600) }

  /// An exclusive advisory lock on `path`, held while the returned descriptor stays open; the
  /// kernel releases it when the process ends, however it ends.
  package static func lockExclusively(_ path: String) throws(StoreError) -> Int32 {
    let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw StoreError(.io, "cannot open the store's lock file") }
    guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
      close(fd)
      throw StoreError(
        .busy, "another Anker process has this journal open; close it (or `anker lock`) first")
    }
    return fd
  }

  package static func unlock(_ fd: Int32) {
    flock(fd, LOCK_UN)
    close(fd)
  }

  /// Wall-clock milliseconds since 1970.
  package static func nowMilliseconds() -> UInt64 {
    var spec = timespec()
    clock_gettime(CLOCK_REALTIME, &spec)
    return UInt64(spec.tv_sec) * 1000 + UInt64(spec.tv_nsec) / 1_000_000
  }
}

#if canImport(Glibc)
  private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    Glibc.read(fd, buffer, count)
  }
#else
  private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    Darwin.read(fd, buffer, count)
  }
#endif
