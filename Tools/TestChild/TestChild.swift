import Anker
import AnkerCrypto
import AnkerModel
import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The child process of two tests (never a tool for people):
///
///     anker-test-child append-loop DIR   unlock, then add notes until killed (locking and
///                                        unlocking now and then); prints each note's entry
///                                        id once its append returned
///     anker-test-child scenario DIR      create a journal and write the distinctive strings
///                                        it reads from stdin, then lock; prints "ok"
///     anker-test-child join DIR          unlock a prepared laptop and join the journal whose
///                                        exported log is in the file named on stdin (after
///                                        the passphrase and the genesis id); prints "joined"
///
/// Secrets and strings come on stdin, one per line, never on the command line. Prints ids
/// only, never content.
@main
enum TestChild {
  static func main() {
    let arguments = CommandLine.arguments
    guard arguments.count == 3 else {
      print("usage: anker-test-child append-loop|scenario|join DIR")
      exit(64)
    }
    do {
      switch arguments[1] {
      case "append-loop": try appendLoop(arguments[2])
      case "scenario": try scenario(arguments[2])
      case "join": try join(arguments[2])
      default: exit(64)
      }
    } catch {
      print("anker-test-child: error: \(error)")
      exit(1)
    }
  }

  static let options = Journal.Options(passphraseCost: .testingOnly, idleTimeoutSeconds: nil)

  static func line() -> String { readLine(strippingNewline: true) ?? "" }

  static func appendLoop(_ directory: String) throws {
    let passphrase = SecureBytes(copying: Array(line().utf8))
    let journal = try Journal.open(at: directory, options: options)
    try journal.unlock(passphrase: passphrase)
    guard let caseID = try journal.cases().first?.id else { exit(2) }
    var count = 0
    while true {
      count += 1
      // Now and then a lock, which writes the state snapshot, so kills land there too.
      if count % 7 == 0 {
        journal.lock()
        try journal.unlock(passphrase: passphrase)
      }
      let id = try journal.addNote(.outreachContact, text: "crash note \(count)", in: caseID)
      // One write(2) per line, unbuffered: a line the parent reads is an append that returned.
      let text = Array((id.hex + "\n").utf8)
      _ = text.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
    }
  }

  static func join(_ directory: String) throws {
    let passphrase = SecureBytes(copying: Array(line().utf8))
    guard let genesis = Digest256(hex: line()),
      let log = FileManager.default.contents(atPath: line())
    else { exit(2) }
    let journal = try Journal.open(at: directory, options: options)
    try journal.unlock(passphrase: passphrase)
    try journal.join(log: Array(log), genesis: genesis)
    let text = Array("joined\n".utf8)
    _ = text.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
  }

  static func scenario(_ directory: String) throws {
    let passphrase = SecureBytes(copying: Array(line().utf8))
    let (name, alias, note, legalName, plan, amendment) = (
      line(), line(), line(), line(), line(), line()
    )
    let (journal, _) = try Journal.create(
      at: directory, passphrase: passphrase, name: name, options: options)
    let client = try journal.createClient(alias: alias, code: "C-1")
    try journal.setIdentity("legalName", to: legalName, of: client)
    let caseID = try journal.createCase(type: .outreach, client: client)
    let noteID = try journal.addNote(.supportTalk, text: note, in: caseID)
    try journal.amend(note: noteID, text: amendment, in: caseID)
    try journal.writeSafetyPlan(plan, in: caseID)
    try journal.setField(CaseField.safeContact, to: plan, in: caseID)
    guard try journal.search(note).count == 1 else { exit(3) }
    _ = try journal.exportCase(caseID, format: .markdown)
    _ = try journal.exportCase(caseID, format: .json)
    _ = try journal.timeline(caseID)
    journal.lock()
    // A second session: unlock, read, lock again.
    try journal.unlock(passphrase: passphrase)
    _ = try journal.openCase(caseID)
    journal.lock()
    print("ok")
  }
}
