import Anker
import AnkerCrypto
import Foundation
import Testing

@testable import AnkerStore

/// A damaged store gives a clear error, never a crash, and never silently drops entries.
@Suite struct DamagedStoreTests {
  /// A journal with a few notes, locked and closed; returns its directory.
  func makeJournal(_ root: TemporaryDirectory) throws -> String {
    let path = root.path + "/j"
    let (journal, _) = try Journal.create(
      at: path, passphrase: passphrase("pw"), name: "A", options: testOptions)
    let caseID = try journal.createCase(type: .outreach)
    for index in 0..<40 {
      try journal.addNote(.other, text: String(repeating: "n", count: 500) + "\(index)", in: caseID)
    }
    journal.lock()
    return path
  }

  /// Opens, unlocks and verifies the whole store; returns the store error code it failed
  /// with (nil: all is well).
  func failure(_ path: String, verify: Bool = true) -> StoreError.Code? {
    do {
      let journal = try Journal.open(at: path, options: testOptions)
      try journal.unlock(passphrase: passphrase("pw"))
      _ = try journal.state
      if verify { try journal.verify() }
      return nil
    } catch {
      return error.storeCode ?? StoreError.Code("other: \(error.code)")
    }
  }

  /// Removes the snapshot, so unlocking reads every row.
  func dropSnapshot(_ path: String) throws {
    try FileManager.default.removeItem(atPath: path + "/snapshot")
  }

  func rewrite(_ path: String, _ change: (inout [UInt8]) -> Void) {
    var bytes = readFile(path)
    change(&bytes)
    #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
  }

  @Test func truncatedDatabase() throws {
    let root = TemporaryDirectory()
    defer { root.cleanUp() }
    let path = try makeJournal(root)
    rewrite(path + "/journal.sqlite") { $0 = Array($0.prefix($0.count / 2)) }
    #expect(failure(path) == .corrupt)
  }

  @Test func flippedBytesInTheDatabase() throws {
    let root = TemporaryDirectory()
    defer { root.cleanUp() }
    let path = try makeJournal(root)
    // Every page after the schema: whichever it hits, an entry row or the b-tree.
    rewrite(path + "/journal.sqlite") { bytes in
      for index in stride(from: 4096 * 3 + 700, to: bytes.count, by: 4096) { bytes[index] ^= 0x5a }
    }
    #expect(failure(path) == .corrupt)
  }

  @Test func garbageDatabase() throws {
    let root = TemporaryDirectory()
    defer { root.cleanUp() }
    let path = try makeJournal(root)
    var random = SystemRandom()
    rewrite(path + "/journal.sqlite") { $0 = random.bytes($0.count) }
    #expect(failure(path) == .corrupt)
  }

  @Test func missingDatabase() throws {
    let root = TemporaryDirectory()
    defer { root.cleanUp() }
    let path = try makeJournal(root)
    try FileManager.default.removeItem(atPath: path + "/journal.sqlite")
    #expect(failure(path) == .corrupt)
  }

  @Test func truncatedKeyFile() throws {
    let root = TemporaryDirectory()
    defer { root.cleanUp() }
    let path = try makeJournal(root)
    rewrite(path + "/keys") { $0 = Array($0.prefix(300)) }
    #expect(failure(path) == .corrupt)
  }

  /// A torn write of one slot (a crash in the middle of a passphrase change) leaves the
  /// other; both torn is a clear error.
  @Test func tornKeySlots() throws {
    let root = TemporaryDirectory()
    defer { root.cleanUp() }
    let path = try makeJournal(root)
    let keys = path + "/keys"
    let inUse = readFile(keys)[0..<8] == ArraySlice("ANKERKEY".utf8) ? 0 : 1
    // A half-written new slot in the other place: ignored.
    rewrite(keys) { bytes in
      let other = (1 - inUse) * 320
      let start = inUse * 320
      for index in 0..<150 { bytes[other + index] = bytes[start + index] }
      bytes[other + 17] = 9  // a higher counter, but the checksum fails
    }
    #expect(failure(path) == nil)
    rewrite(keys) { bytes in bytes[inUse * 320 + 100] ^= 1 }
    #expect(failure(path) == .corrupt)
  }

  /// A row removed from the middle of the log: later entries miss their parent, and the
  /// journal refuses to open rather than carry on without it.
  @Test func removedEntryIsNoticed() throws {
    let root = TemporaryDirectory()
    defer { root.cleanUp() }
    let path = try makeJournal(root)
    do {
      let database = try SQLiteDatabase(path: path + "/journal.sqlite", create: false)
      try database.execute("DELETE FROM entry WHERE seq = 10")
      database.close()
    }
    // Unlocking notices (the rows no longer add up), and so does a check.
    #expect(failure(path, verify: false) == .corrupt)
    try dropSnapshot(path)
    #expect(failure(path, verify: false) == .corrupt)
  }

  /// A row's sealed bytes swapped with another row's: the local key's associated data binds
  /// each to its id, so it fails authentication.
  @Test func swappedRowsAreNoticed() throws {
    let root = TemporaryDirectory()
    defer { root.cleanUp() }
    let path = try makeJournal(root)
    do {
      let database = try SQLiteDatabase(path: path + "/journal.sqlite", create: false)
      try database.execute(
        "UPDATE entry SET sealed = (SELECT sealed FROM entry WHERE seq = 5) WHERE seq = 6")
      database.close()
    }
    // Unlocking from the snapshot reads only the newest rows; `verify` reads them all.
    #expect(failure(path) == .corrupt)
    try dropSnapshot(path)
    #expect(failure(path, verify: false) == .corrupt)
  }

  /// A damaged snapshot is not used: the state is evaluated from the entries instead.
  @Test func damagedSnapshotFallsBackToTheEntries() throws {
    let root = TemporaryDirectory()
    defer { root.cleanUp() }
    let path = try makeJournal(root)
    rewrite(path + "/snapshot") { $0[$0.count / 2] ^= 1 }
    #expect(failure(path) == nil)
    rewrite(path + "/snapshot") { $0 = Array($0.prefix(100)) }
    #expect(failure(path) == nil)
  }

  /// After a failed open nothing was changed: repaired, the journal opens with every note.
  @Test func failedUnlockChangesNothing() throws {
    let root = TemporaryDirectory()
    defer { root.cleanUp() }
    let path = try makeJournal(root)
    let keys = readFile(path + "/keys")
    rewrite(path + "/keys") { $0 = Array($0.prefix(300)) }
    #expect(failure(path) == .corrupt)
    #expect(FileManager.default.createFile(atPath: path + "/keys", contents: Data(keys)))
    let journal = try Journal.open(at: path, options: testOptions)
    try journal.unlock(passphrase: passphrase("pw"))
    #expect(try journal.state.cases.values.first?.notes.count == 40)
  }
}
