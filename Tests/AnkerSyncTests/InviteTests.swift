import Anker
import AnkerCrypto
import AnkerLog
import AnkerStore
import AnkerSync
import Foundation
import Testing

/// Invites (DESIGN rule 6, DECISIONS 38) against a real relay process.
@Suite(.serialized) struct InviteTests {
  /// An admin and a relay holding the journal.
  private func adminOnRelay(_ directory: TemporaryDirectory) async throws -> (
    Journal, RelayProcess
  ) {
    let relay = try RelayProcess(directory: directory.path)
    let (admin, _) = try Journal.create(
      at: directory.path + "/admin", passphrase: passphrase("admin pass"), name: "Admin",
      options: testOptions)
    _ = try await admin.sync(relay: relay.url)
    return (admin, relay)
  }

  private func newLaptop(_ directory: TemporaryDirectory, _ name: String) throws -> Journal {
    try Journal.prepareDevice(
      at: directory.path + "/" + name, passphrase: passphrase("laptop pass"),
      options: testOptions
    ).journal
  }

  @Test func aLaptopJoinsWithAnInviteExactlyOnce() async throws {
    let directory = TemporaryDirectory()
    defer { directory.cleanUp() }
    let (admin, relay) = try await adminOnRelay(directory)
    defer { relay.stop() }
    let invite = try await admin.invite(
      relay: relay.url, role: .worker, name: "New colleague", person: nil, lifetime: 3_600_000)
    // The code travels as text.
    let code = try InviteCode(text: invite.code.text)
    let laptop = try newLaptop(directory, "laptop")
    let pending = try await laptop.requestEnrolment(with: code, relay: relay.url)
    #expect(pending.journal == (try admin.identity.journal))
    #expect(try await laptop.finishJoin(relay: relay.url) == false)

    // The same code on another laptop: the relay took its single use.
    let other = try newLaptop(directory, "other")
    await #expect {
      try await other.requestEnrolment(with: code, relay: relay.url)
    } throws: { relayCode($0) == "inviteUsed" }
    // Sending the same request again is harmless (a lost answer).
    _ = try await laptop.requestEnrolment(with: code, relay: relay.url)

