import AnkerCrypto
import AnkerLog

/// The recovery authority's one power and the admins' answer to it (DESIGN rule 3): after
/// every admin laptop is lost, the paper key's authority enrols a new admin device; the device
/// counts only once the time lock has run out, and any admin device can veto it meanwhile.
extension JournalWriter {
  /// A recovery enrolment of `device` (with its X25519 key `box`) for `person`, signed by
  /// the recovery `authority` and citing the current heads of `dag`. The authority must be the
  /// one in force in `membership` (the genesis one or the newest replacement), and the device
  /// must be new to the journal. The entry continues the authority's own chain, so a second
  /// enrolment never forks it.
  public static func recoveryEnrolment(
    of device: Signing.PublicKey, box: Box.PublicKey, person: PersonID,
    authority: Signing.PrivateKey, membership: Membership, dag: inout DAG, now: UInt64
  ) throws(ModelError) -> Entry {
    guard membership.recoveryAuthority == authority.publicKey else {
      throw ModelError(
        .notRecoveryAuthority,
        "this paper key is not the journal's recovery key in force (it was replaced, or it "
          + "belongs to another journal)")
    }
    guard membership.devices[device] == nil,
      !membership.enrolments.values.contains(where: { $0.device == device }),
      device != authority.publicKey
    else {
      throw ModelError(.invalidValue, "this device is already known to the journal")
    }
    // The authority's newest entry (highest sequence): the next one follows it.
    let last = dag.causalOrder.filter { $0.author == authority.publicKey }
      .max { ($0.sequence, $0.id) < ($1.sequence, $1.id) }
    let enrolment = Control.RecoveryEnrolment(
      time: Timestamp(milliseconds: now), device: device, box: box, person: person)
    let entry = dag.draft(author: authority.publicKey, lastOwn: last?.id)
      .sign(body: Control.recoveryEnrolment(enrolment).encoded, with: authority)
    do { try dag.insert(entry) } catch {
      throw ModelError(.invalidValue, "the enrolment does not fit the log: \(error.code)")
    }
    return entry
  }

  /// Vetoes the recovery enrolment `enrolment` (admins only): the enrolled device never
  /// counts, and its entries are void everywhere. Refused once the veto window has closed,
  /// when a veto would no longer count: then an admin revokes the device instead.
  public mutating func vetoRecoveryEnrolment(
    _ enrolment: EntryID, state: JournalState, dag: inout DAG, now: UInt64
  ) throws(ModelError) -> Entry {
    let membership = state.membership
    guard membership.devices[device.publicKey]?.role == .admin,
      membership.devices[device.publicKey]?.isRemoved == false
    else {
      throw ModelError(.notAdmin, "only an admin device can veto a recovery enrolment")
    }
    guard let found = membership.enrolments[enrolment] else {
      throw ModelError(.invalidValue, "no such recovery enrolment")
    }
    guard !found.isVetoed else {
      throw ModelError(.invalidValue, "this recovery enrolment is vetoed already")
    }
    let time = clock.tick(wallClock: now)
    guard time.milliseconds < found.vetoDeadline else {
      throw ModelError(
        .vetoTooLate,
        "the time lock of this recovery enrolment has run out, so a veto would not count: "
          + "revoke the laptop it enrolled instead")
    }
    return try control(
      .recoveryVeto(Control.RecoveryVeto(time: time, enrolment: enrolment)), state: state,
      dag: &dag)
  }
}
