public import AnkerCrypto
public import AnkerLog
import AnkerModel
import AnkerStore
public import AnkerSync

/// An invite this admin's laptop made: kept, secret and all, sealed in its store until a
/// laptop uses it or it is cancelled (DECISIONS 38).
public struct PendingInvite: Sendable {
  public let code: InviteCode
  /// The new colleague's name (a new person), or the existing person getting a laptop.
  public let name: String?
  public let person: PersonID?
  public var tokenHash: Digest256 { code.tokenHash }

  static let cursorPrefix = "invite "
  var cursorName: String { Self.cursorPrefix + tokenHash.hex }

  /// secret (16) ‖ genesis (32) ‖ admin (10) ‖ role (1) ‖ expires (8) ‖ has person (1) ‖
  /// person (16, when it has one) ‖ name (UTF-8, the rest).
  var encoded: [UInt8] {
    var out = code.secret.unsafeCopy() + code.genesis.bytes + code.admin + [code.role.rawValue]
    withUnsafeBytes(of: code.expires.bigEndian) { out += $0 }
    if let person { out += [1] + person.bytes } else { out += [0] }
    return out + Array((name ?? "").utf8)
  }

  init(code: InviteCode, name: String?, person: PersonID?) {
    self.code = code
    self.name = name
    self.person = person
  }

  init?(decoding bytes: [UInt8]) {
    var bytes = bytes
    defer { ConstantTime.zero(&bytes) }
    guard bytes.count >= 68, let genesis = Digest256(bytes[16..<48]),
      let role = Role(rawValue: bytes[58])
    else { return nil }
    let expires = bytes[59..<67].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    var offset = 68
    if bytes[67] == 1 {
      guard bytes.count >= 84, let person = PersonID(bytes[68..<84]) else { return nil }
      self.person = person
      offset = 84
    } else {
      person = nil
    }
    let name = String(decoding: bytes[offset...], as: UTF8.self)
    self.name = name.isEmpty ? nil : name
    code = InviteCode(
      secret: SecureBytes(copying: bytes[0..<16]), genesis: genesis, admin: Array(bytes[48..<58]),
      role: role, expires: expires)
  }
}

/// Where a laptop that sent an enrolment request waits: the journal it asked to join and what
/// the invite pinned (DESIGN rule 6).
public struct PendingJoin: Sendable {
  public let journal: JournalID
  public let genesis: EntryID
  public let admin: [UInt8]
  public let role: Role

  static let cursorName = "join"

  var encoded: [UInt8] { journal.bytes + genesis.bytes + admin + [role.rawValue] }

  init(journal: JournalID, genesis: EntryID, admin: [UInt8], role: Role) {
    self.journal = journal
    self.genesis = genesis
    self.admin = admin
    self.role = role
  }

  init?(decoding bytes: [UInt8]) {
    guard bytes.count == 75, let journal = Digest256(bytes[0..<32]),
      let genesis = Digest256(bytes[32..<64]), let role = Role(rawValue: bytes[74])
    else { return nil }
    self.init(journal: journal, genesis: genesis, admin: Array(bytes[64..<74]), role: role)
  }

  public var adminFingerprint: String {
    InviteCode(
      secret: SecureBytes(count: InviteCode.secretCount), genesis: genesis, admin: admin,
      role: role, expires: 0
    ).adminFingerprint
  }
}

extension Journal {
  /// Makes an invite (admins): registers its token's hash with the relay, then keeps the
  /// invite sealed in this laptop's store. Give the code (`code.text`) to the new colleague
  /// only; it works once, until `lifetime` (ms) has passed.
  public func invite(
    relay: String, role: Role, name: String?, person: PersonID?, lifetime: UInt64,
    transport: any RelayTransport = URLSessionTransport()
  ) async throws(JournalError) -> PendingInvite {
    let state = try self.state
    let (client, code) = try withSession { session throws(JournalError) in
      guard let dag = session.dag else {
        throw JournalError(.notEnrolled, "this laptop is not a member of a journal yet")
      }
      let me = session.secrets.signing.publicKey
      guard state.membership.devices[me]?.role == .admin else {
        throw JournalError(.notEnrolled, "only an admin's laptop can invite")
      }
      var random = SystemRandom()
      let code = InviteCode(
        genesis: dag.genesisID, adminDevice: me, adminBox: session.secrets.box.publicKey,
        role: role, expires: options.clock() + lifetime, using: &random)
      do {
        let client = try RelayClient(
          url: relay, journal: dag.genesis.header.journal, device: session.secrets.signing,
          transport: transport, clock: options.clock)
        return (client, code)
      } catch { throw JournalError(error) }
    }
    do { try await client.registerInvite(code.tokenHash, expires: code.expires) } catch {
      throw JournalError(error)
    }
    let invite = PendingInvite(code: code, name: name, person: person)
    try withSession { _ throws(JournalError) in
      do { try store.setCursor(invite.cursorName, to: invite.encoded) } catch {
        throw JournalError(error)
      }
    }
    return invite
  }

  /// The invites this laptop made that no laptop has used yet, oldest expiry first.
  public func invites() throws(JournalError) -> [PendingInvite] {
    try withSession { _ throws(JournalError) in
      do {
        return try store.cursorNames(prefix: PendingInvite.cursorPrefix).compactMap {
          (name) throws(StoreError) in
          try store.cursor(name).flatMap(PendingInvite.init(decoding:))
        }.sorted { $0.code.expires < $1.code.expires }
      } catch { throw JournalError(error) }
    }
  }