    let requests = try await admin.enrolmentRequests(relay: relay.url)
    #expect(requests.count == 1)
    let request = try #require(requests.first)
    #expect(request.request.fingerprint == (try laptop.deviceRequest.fingerprint))
    try admin.admit(request.request, with: request.invite)
    #expect(try admin.invites().isEmpty)
    _ = try await admin.sync(relay: relay.url)
    #expect(try await laptop.finishJoin(relay: relay.url))
    let me = try laptop.state.membership.devices[laptop.deviceRequest.device]
    #expect(me?.role == .worker)
    #expect(try laptop.pendingJoin() == nil)
    #expect(try laptop.state.digest == admin.state.digest)
  }

  @Test func aRequestWithOtherKeysOrRoleFailsTheCheck() async throws {
    var random = SystemRandom()
    let admin = Signing.PrivateKey(using: &random)
    let code = InviteCode(
      genesis: BLAKE2b.hash256([1, 2, 3]), adminDevice: admin.publicKey,
      adminBox: Box.PrivateKey(using: &random).publicKey, role: .worker, expires: .max,
      using: &random)
    let device = Signing.PrivateKey(using: &random).publicKey
    let box = Box.PrivateKey(using: &random).publicKey
    let honest = code.request(device: device, box: box)
    #expect(code.authenticates(honest))
    // A relay (or anyone who saw the token) swaps in its own keys: the MAC fails.
    let swapped = EnrolmentRequest(
      token: honest.token, role: .worker, device: Signing.PrivateKey(using: &random).publicKey,
      box: box, mac: honest.mac)
    #expect(!code.authenticates(swapped))
    let promoted = EnrolmentRequest(
      token: honest.token, role: .admin, device: device, box: box, mac: honest.mac)
    #expect(!code.authenticates(promoted))
    // Another invite's secret makes another MAC.
    let stranger = InviteCode(
      genesis: code.genesis, adminDevice: admin.publicKey,
      adminBox: Box.PrivateKey(using: &random).publicKey, role: .worker, expires: .max,
      using: &random)
    #expect(!code.authenticates(stranger.request(device: device, box: box)))
    #expect(EnrolmentRequest(decoding: honest.encoded) == honest)
  }

  @Test func aCodeWithATypoIsRefusedAndOneWithoutIsRead() throws {
    var random = SystemRandom()
    let code = InviteCode(
      genesis: BLAKE2b.hash256([9]), adminDevice: Signing.PrivateKey(using: &random).publicKey,
      adminBox: Box.PrivateKey(using: &random).publicKey, role: .admin, expires: 1_800_000_000_000,
      using: &random)
    let text = code.text
    // Case, spaces for dashes and line breaks do not matter.
    let body = text.dropFirst(InviteCode.prefix.count).lowercased()
    let read = try InviteCode(
      text: "  " + InviteCode.prefix + body.replacingOccurrences(of: "-", with: " ") + "\n")
    #expect(read.genesis == code.genesis && read.role == .admin && read.expires == code.expires)
    #expect(read.token == code.token && read.admin == code.admin)
    var typo = Array(text)
    let at = typo.count - 10
    typo[at] = typo[at] == "A" ? "B" : "A"
    #expect(throws: InviteCode.DecodingError.damaged) { try InviteCode(text: String(typo)) }
    #expect(throws: InviteCode.DecodingError.damaged) {
      try InviteCode(text: String(text.dropLast(4)))
    }
    #expect(throws: InviteCode.DecodingError.notAnInvite) { try InviteCode(text: "hello") }
  }

  @Test func anExpiredInviteAndAWorkersInviteAreRefused() async throws {
    let directory = TemporaryDirectory()
    defer { directory.cleanUp() }
    let (admin, relay) = try await adminOnRelay(directory)
    defer { relay.stop() }
    let invite = try await admin.invite(
      relay: relay.url, role: .worker, name: "Late", person: nil, lifetime: 1_000)
    try await Task.sleep(for: .milliseconds(1_500))
    let laptop = try newLaptop(directory, "late")
    // The laptop refuses by its own clock...
    await #expect(throws: JournalError.self) {
      try await laptop.requestEnrolment(with: invite.code, relay: relay.url)
    }
    // ...and the relay by its own.
    let secrets = try #require(laptop.unlockedSecrets)
    let client = try RelayClient(
      url: relay.url, journal: .zero, device: secrets.signing, transport: URLSessionTransport(),
      clock: { Store.wallClock() })
    await #expect {
      _ = try await client.enrol(
        invite.code.request(device: secrets.signing.publicKey, box: secrets.box.publicKey))
    } throws: { ($0 as? SyncError)?.relayCode == "inviteExpired" }
    // An unknown token.
    var random = SystemRandom()
    let unknown = InviteCode(
      genesis: invite.code.genesis, adminDevice: secrets.signing.publicKey,
      adminBox: secrets.box.publicKey, role: .worker, expires: .max, using: &random)
    await #expect {
      _ = try await client.enrol(
        unknown.request(device: secrets.signing.publicKey, box: secrets.box.publicKey))
    } throws: { ($0 as? SyncError)?.relayCode == "unknownInvite" }

    // A worker may not invite: its laptop refuses, and so does the relay.
    let team = try await makeTeam(in: directory.path + "/team", relay: relay.url, workers: 1)
    let worker = team[1]
    await #expect(throws: JournalError.self) {
      _ = try await worker.invite(
        relay: relay.url, role: .worker, name: "X", person: nil, lifetime: 60_000)
    }
    let workerSecrets = try #require(worker.unlockedSecrets)
    let workerClient = try RelayClient(
      url: relay.url, journal: try worker.identity.journal, device: workerSecrets.signing,
      transport: URLSessionTransport(), clock: { Store.wallClock() })
    await #expect {
      try await workerClient.registerInvite(unknown.tokenHash, expires: Store.wallClock() + 60_000)
    } throws: { ($0 as? SyncError)?.relayCode == "notAdmin" }
  }

  /// The joining laptop checks who admitted it: the admin the invite names, in its role.
  @Test func aLaptopAdmittedByAnotherAdminRefusesTheJournal() async throws {
    let directory = TemporaryDirectory()
    defer { directory.cleanUp() }
    let (admin, relay) = try await adminOnRelay(directory)
    defer { relay.stop() }
    // A second admin.
    let second = try newLaptop(directory, "second")
    try admin.addDevice(try second.deviceRequest, role: .admin, name: "Second admin")
    _ = try await admin.sync(relay: relay.url)
    let identity = try admin.identity
    try await second.join(relay: relay.url, journal: identity.journal, genesis: identity.genesis)

    let invite = try await admin.invite(
      relay: relay.url, role: .worker, name: "New", person: nil, lifetime: 3_600_000)
    let laptop = try newLaptop(directory, "laptop")
    _ = try await laptop.requestEnrolment(with: invite.code, relay: relay.url)
    // The second admin adds the laptop's keys, bypassing the invite.
    try second.addDevice(try laptop.deviceRequest, role: .worker, name: "New")
    _ = try await second.sync(relay: relay.url)
    await #expect {
      _ = try await laptop.finishJoin(relay: relay.url)
    } throws: { ($0 as? JournalError)?.code == .invalidLog }
    #expect(throws: JournalError.self) { _ = try laptop.identity }
  }
}
