import AnkerCrypto
import AnkerLog
import AnkerStore
import AnkerSync

/// Invites (DESIGN rule 6, DECISIONS 38): an admin registers the hash of a single-use token;
/// a new laptop presents the token once, before the expiry, with its public keys and a MAC
/// the relay cannot check (only the admin's laptop holds the invite's secret); the admin
/// fetches the request, checks it and admits the laptop with an ordinary `deviceAdded` entry.
/// The relay never learns the invite's secret and cannot make or alter a request that passes.
extension RelayService {
  /// The longest an invite may run.
  static let maxInviteLifetime: UInt64 = 7 * 24 * 3_600_000
  /// Invites a journal may hold open at once.
  static let maxOpenInvites = 64
  /// How long the relay keeps an invite after it ran out (so its admin can still see what
  /// came in): one day.
  static let inviteGrace: UInt64 = 24 * 3_600_000

  /// Registers an invite's token hash for `journal` (admins only).
  func registerInvite(
    _ tokenHash: Digest256, expires: UInt64, in journal: JournalID, by caller: Caller
  ) throws(RelayError) {
    let index = try index(journal)
    guard index.rights.admins.contains(caller.device) else {
      metrics.rejected("notAdmin")
      throw RelayError(.notAdmin, "only an admin's laptop can invite")
    }
    let now = configuration.clock()
    guard expires > now, expires - now <= Self.maxInviteLifetime else {
      throw RelayError(.badRequest, "an invite must run out in the future, within 7 days")
    }
    _ = try openGroup()
    try storing { () throws in
      try storage.pruneInvites(before: now > Self.inviteGrace ? now - Self.inviteGrace : 0)
      guard try storage.openInvites(of: journal, now: now) < Self.maxOpenInvites else {
        throw RelayError(
          .quotaExceeded, "the journal has \(Self.maxOpenInvites) open invites: cancel some")
      }
      guard
        try storage.addInvite(tokenHash, journal: journal, creator: caller.device, expires: expires)
      else { throw RelayError(.inviteExists, "that invite is registered already") }
    }
  }

  /// Takes a new laptop's enrolment request: the token's invite must exist, not have run
  /// out, and not have been used by another request. Sending the same request again is a
  /// no-op. Returns the invite's journal.
  func enrol(_ body: [UInt8]) async throws(RelayError) -> JournalID {
    guard let request = EnrolmentRequest(decoding: body) else {
      throw RelayError(
        .badRequest, "an enrolment request is \(EnrolmentRequest.encodedCount) bytes, version 1")
    }
    let tokenHash = InviteCode.tokenHash(request.token)
    let now = configuration.clock()
    let ticket = try openGroup()
    let journal = try storing { () throws -> JournalID in
      guard let row = try storage.invite(tokenHash) else {
        metrics.rejected("unknownInvite")
        throw RelayError(
          .unknownInvite, "the relay knows no such invite: ask the admin for a new code")
      }
      if let used = row.request {
        if used == body { return row.journal }
        metrics.rejected("inviteUsed")
        throw RelayError(
          .inviteUsed,
          "this invite was used already; if not by this laptop, tell the admin at once")
      }
      guard row.expires > now else {
        metrics.rejected("inviteExpired")
        throw RelayError(.inviteExpired, "this invite has run out: ask the admin for a new code")
      }
      _ = try storage.useInvite(tokenHash, request: body, arrived: now)
      return row.journal
    }
    try await settle(ticket)
    return journal
  }

  /// The requests that used the invites the calling admin registered.
  func enrolments(in journal: JournalID, for caller: Caller) throws(RelayError) -> [UInt8] {
    let index = try index(journal)
    guard index.rights.admins.contains(caller.device) else {
      metrics.rejected("notAdmin")
      throw RelayError(.notAdmin, "only an admin's laptop reads enrolment requests")
    }
    return try storing { () throws -> [UInt8] in
      var out = [UInt8]()
      for row in try storage.enrolments(of: journal, creator: caller.device) {
        guard let invite = Digest256(row.tokenHash),
          let request = EnrolmentRequest(decoding: row.request)
        else { continue }
        out += PendingEnrolment(invite: invite, arrived: row.arrived, request: request).encoded
      }
      return out
    }
  }

  /// Cancels an invite (its admin, or any admin of the journal); cancelling one the relay
  /// does not hold is a no-op.
  func cancelInvite(_ tokenHash: Digest256, in journal: JournalID, by caller: Caller)
    throws(RelayError)
  {
    let index = try index(journal)
    guard index.rights.admins.contains(caller.device) else {
      metrics.rejected("notAdmin")
      throw RelayError(.notAdmin, "only an admin's laptop can cancel an invite")
    }
    _ = try openGroup()
    try storing { () throws in
      guard let row = try storage.invite(tokenHash) else { return }
      guard row.journal == journal else {
        throw RelayError(.notFound, "the journal holds no such invite")
      }
      try storage.removeInvite(tokenHash)
    }
  }

  /// Runs storage work, turning store failures into plain relay errors.
  private func storing<R>(_ body: () throws -> R) throws(RelayError) -> R {
    do { return try body() } catch let error as RelayError { throw error } catch let
      error as StoreError
    {
      throw RelayError(error)
    } catch {
      throw RelayError(.internal, "the relay could not complete the request")
    }
  }
}
