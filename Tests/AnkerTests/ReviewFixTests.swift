import AnkerCrypto
import AnkerLog
import AnkerModel
import Foundation
import Testing

@testable import Anker
@testable import AnkerStore

/// Cases found in review: each guards a property the design promises.
@Suite struct ReviewFixTests {
  @Test func unlockingAgainChecksThePassphraseAndHonoursDuress() throws {
    let root = TemporaryDirectory()
    defer { root.cleanUp() }
    let (journal, _) = try Journal.create(
      at: root.path + "/j", passphrase: passphrase("real"), name: "A", options: testOptions)
    try journal.setDuressPassphrase(passphrase("duress"), confirming: passphrase("real"))
    do {
      try journal.unlock(passphrase: passphrase("wrong"))
      Issue.record("a wrong passphrase was taken while unlocked")
    } catch {
      #expect(error.storeCode == .wrongPassphrase)
    }
    #expect(try journal.unlock(passphrase: passphrase("real")) == .unlocked)
    #expect(try journal.unlock(passphrase: passphrase("duress")) == .emptied)
    #expect(journal.isWiped)
    #expect(journal.isLocked)
  }

  /// Changing the duress block in the key file makes the keys fail to open: it cannot be
  /// stripped unseen.
  @Test func theDuressBlockIsAuthenticated() throws {
    let root = TemporaryDirectory()
    defer { root.cleanUp() }
    let path = root.path + "/j"
    do {
      let (journal, _) = try Journal.create(
        at: path, passphrase: passphrase("real"), name: "A", options: testOptions)
      try journal.setDuressPassphrase(passphrase("duress"), confirming: passphrase("real"))
      journal.lock()
    }
    var keys = readFile(path + "/keys")
    let slot = keys[0..<8] == ArraySlice("ANKERKEY".utf8) ? 0 : 320
    for index in slot + 179..<slot + 237 { keys[index] = 0 }
    // Recompute the checksum, as someone who knows the format would.
    let checksum = BLAKE2b.hash256(Array(keys[slot..<slot + 288])).bytes
    keys.replaceSubrange(slot + 288..<slot + 320, with: checksum)
    #expect(FileManager.default.createFile(atPath: path + "/keys", contents: Data(keys)))
    let journal = try Journal.open(at: path, options: testOptions)
    do {
      try journal.unlock(passphrase: passphrase("real"))
      Issue.record("the keys opened with the duress block changed")
    } catch {
      #expect(error.storeCode == .wrongPassphrase)
    }
  }

  /// A shred replaces the snapshot at once; an earlier snapshot file cannot be opened again.
  @Test func shredReplacesTheSnapshotAndItsKey() throws {
    let root = TemporaryDirectory()
    defer { root.cleanUp() }
    let path = root.path + "/j"
    let marker = Array("shredded-note-marker".utf8)
    let earlier: [UInt8]
    do {
      let (journal, _) = try Journal.create(
        at: path, passphrase: passphrase("p"), name: "A", options: testOptions)
      let caseID = try journal.createCase(type: .outreach)
      try journal.addNote(.other, text: String(decoding: marker, as: UTF8.self), in: caseID)
      journal.lock()
      earlier = readFile(path + "/snapshot")
      try journal.unlock(passphrase: passphrase("p"))
      // The earlier snapshot did hold the note.
      let before = try #require(try journal.store.loadSnapshot())
      let held = contains(before.plain, marker)
      #expect(held)
      try journal.shred(caseID)
      // No lock: the process may die now; the snapshot was already replaced.
      journal.locked { journal.session = nil }
    }
    let store = try Store.open(at: path)
    _ = try store.unlock(passphrase: passphrase("p"))
    let current = try #require(try store.loadSnapshot())
    let found = contains(current.plain, marker)
    #expect(!found)
    #expect(FileManager.default.createFile(atPath: path + "/snapshot", contents: Data(earlier)))
    #expect(throws: StoreError.self) { _ = try store.loadSnapshot() }
  }