  /// Forgets an invite here and on the relay.
  public func cancelInvite(
    _ invite: PendingInvite, relay: String, transport: any RelayTransport = URLSessionTransport()
  ) async throws(JournalError) {
    let client = try relayClient(relay, transport: transport)
    do { try await client.cancelInvite(invite.tokenHash) } catch { throw JournalError(error) }
    try forget(invite)
  }

  func forget(_ invite: PendingInvite) throws(JournalError) {
    try withSession { _ throws(JournalError) in
      do { try store.removeCursor(invite.cursorName) } catch { throw JournalError(error) }
    }
  }

  /// The enrolment requests that used this laptop's invites, each with its invite.
  public func enrolmentRequests(
    relay: String, transport: any RelayTransport = URLSessionTransport()
  ) async throws(JournalError) -> [(invite: PendingInvite, request: EnrolmentRequest)] {
    let client = try relayClient(relay, transport: transport)
    let pending: [PendingEnrolment]
    do { pending = try await client.enrolments() } catch { throw JournalError(error) }
    let mine = try invites()
    return pending.compactMap { item in
      mine.first { $0.tokenHash == item.invite }.map { ($0, item.request) }
    }
  }

  /// Admits the laptop that sent `request` with `invite`, after checking it carries the
  /// invite's MAC over the genesis, the role and its keys and that the invite has not run
  /// out; writes the `deviceAdded` entry (and the new person's name) and forgets the invite.
  /// Sync afterwards so the laptop can join.
  public func admit(_ request: EnrolmentRequest, with invite: PendingInvite) throws(JournalError) {
    guard invite.code.authenticates(request) else {
      throw JournalError(
        .invalidArgument,
        "the request does not carry the invite's code: someone other than the invited laptop used it"
      )
    }
    guard options.clock() <= invite.code.expires else {
      throw JournalError(.invalidArgument, "the invite ran out before it was accepted")
    }
    try addDevice(
      DeviceRequest(device: request.device, box: request.box), role: invite.code.role,
      person: invite.person, name: invite.person == nil ? invite.name : nil)
    try forget(invite)
  }

  private func relayClient(_ relay: String, transport: any RelayTransport) throws(JournalError)
    -> RelayClient
  {
    try withSession { session throws(JournalError) in
      guard let dag = session.dag else {
        throw JournalError(.notEnrolled, "this laptop is not a member of a journal yet")
      }
      do {
        return try RelayClient(
          url: relay, journal: dag.genesis.header.journal, device: session.secrets.signing,
          transport: transport, clock: options.clock)
      } catch { throw JournalError(error) }
    }
  }

  // MARK: - The new laptop

  /// Sends this new laptop's enrolment request with `code` (its keys and the MAC), and
  /// remembers, sealed, what the invite pinned. Then `finishJoin` waits for the admin.
  public func requestEnrolment(
    with code: InviteCode, relay: String, transport: any RelayTransport = URLSessionTransport()
  ) async throws(JournalError) -> PendingJoin {
    guard options.clock() < code.expires else {
      throw JournalError(.invalidArgument, "this invite has run out: ask the admin for a new one")
    }
    let (device, box) = try withSession { session throws(JournalError) in
      guard session.dag == nil else {
        throw JournalError(.invalidArgument, "this laptop is a member of a journal already")
      }
      return (session.secrets.signing, session.secrets.box.publicKey)
    }
    let journal: JournalID
    do {
      let client = try RelayClient(
        url: relay, journal: .zero, device: device, transport: transport, clock: options.clock)
      journal = try await client.enrol(code.request(device: device.publicKey, box: box))
    } catch { throw JournalError(error) }
    let pending = PendingJoin(
      journal: journal, genesis: code.genesis, admin: code.admin, role: code.role)
    try withSession { _ throws(JournalError) in
      do { try store.setCursor(PendingJoin.cursorName, to: pending.encoded) } catch {
        throw JournalError(error)
      }
    }
    return pending
  }

  /// The enrolment this laptop sent and waits on, if any.
  public func pendingJoin() throws(JournalError) -> PendingJoin? {
    try withSession { _ throws(JournalError) in
      do {
        return try store.cursor(PendingJoin.cursorName).flatMap(PendingJoin.init(decoding:))
      } catch { throw JournalError(error) }
    }
  }

  /// Tries to join after an enrolment request: returns false while the admin has not
  /// admitted this laptop yet. The journal must start with the invite's genesis, and the
  /// laptop must have been admitted by the inviting admin, in the invite's role; anything
  /// else is refused and nothing is stored.
  public func finishJoin(relay: String, transport: any RelayTransport = URLSessionTransport())
    async throws(JournalError) -> Bool
  {
    guard let pending = try pendingJoin() else {
      throw JournalError(.invalidArgument, "this laptop has sent no enrolment request")
    }
    do {
      try await join(
        relay: relay, journal: pending.journal, genesis: pending.genesis,
        admittedBy: pending.admin, role: pending.role, transport: transport)
    } catch let error {
      if case let cause as SyncError = error.cause, cause.relayCode == "unknownDevice" {
        return false
      }
      if error.code == .notEnrolled { return false }
      throw error
    }
    try withSession { _ throws(JournalError) in
      do { try store.removeCursor(PendingJoin.cursorName) } catch { throw JournalError(error) }
    }
    return true
  }
}
