import Anker
import AnkerCrypto
import Foundation
import Testing

/// A fresh private directory for one test, removed by `cleanUp`.
struct TemporaryDirectory {
  let path: String

  init() {
    path = NSTemporaryDirectory() + "anker-test-" + UUID().uuidString
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  }

  func cleanUp() { try? FileManager.default.removeItem(atPath: path) }
}

func passphrase(_ text: String) -> SecureBytes { SecureBytes(copying: Array(text.utf8)) }

let testOptions = Journal.Options(passphraseCost: .testingOnly, idleTimeoutSeconds: nil)

/// A clock tests move by hand (ms).
final class TestClock: @unchecked Sendable {
  // @unchecked: `now` is read and written under `lock`.
  private let lock = NSLock()
  private var value: UInt64

  init(_ start: UInt64 = 1_790_000_000_000) { value = start }

  var now: UInt64 {
    lock.lock()
    defer { lock.unlock() }
    return value
  }

  func advance(_ milliseconds: UInt64) {
    lock.lock()
    value += milliseconds
    lock.unlock()
  }

  var options: Journal.Options {
    Journal.Options(passphraseCost: .testingOnly, idleTimeoutSeconds: nil) { self.now }
  }
}

/// Every regular file under `root` (following no links).
func files(under root: String) -> [String] {
  guard let walker = FileManager.default.enumerator(atPath: root) else { return [] }
  var out = [String]()
  while let relative = walker.nextObject() as? String {
    let path = root + "/" + relative
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory),
      !isDirectory.boolValue
    {
      out.append(path)
    }
  }
  return out
}

/// True when `needle` occurs in `haystack`. A plain Bool, so a failing `#expect` prints
/// neither side (they may be the distinctive strings a test plants).
func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
  guard !needle.isEmpty, haystack.count >= needle.count else { return false }
  let first = needle[0]
  var index = 0
  while index <= haystack.count - needle.count {
    if haystack[index] == first, Array(haystack[index..<index + needle.count]) == needle {
      return true
    }
    index += 1
  }
  return false
}

func readFile(_ path: String) -> [UInt8] {
  (FileManager.default.contents(atPath: path)).map { [UInt8]($0) } ?? []
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

/// The sealed secrets of the slot in use in a key file (bytes 67..<179 of the slot that
/// starts with the magic and holds keys).
func sealedSecrets(ofKeyFile bytes: [UInt8]) -> [UInt8] {
  for slot in 0..<2 {
    let start = slot * 320
    guard bytes.count >= start + 320 else { break }
    if Array(bytes[start..<start + 8]) == Array("ANKERKEY".utf8), bytes[start + 9] == 1 {
      return Array(bytes[start + 67..<start + 179])
    }
  }
  return []
}

/// Whether any file under `root` holds `needle`. Returns a plain Bool: a failing `#expect`
/// must print neither the files nor the needle.
func anyFile(under root: String, holds needle: [UInt8]) -> Bool {
  files(under: root).contains { contains(readFile($0), needle) }
}
