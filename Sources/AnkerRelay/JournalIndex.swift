import AnkerCrypto
import AnkerLog
import AnkerStore
import AnkerSync

/// What the relay keeps in memory for one journal: the DAG of every stored entry (content
/// bodies detached, control bodies kept) and who may push, as `Membership` decides it: the
/// relay uses the same module as every device (DESIGN rule 2). The DAG also keeps each stored
/// entry's relay sequence number (`DAG.mark(of:)`), which is how the store is read by id.
struct JournalIndex {
  var dag: DAG
  var head: UInt64
  var chain: Digest256
  var bytes: Int64
  var erased: Set<Digest256>
  var rights: Rights

  /// The relay sequence number of a stored entry (sequence numbers start at 1; 0 is unset).
  func sequence(of id: EntryID) -> UInt64? {
    dag.mark(of: id).flatMap { $0 == 0 ? nil : $0 }
  }

  /// Who may authenticate to the relay and whose entries it takes, from the membership.
  struct Rights {
    /// Admitted and not removed.
    var active: Set<Signing.PublicKey> = []
    /// The active devices that are admins (they may invite).
    var admins: Set<Signing.PublicKey> = []
    /// Enrolled by the recovery authority, time lock still running (not vetoed): refused.
    var pending: Set<Signing.PublicKey> = []
    /// Enrolled by the recovery authority and vetoed by an admin: refused for good, and told so.
    var vetoed: Set<Signing.PublicKey> = []
    /// Removed devices. Every entry of theirs a standing removal accepted is an ancestor of
    /// that removal (`Membership` checks it), so it is stored already: the relay takes no new
    /// entry of theirs, not even a fork below the cut (DESIGN rule 2).
    var removed: Set<Signing.PublicKey> = []
    var recoveryAuthority: Signing.PublicKey?
    /// When the earliest pending time lock ends: the rights are evaluated again then.
    var recheckAt: UInt64?

    init() {}

    init(dag: DAG, now: UInt64) {
      let membership = Membership(dag: dag, now: now)
      for (key, device) in membership.devices {
        guard device.isRemoved else {
          active.insert(key)
          if device.role == .admin { admins.insert(key) }
          continue
        }
        removed.insert(key)
      }
      for enrolment in membership.enrolments.values where enrolment.isVetoed {
        vetoed.insert(enrolment.device)
      }
      for enrolment in membership.enrolments.values
      where !enrolment.isVetoed && membership.devices[enrolment.device] == nil {
        pending.insert(enrolment.device)
        recheckAt = min(recheckAt ?? enrolment.effectiveAt, enrolment.effectiveAt)
      }
      recoveryAuthority = membership.recoveryAuthority
    }

    enum Standing { case allowed, revoked, pending, unknown }

    /// Whether `device` may make requests.
    func standing(of device: Signing.PublicKey) -> Standing {
      if active.contains(device) || device == recoveryAuthority { return .allowed }
      // Until its time lock runs out, a device the recovery authority enrolled may neither
      // read nor push (SECURITY.md, "The recovery authority").
      if pending.contains(device) { return .pending }
      return removed.contains(device) ? .revoked : .unknown
    }

    /// Whether the relay takes `entry` (whoever pushes it): its author may write. (What a
    /// removed author wrote before its cut is stored before the removal can be placed.)
    func admits(_ entry: Entry) -> Standing {
      removed.contains(entry.author) ? .revoked : standing(of: entry.author)
    }
  }

  /// The form the DAG keeps: control bodies stay (membership reads them), others go.
  static func indexed(_ entry: Entry) -> Entry {
    entry.bodyKind == .control ? entry : entry.detachingBody()
  }

  init(genesis: Entry) throws(LogError) {
    dag = try DAG(genesis: genesis)
    head = 0
    chain = .zero
    bytes = 0
    erased = []
    rights = Rights(dag: dag, now: 0)
  }

  /// Rebuilds the index from stored rows (in sequence order).
  init(rows: [(sequence: UInt64, data: [UInt8])], erased: Set<Digest256>, bytes: Int64, now: UInt64)
    throws
  {
    guard let first = rows.first else {
      throw LogError(.invalidGenesis, "a stored journal has no genesis")
    }
    dag = try DAG(genesis: try Entry(decoding: first.data))
    dag.setMark(first.sequence, of: dag.genesisID)
    chain = RelayCheckpoint.extend(.zero, sequence: first.sequence, id: dag.genesisID)
    head = first.sequence
    for row in rows.dropFirst() {
      let entry = try Entry(decoding: row.data)
      try dag.insert(Self.indexed(entry))
      // The relay stores an entry only after its parents, so each row is placed at once.
      guard dag.setMark(row.sequence, of: entry.id) else {
        throw StoreError(.corrupt, "a stored entry comes before one of its parents")
      }
      chain = RelayCheckpoint.extend(chain, sequence: row.sequence, id: entry.id)
      head = row.sequence
    }
    self.bytes = bytes
    self.erased = erased
    rights = Rights(dag: dag, now: now)
  }
}
