import Anker
import AnkerModel
import AnkerStore
import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

extension Restoration {
  /// What an export wrote: file names inside the directory, no content.
  public struct Exported: Sendable {
    public var directory: String
    public var files: [String]
    public var casesWritten: Int
    /// Cases the paper key cannot read: nothing to write for them.
    public var casesSkipped: Int
  }

  /// Writes every readable case as `case-<id>.md` and `case-<id>.json` into `directory`
  /// (created 0700; it must not exist or be empty), each file 0600 and created exclusively.
  /// Shredded cases are gone from the state and so from the export. Protected fields
  /// (address, safe contact, safety plan) are left out unless `includeProtected`.
  public func export(
    to directory: String, includeProtected: Bool, now: UInt64
  ) throws(RestoreError) -> Exported {
    try Self.makeExportDirectory(directory)
    var out = Exported(directory: directory, files: [], casesWritten: 0, casesSkipped: 0)
    for (caseID, found) in state.cases.sorted(by: { $0.key < $1.key }) {
      guard found.readable else {
        out.casesSkipped += 1
        continue
      }
      for (format, suffix) in [(Journal.ExportFormat.markdown, "md"), (.json, "json")] {
        let name = "case-\(caseID.description).\(suffix)"
        let text = Journal.renderCase(
          found, in: state, format: format, includeProtected: includeProtected, exportedAt: now)
        try Self.writePrivate(directory + "/" + name, Array(text.utf8))
        out.files.append(name)
      }
      out.casesWritten += 1
    }
    FileIO.syncDirectory(directory)
    return out
  }

  private static func makeExportDirectory(_ directory: String) throws(RestoreError) {
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) {
      let contents = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? ["?"]
      guard isDirectory.boolValue, contents.isEmpty else {
        throw RestoreError(
          .exportFailed, "\(directory) exists and is not an empty directory",
          hint: "give a new directory on an encrypted disk")
      }
      guard chmod(directory, 0o700) == 0 else {
        throw RestoreError(.exportFailed, "cannot make \(directory) private (errno \(errno))")
      }
    } else {
      guard mkdir(directory, 0o700) == 0 else {
        throw RestoreError(
          .exportFailed, "cannot create \(directory) (errno \(errno))",
          hint: "its parent directory must exist")
      }
    }
  }

  private static func writePrivate(_ path: String, _ bytes: [UInt8]) throws(RestoreError) {
    let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
    guard fd >= 0 else {
      throw RestoreError(.exportFailed, "cannot create \(path) (errno \(errno))")
    }
    defer { close(fd) }
    var written = 0
    while written < bytes.count {
      let result = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
      guard result > 0 else {
        if result < 0 && errno == EINTR { continue }
        throw RestoreError(.exportFailed, "cannot write \(path) (errno \(errno))")
      }
      written += result
    }
    guard fsync(fd) == 0 else {
      throw RestoreError(.exportFailed, "cannot flush \(path) (errno \(errno))")
    }
  }
}