  /// The shred was stored, then the process stopped before it erased the bodies: the next
  /// unlock erases them.
  @Test func bodiesLeftBehindByAnInterruptedShredAreErasedAtUnlock() throws {
    let root = TemporaryDirectory()
    defer { root.cleanUp() }
    let path = root.path + "/j"
    let note: EntryID
    do {
      let (journal, _) = try Journal.create(
        at: path, passphrase: passphrase("p"), name: "A", options: testOptions)
      let caseID = try journal.createCase(type: .outreach)
      note = try journal.addNote(.other, text: "to be erased", in: caseID)
      // The shred's entries, committed, without the erasure step that follows in `shred`.
      try journal.write(needsFullLog: true) { writer, state, dag, random, now throws(ModelError) in
        ((), try writer.shred(caseID, state: state, dag: &dag, now: now, using: &random))
      }
      // Locking now must not write a snapshot over bodies still to erase.
      journal.lock()
      #expect(!FileManager.default.fileExists(atPath: path + "/snapshot"))
    }
    do {
      let journal = try Journal.open(at: path, options: testOptions)
      try journal.unlock(passphrase: passphrase("p"))
      #expect(try journal.state.erased.contains(note))
      journal.locked { journal.session = nil }
    }
    let store = try Store.open(at: path)
    _ = try store.unlock(passphrase: passphrase("p"))
    #expect(try store.entries().first { $0.entry.id == note }?.entry.body == nil)
  }

  /// A refused write leaves a snapshot session as it was (no reload of the whole log).
  @Test func aRefusedWriteKeepsTheSession() throws {
    let root = TemporaryDirectory()
    defer { root.cleanUp() }
    let (journal, _) = try Journal.create(
      at: root.path + "/j", passphrase: passphrase("p"), name: "A", options: testOptions)
    let caseID = try journal.createCase(type: .outreach)
    journal.lock()
    try journal.unlock(passphrase: passphrase("p"))
    #expect(journal.locked { journal.session?.dagIsPartial } == true)
    var random = SystemRandom()
    #expect(throws: JournalError.self) {
      try journal.addNote(.other, text: "x", in: CaseID(using: &random))
    }
    #expect(journal.locked { journal.session?.dagIsPartial } == true)
    try journal.addNote(.other, text: "after the refusal", in: caseID)
    try journal.verify()
    #expect(try journal.state.cases[caseID]?.notes.count == 1)
  }

  /// A read-log row copied on the disk is written to the audit once.
  @Test func aCopiedReadIsAuditedOnce() throws {
    let root = TemporaryDirectory()
    defer { root.cleanUp() }
    let path = root.path + "/j"
    let (journal, _) = try Journal.create(
      at: path, passphrase: passphrase("p"), name: "A", options: testOptions)
    let caseID = try journal.createCase(type: .outreach)
    _ = try journal.openCase(caseID)
    do {
      let database = try SQLiteDatabase(path: path + "/journal.sqlite", create: false)
      try database.execute("INSERT INTO read_log (sealed) SELECT sealed FROM read_log")
      database.close()
    }
    #expect(try journal.pendingReads == 2)
    try journal.flushReadAudit()
    #expect(try journal.state.readAudit.count == 1)
  }
}

/// A snapshot taken while a recovery enrolment's time lock ran is not used once it has run
/// out: membership at that point depends on the clock.
@Suite struct LapsedTimeLockTests {
  @Test func aLapsedTimeLockEvaluatesTheLogAgain() throws {
    let root = TemporaryDirectory()
    defer { root.cleanUp() }
    let clock = TestClock()
    let (journal, recovery) = try Journal.create(
      at: root.path + "/j", passphrase: passphrase("p"), name: "A", options: clock.options)
    // The paper key's authority enrols a new device (72 h time lock by default).
    var random = SystemRandom()
    let device = Signing.PrivateKey(using: &random)
    let authority = recovery.authorityKey
    let draft = try #require(journal.locked { journal.session?.dag }).draft(
      author: authority.publicKey, lastOwn: nil)
    let enrolment = draft.sign(
      body: Control.recoveryEnrolment(
        Control.RecoveryEnrolment(
          time: Timestamp(milliseconds: clock.now), device: device.publicKey,
          box: Box.PrivateKey(using: &random).publicKey, person: PersonID(using: &random))
      ).encoded, with: authority)
    var log = [UInt8]()
    withUnsafeBytes(of: UInt32(enrolment.encoded.count).bigEndian) { log += $0 }
    log += enrolment.encoded
    #expect(try journal.importLog(log) == 1)
    #expect(try journal.state.membership.devices[device.publicKey] == nil)
    journal.lock()  // the snapshot sees the lock running
    // Before it runs out, the snapshot is used.
    clock.advance(3_600_000)
    try journal.unlock(passphrase: passphrase("p"))
    #expect(journal.locked { journal.session?.dagIsPartial } == true)
    #expect(try journal.state.membership.devices[device.publicKey] == nil)
    journal.lock()
    // After, the log is evaluated again and the device is in.
    clock.advance(72 * 3_600_000)
    try journal.unlock(passphrase: passphrase("p"))
    #expect(journal.locked { journal.session?.dagIsPartial } == false)
    #expect(try journal.state.membership.devices[device.publicKey]?.role == .admin)
  }
}
