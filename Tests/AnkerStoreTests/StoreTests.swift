import AnkerCrypto
import AnkerLog
import Foundation
import Testing

@testable import AnkerStore

func temporaryPath() -> String {
  let path = NSTemporaryDirectory() + "anker-store-test-" + UUID().uuidString
  try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  return path
}

func testParameters() -> PasswordHash.Parameters {
  var random = SystemRandom()
  return try! PasswordHash.Parameters(
    opsLimit: 1, memLimit: 8192, salt: random.bytes(PasswordHash.saltCount))
}

func secure(_ text: String) -> SecureBytes { SecureBytes(copying: Array(text.utf8)) }

@Suite struct StoreTests {
  @Test func keyFileAlternatesSlotsAndZeroesTheOldOne() throws {
    let directory = temporaryPath()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let file = KeyFile(path: directory + "/keys")
    var random = SystemRandom()
    let secrets = DeviceSecrets(using: &random)
    try file.install(
      try KeyFile.seal(
        secrets, passphrase: secure("one"), parameters: testParameters(), duress: nil,
        using: &random), creating: true)
    #expect(try file.current().index == 0)
    try file.install(
      try KeyFile.seal(
        secrets, passphrase: secure("two"), parameters: testParameters(), duress: nil,
        using: &random))
    let state = try file.current()
    #expect(state.index == 1)
    #expect(state.slot.counter == 2)
    #expect(!state.staleOther)
    let bytes = try FileIO.read(directory + "/keys")
    #expect(bytes[0..<320].allSatisfy { $0 == 0 })
    guard case .opened(let opened) = try KeyFile.open(state.slot, passphrase: secure("two")) else {
      Issue.record("the new passphrase does not open the key file")
      return
    }
    #expect(opened.signing.publicKey == secrets.signing.publicKey)
    #expect(opened.box.publicKey == secrets.box.publicKey)
    #expect(opened.local.constantTimeEquals(secrets.local))
    guard case .wrongPassphrase = try KeyFile.open(state.slot, passphrase: secure("one")) else {
      Issue.record("the old passphrase still opens the key file")
      return
    }
  }

  @Test func duressIsRecognisedAndDistinct() throws {
    let directory = temporaryPath()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    var random = SystemRandom()
    let parameters = testParameters()
    let duress = try KeyFile.duress(passphrase: secure("help"), parameters: parameters)
    let slot = try KeyFile.seal(
      DeviceSecrets(using: &random), passphrase: secure("real"), parameters: parameters,
      duress: duress, using: &random)
    let decoded = try #require(KeyFile.Slot(decoding: ArraySlice(slot.encoded)))
    #expect(decoded == slot)
    if case .duress = try KeyFile.open(decoded, passphrase: secure("help")) {
    } else {
      Issue.record("the duress passphrase was not recognised")
    }
    if case .opened = try KeyFile.open(decoded, passphrase: secure("real")) {
    } else {
      Issue.record("the passphrase does not open")
    }
    if case .wrongPassphrase = try KeyFile.open(decoded, passphrase: secure("other")) {
    } else {
      Issue.record("a wrong passphrase was taken")
    }
  }

  @Test func attemptsWaitLongerAfterTheThirdFailure() {
    let directory = temporaryPath()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let attempts = Attempts(path: directory + "/attempts")
    let now: UInt64 = 1_000_000
    for _ in 0..<2 { attempts.recordFailure(now: now) }
    #expect(attempts.waitMilliseconds(now: now) == nil)
    attempts.recordFailure(now: now)
    #expect(attempts.waitMilliseconds(now: now) == 5000)
    attempts.recordFailure(now: now)
    #expect(attempts.waitMilliseconds(now: now) == 10000)
    #expect(attempts.waitMilliseconds(now: now + 10000) == nil)
    for _ in 0..<20 { attempts.recordFailure(now: now) }
    #expect(attempts.waitMilliseconds(now: now) == 600_000)
    attempts.reset()
    #expect(attempts.waitMilliseconds(now: now) == nil)
  }

  @Test func aStoreFromANewerVersionIsRefused() throws {
    let directory = temporaryPath()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    var random = SystemRandom()
    do {
      let store = try Store.create(
        at: directory + "/s", secrets: DeviceSecrets(using: &random), passphrase: secure("p"),
        parameters: testParameters())
      try store.db.execute("INSERT INTO migration (name) VALUES ('99-from-the-future')")
    }
    do {
      _ = try Store.open(at: directory + "/s")
      Issue.record("a store from a newer version opened")
    } catch {
      #expect(error.code == .newerFormat)
    }
  }

  @Test func outboxCursorsAndReadLog() throws {
    let directory = temporaryPath()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    var random = SystemRandom()
    let secrets = DeviceSecrets(using: &random)
    let store = try Store.create(
      at: directory + "/s", secrets: secrets, passphrase: secure("p"), parameters: testParameters())
    var log = LogBuilder(seed: 3)
    let second = log.note(log.admin, Array("sealed".utf8))
    try store.append([log.genesis, second], outbox: true, seen: 5)
    try store.append([second], outbox: true, seen: 6)  // a known id: no-op
    #expect(try store.entryCount == 2)
    #expect(try store.outbox().map(\.id) == [log.genesis.id, second.id])
    try store.acknowledge([log.genesis.id])
    #expect(try store.outbox().map(\.id) == [second.id])
    #expect(try store.entries().map(\.firstSeen) == [5, 5])
    try store.setCursor("relay", to: [1, 2, 3])
    #expect(try store.cursor("relay") == [1, 2, 3])
    #expect(try store.cursor("other") == nil)
    try store.logRead([9, 9])
    try store.logRead([8])
    let reads = try store.pendingReads()
    #expect(reads.map(\.record) == [[9, 9], [8]])
    try store.clearReads(through: reads[0].seq)
    #expect(try store.pendingReads().map(\.record) == [[8]])
    store.lock()
    #expect(throws: StoreError.self) { _ = try store.entries() }
  }
}
