import AnkerCrypto

/// Who may write what, decided from the DAG alone: the one implementation the model and the
/// relay share (DESIGN rule 2). `docs/DECISIONS.md` ("Membership") gives the rules in prose.
///
/// - The genesis author is the first admin. An admin's `deviceAdded` admits a device from
///   that entry on: an entry counts only if an admission of its author is among its ancestors,
///   and its role is that admission's.
/// - A `deviceRemoved` names the removed device's newest entry among the removal's ancestors;
///   every entry by that device not on the `prev` chain ending there is invalid, whatever
///   parents it cites (no backdating).
/// - Removals settle among themselves: one falls when a standing removal cut its author
///   before it; mutual removals and cycles all stand (every device in them is out). A stolen
///   device can never win a race by backdating.
/// - The recovery authority may only write `recoveryEnrolment`. The enrolled device counts
///   once the time lock has run (at least one hour, by default 72), counted from the latest
///   of the enrolment's claimed time, the latest control time among its ancestors, and when
///   this device first saw it, unless an admin vetoed it while the lock ran; a veto voids
///   every entry of that device.
/// - A `recoveryReplaced` retires every earlier authority; the newest replacement in causal
///   order names the current one.
///
/// Removals, vetoes and replacements reach entries that do not descend from them, so the
/// evaluation iterates to a fixed point (in practice one or two passes).
public struct Membership: Sendable {
  public enum Status: Hashable, Sendable {
    case valid
    case invalid(LogError.Code)
    /// Written by a device enrolled by the recovery authority whose time lock still runs.
    case pending(untilMilliseconds: UInt64)
  }

  public struct Device: Hashable, Sendable {
    public let key: Signing.PublicKey
    public let box: Box.PublicKey
    public let person: PersonID
    public let role: Role
    /// The entry that admitted it (genesis, `deviceAdded` or `recoveryEnrolment`).
    public let admittedBy: EntryID
    /// Effective removals of this device, ascending.
    public internal(set) var removedBy: [EntryID] = []
    public var isRemoved: Bool { !removedBy.isEmpty }
  }

  public struct Enrolment: Hashable, Sendable {
    public let id: EntryID
    public let authority: Signing.PublicKey
    public let device: Signing.PublicKey
    /// The enrolled device's X25519 key and its person, as the enrolment names them.
    public let box: Box.PublicKey
    public let person: PersonID
    /// When the time lock ends on this device (milliseconds since 1970): `vetoDeadline`, or
    /// later when this device first saw the enrolment later than the DAG proves it existed.
    public let effectiveAt: UInt64
    /// A veto counts only when its time is before this: the same on every device.
    public let vetoDeadline: UInt64
    /// Vetoes written before the deadline, ascending.
    public let vetoedBy: [EntryID]
    public var isVetoed: Bool { !vetoedBy.isEmpty }

    func vetoed(by ids: [EntryID]) -> Enrolment {
      Enrolment(
        id: id, authority: authority, device: device, box: box, person: person,
        effectiveAt: effectiveAt, vetoDeadline: vetoDeadline, vetoedBy: ids)
    }
  }

  public internal(set) var statuses: [EntryID: Status] = [:]
  /// Every admitted device, removed ones included.
  public internal(set) var devices: [Signing.PublicKey: Device] = [:]
  public internal(set) var enrolments: [EntryID: Enrolment] = [:]
  /// The recovery key in force: the genesis one, or the newest replacement's.
  public internal(set) var recoveryBox: Box.PublicKey
  public internal(set) var recoveryAuthority: Signing.PublicKey
  public let recoveryDelaySeconds: UInt64
  /// Recovery enrolments wait at least this long whatever the genesis says (one hour).
  public static let minimumRecoveryDelaySeconds: UInt64 = 3600
  /// Entries whose body is absent: until each is fetched or shown to be erased by a shred
  /// (which the model checks, DESIGN rule 4), its kind is unknown here and it counts as
  /// content; a missing control body could hide a membership change.
  public internal(set) var missingBodies: [EntryID] = []
  /// How many passes the fixed point took.
  public internal(set) var passes = 0

  /// Evaluates every placed entry of `dag` at wall-clock time `now` (ms). `firstSeen` gives,
  /// for recovery enrolments, when this device first saw them (ms), which can only delay the
  /// end of a time lock.
  public init(dag: DAG, now: UInt64, firstSeen: [EntryID: UInt64] = [:]) {
    guard case .genesis(let genesis)? = dag.genesis.control else {
      preconditionFailure("a DAG always starts with a genesis entry")
    }
    recoveryBox = genesis.recoveryBox
    recoveryAuthority = genesis.recoveryAuthority
    recoveryDelaySeconds = genesis.recoveryDelaySeconds
    let context = Context(
      dag: dag, order: dag.causalOrder, genesis: genesis, now: now, firstSeen: firstSeen)
    var state = State()
    var seen: Set<State> = [state]
    var pass: Pass
    repeat {
      passes += 1
      pass = Pass(context: context, state: state)
      let next = pass.nextState()
      if next == state { break }
      if seen.contains(next) || passes == 8 {
        // The assumptions cycle (or refuse to settle): take the most restrictive of the two.
        state = next.union(state)
        pass = Pass(context: context, state: state)
        break
      }
      seen.insert(next)
      state = next
    } while true
    statuses = pass.statuses
    missingBodies = context.order.filter { $0.body == nil }.map(\.id)
    devices = pass.devices
    enrolments = pass.enrolments
    if let replacement = pass.replacements.last {
      recoveryBox = replacement.box
      recoveryAuthority = replacement.authority
    }
    for (target, removals) in pass.effectiveRemovals() {
      devices[target]?.removedBy = removals.sorted()
    }
  }

  public func status(of id: EntryID) -> Status? { statuses[id] }

  /// Counts a sealed entry just placed after every other by an active device (its own
  /// write): what a full evaluation would decide, without one. The caller guarantees both.
  package mutating func admitAppended(_ id: EntryID) { statuses[id] = .valid }
  public func isValid(_ id: EntryID) -> Bool { statuses[id] == .valid }

  /// Devices that may write now (admitted, not removed, not waiting on a time lock).
  public var activeDevices: [Device] {
    devices.values.filter { !$0.isRemoved }.sorted { $0.key < $1.key }
  }
}

extension Membership {
  struct Context {
    let dag: DAG
    let order: [Entry]
    let genesis: Control.Genesis
    let now: UInt64
    let firstSeen: [EntryID: UInt64]
  }

  /// What one pass assumes about effects that reach beyond descendants.
  struct State: Hashable {
    /// Removed device → the ids it may still have written (its accepted chain).
    var cuts: [Signing.PublicKey: Set<EntryID>] = [:]
    var vetoed: Set<EntryID> = []
    /// Retired authority → replacements that retired it.
    var retired: [Signing.PublicKey: Set<EntryID>] = [:]

    func union(_ other: State) -> State {
      var out = self
      for (key, ids) in other.cuts {
        out.cuts[key] = out.cuts[key].map { $0.intersection(ids) } ?? ids
      }
      out.vetoed.formUnion(other.vetoed)
      out.retired.merge(other.retired) { $0.union($1) }
      return out
    }
  }
}
