public import AnkerCrypto
public import AnkerLog
import AnkerModel
import AnkerStore

/// A recovery enrolment as this device sees it: the paper key's authority enrolled a new
/// admin laptop, which counts only once its time lock has run out unless an admin vetoed it
/// meanwhile (DESIGN rule 3). Holds no content; `personName` is the only name, for an admin's
/// own screen.
public struct RecoveryEnrolmentInfo: Hashable, Sendable {
  public enum Standing: Hashable, Sendable {
    /// The time lock still runs: an admin device can veto it until `vetoDeadline`.
    case pending
    /// An admin vetoed it in time: the device never counts.
    case vetoed
    /// The lock ran out unvetoed: the device is an admin.
    case admitted
  }

  /// The enrolment entry's id.
  public let id: EntryID
  public let device: Signing.PublicKey
  public let box: Box.PublicKey
  public let person: PersonID
  /// The person's name as this device reads it; nil for a new person not named yet.
  public let personName: String?
  /// When the device counts on this laptop (ms since 1970).
  public let effectiveAt: UInt64
  /// A veto must be written before this (ms since 1970); the same on every device.
  public let vetoDeadline: UInt64
  public let vetoedBy: [EntryID]
  public let standing: Standing

  /// The enrolled laptop's fingerprint, as `anker devices list` shows it.
  public var fingerprint: String { DeviceRequest(device: device, box: box).fingerprint }
}

extension Journal {
  /// Every recovery enrolment in the journal, oldest first, evaluated at the current time.
  public func recoveryEnrolments() throws(JournalError) -> [RecoveryEnrolmentInfo] {
    try withSession { session throws(JournalError) in
      try refreshLapsedTimeLocks(session)
      guard let state = session.state else { return [] }
      return Self.enrolments(in: state)
    }
  }

  /// This laptop's own recovery enrolment, when the recovery authority enrolled it.
  public var ownRecoveryEnrolment: RecoveryEnrolmentInfo? {
    get throws(JournalError) {
      let me = try device.key
      return try recoveryEnrolments().last { $0.device == me }
    }
  }

  /// Vetoes a pending recovery enrolment (admins only). Sync at once: the veto counts only
  /// when written before the deadline, and the relay and the other laptops learn of it by
  /// sync.
  public func vetoRecoveryEnrolment(_ enrolment: EntryID) throws(JournalError) {
    try write(needsFullLog: true) { writer, state, dag, _, now throws(ModelError) in
      ((), [try writer.vetoRecoveryEnrolment(enrolment, state: state, dag: &dag, now: now)])
    }
  }

  static func enrolments(in state: JournalState) -> [RecoveryEnrolmentInfo] {
    let membership = state.membership
    return membership.enrolments.values.map { enrolment in
      let standing: RecoveryEnrolmentInfo.Standing =
        enrolment.isVetoed
        ? .vetoed
        : membership.devices[enrolment.device]?.admittedBy == enrolment.id ? .admitted : .pending
      return RecoveryEnrolmentInfo(
        id: enrolment.id, device: enrolment.device, box: enrolment.box, person: enrolment.person,
        personName: state.people[enrolment.person]?.name.shown?.value,
        effectiveAt: enrolment.effectiveAt, vetoDeadline: enrolment.vetoDeadline,
        vetoedBy: enrolment.vetoedBy, standing: standing)
    }.sorted { ($0.vetoDeadline, $0.id) < ($1.vetoDeadline, $1.id) }
  }

  /// A time lock the state saw running has run out since it was evaluated: evaluate again,
  /// as membership depends on the clock there.
  func refreshLapsedTimeLocks(_ session: Session) throws(JournalError) {
    guard let membership = session.state?.membership else { return }
    let now = options.clock()
    let lapsed = membership.enrolments.values.contains {
      !$0.isVetoed && $0.effectiveAt <= now && membership.devices[$0.device] == nil
    }
    if lapsed { try loadFully(session) }
  }
}

// MARK: - For `anker-restore rebuild`

extension Journal {
  /// Keeps the journal a restore read and checked (`dag` holds exactly `entries`, parents
  /// first, the recovery enrolment of this device among them) on a laptop prepared with
  /// `prepareDevice`. Like `join`, but the device need not count yet: its enrolment's time
  /// lock runs.
  package func adoptRecoveryEnrolment(dag: DAG, entries: [Entry]) throws(JournalError) {
    try adopt(dag: dag, entries: entries) { membership, me throws(JournalError) in
      guard
        membership.enrolments.values.contains(where: { $0.device == me && !$0.isVetoed })
      else {
        throw JournalError(
          .notEnrolled, "the journal handed over holds no recovery enrolment of this laptop")
      }
    }
  }

  /// The person and name `anker-restore rebuild` gave for a new person, kept sealed in the
  /// store until the device can write the name (`completeRecovery`).
  package func keepRecoveryName(_ name: String, for person: PersonID) throws(JournalError) {
    try withSession { _ throws(JournalError) in
      do {
        try store.setCursor(Self.recoveryNameRow, to: person.bytes + Array(name.utf8))
      } catch { throw JournalError(error) }
    }
  }

  static let recoveryNameRow = "recovery rebuild name"

  /// Once this laptop's recovery enrolment counts: reads the journal with the paper key's
  /// X25519 key `paper` as a second reader (in memory only; nothing read with it is stored),
  /// and writes a new epoch sealed to every active device and the recovery key, with links
  /// to the earlier epochs, so this device reads the whole history with its own key from
  /// then on. Then names the person, if `anker-restore rebuild` kept a name for a new one.
  /// Returns the entries written (none when the device held the newest key already).
  @discardableResult
  package func completeRecovery(reader paper: Box.PrivateKey) throws(JournalError) -> [Entry] {
    try withSession { session throws(JournalError) -> [Entry] in
      try ensureFullLog(session)
      try refreshLapsedTimeLocks(session)
      guard let dag = session.dag else {
        throw JournalError(.notEnrolled, "this laptop holds no journal yet")
      }
      let me = session.secrets.signing.publicKey
      let now = options.clock()
      // Never installed in the session and never in a snapshot: it lives for this call.
      let withPaper = JournalState(
        dag: dag, readers: [session.secrets.box, paper], now: now, firstSeen: session.firstSeen)
      guard let device = withPaper.membership.devices[me], !device.isRemoved,
        device.role == .admin
      else {
        throw JournalError(
          .notEnrolled, "this laptop's recovery enrolment does not count (yet, or any more)")
      }
      let written = try commit(session, needsFullLog: true) {
        writer, _, dag, random, now throws(ModelError) in
        try writer.shareNewestKey(state: withPaper, dag: &dag, now: now, using: &random)
      }
      var kept: [UInt8]?
      do { kept = try store.cursor(Self.recoveryNameRow) } catch { throw JournalError(error) }
      guard var kept, kept.count > 16, let person = PersonID(kept.prefix(16)) else {
        return written
      }
      defer { ConstantTime.zero(&kept) }
      var named = written
      if session.state?.people[person]?.name.shown == nil {
        let name = String(decoding: kept.dropFirst(16), as: UTF8.self)
        named += try commit(session) { writer, state, dag, random, now throws(ModelError) in
          [
            try writer.namePerson(
              person, name: name, state: state, dag: &dag, now: now, using: &random)
          ]
        }
      }
      do { try store.setCursor(Self.recoveryNameRow, to: []) } catch { throw JournalError(error) }
      return named
    }
  }
}
