import Anker
import AnkerCrypto
import AnkerLog
import AnkerModel
import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Finding cases, notes and people from what a person types: an id or its first digits (at
/// least four, like git), or a person's name.
enum Lookup {
  static func caseID(_ text: String, in journal: Journal) throws -> CaseID {
    let wanted = text.lowercased()
    let ids = try journal.cases().map(\.id)
    return try unique(wanted, among: ids, what: "case", hint: "`anker case list` shows them")
  }

  static func clientID(_ text: String, in journal: Journal) throws -> ClientID {
    let state = try journal.state
    let wanted = text.lowercased()
    // Clients by their code or alias first (what workers know them by), then by id.
    let byCode = state.clients.values.filter { $0.code.lowercased() == wanted }.map(\.id)
    if byCode.count == 1 { return byCode[0] }
    let byAlias = state.clients.values.filter { $0.alias.lowercased() == wanted }.map(\.id)
    if byAlias.count == 1 { return byAlias[0] }
    return try unique(
      wanted, among: Array(state.clients.keys), what: "client", hint: "give the client's code")
  }

  static func entry(_ text: String, among ids: [EntryID], what: String) throws -> EntryID {
    try unique(text.lowercased(), among: ids, what: what, hint: "`anker case show CASE` shows ids")
  }

  static func person(_ text: String, in journal: Journal) throws -> PersonID {
    let people = try journal.people()
    let wanted = text.lowercased()
    let named = people.filter { $0.name?.lowercased() == wanted }
    if named.count == 1 { return named[0].id }
    return try unique(
      wanted, among: people.map(\.id), what: "person", hint: "`anker devices list` shows people")
  }

  private static func unique<ID: CustomStringConvertible>(
    _ wanted: String, among ids: [ID], what: String, hint: String
  ) throws -> ID {
    guard wanted.count >= 4 else {
      throw CLIError("give at least the first 4 digits of the \(what)'s id", hint: hint)
    }
    let matches = ids.filter { $0.description.lowercased().hasPrefix(wanted) }
    guard !matches.isEmpty else {
      throw CLIError("no \(what) with an id starting \(wanted)", hint: hint, code: Exit.notFound)
    }
    guard matches.count == 1 else {
      throw CLIError("several \(what)s have ids starting \(wanted)", hint: "give more digits")
    }
    return matches[0]
  }
}

/// Text a person writes: from standard input when it is not a terminal, else in `$EDITOR`
/// with the temporary file on a memory file system (DESIGN rule 9), removed after.
enum TextInput {
  static func read(_ what: String) throws -> String {
    if isatty(STDIN_FILENO) == 0 {
      var data = FileHandle.standardInput.readDataToEndOfFile()
      defer { data.resetBytes(in: 0..<data.count) }
      return try text(from: data)
    }
    return try edit(what)
  }

  private static func text(from data: Data) throws -> String {
    guard let text = String(data: data, encoding: .utf8) else {
      throw CLIError("the text is not UTF-8")
    }
    let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
    guard !trimmed.isEmpty else { throw CLIError("the text is empty; nothing was written") }
    return trimmed
  }

  /// A memory file system for the editor's file: /dev/shm or $XDG_RUNTIME_DIR, never disk.
  static func memoryDirectory() throws -> String {
    var candidates = ["/dev/shm"]
    if let runtime = environment("XDG_RUNTIME_DIR") { candidates.insert(runtime, at: 0) }
    for candidate in candidates where isMemoryFileSystem(candidate) { return candidate }
    throw CLIError(
      "there is no memory file system for the editor's file",
      hint: "give the text on standard input instead: anker note add CASE < file")
  }

  /// Whether `path` lies on tmpfs or ramfs, from the mount table (the longest mount point
  /// that contains it decides).
  static func isMemoryFileSystem(_ path: String) -> Bool {
    guard FileManager.default.fileExists(atPath: path),
      let mounts = try? String(contentsOfFile: "/proc/self/mounts", encoding: .utf8)
    else { return false }
    let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
    var best: (point: String, type: String)?
    for line in mounts.split(separator: "\n") {
      let fields = line.split(separator: " ")
      guard fields.count >= 3 else { continue }
      let point = String(fields[1])
      let inside = resolved == point || resolved.hasPrefix(point == "/" ? "/" : point + "/")
      if inside && point.count >= (best?.point.count ?? -1) {
        best = (point, String(fields[2]))
      }
    }
    return best.map { $0.type == "tmpfs" || $0.type == "ramfs" } ?? false
  }

  private static func edit(_ what: String) throws -> String {
    let base = try memoryDirectory()
    var template = Array((base + "/anker-XXXXXX").utf8CString)
    guard let made = mkdtemp(&template) else { throw CLIError("could not make a private folder") }
    let folder = String(cString: made)
    let file = folder + "/\(what.replacingOccurrences(of: " ", with: "-")).txt"
    defer {
      // Overwrite, then remove: nothing of the text stays in memory-backed files.
      if let size = (try? FileManager.default.attributesOfItem(atPath: file))?[.size] as? Int,
        let handle = FileHandle(forWritingAtPath: file)
      {
        handle.write(Data(count: size))
        try? handle.synchronize()
        try? handle.close()
      }
      unlink(file)
      rmdir(folder)
    }
    guard
      FileManager.default.createFile(
        atPath: file, contents: Data(), attributes: [.posixPermissions: 0o600])
    else { throw CLIError("could not make the editor's file") }
    let editor = environment("VISUAL") ?? environment("EDITOR") ?? "nano"
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", "\(editor) \"$1\"", "anker-editor", file]
    try process.run()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
      throw CLIError("the editor failed; nothing was written")
    }
    var data = (try? Data(contentsOf: URL(fileURLWithPath: file))) ?? Data()
    defer { data.resetBytes(in: 0..<data.count) }
    return try text(from: data)
  }
}

enum Format {
  static func time(_ milliseconds: UInt64) -> String {
    let date = Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_GB_POSIX")
    formatter.dateFormat = "yyyy-MM-dd HH:mm"
    return formatter.string(from: date)
  }

  static func day(_ milliseconds: UInt64) -> String {
    String(time(milliseconds).prefix(10))
  }

  /// Parses `YYYY-MM-DD` or `YYYY-MM-DD HH:MM` (local time) into milliseconds.
  static func parse(_ text: String) throws -> UInt64 {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_GB_POSIX")
    for pattern in ["yyyy-MM-dd HH:mm", "yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd"] {
      formatter.dateFormat = pattern
      if let date = formatter.date(from: text) {
        return UInt64(max(0, date.timeIntervalSince1970 * 1000))
      }
    }
    throw CLIError("\(text) is not a date", hint: "write it as 2026-11-23 or 2026-11-23 14:30")
  }

  static func kebab(_ name: String) -> String {
    var out = ""
    for character in name {
      if character.isUppercase {
        out += "-" + character.lowercased()
      } else {
        out.append(character)
      }
    }
    return out
  }
}

extension NoteKind {
  var name: String { Format.kebab("\(self)") }
  static func named(_ text: String) -> NoteKind? { allCases.first { $0.name == text } }
  static var names: String { allCases.map(\.name).joined(separator: ", ") }
}

extension CaseType {
  var name: String { Format.kebab("\(self)") }
  static func named(_ text: String) -> CaseType? { allCases.first { $0.name == text } }
  static var names: String { allCases.map(\.name).joined(separator: ", ") }
}
