import AnkerCrypto

extension Membership {
  struct Removal {
    let id: EntryID
    let author: Signing.PublicKey
    let target: Signing.PublicKey
    /// The target's entries the remover accepted.
    let accepted: Set<EntryID>
  }

  struct Replacement {
    let id: EntryID
    let box: Box.PublicKey
    let authority: Signing.PublicKey
  }

  /// One walk over the entries in causal order under an assumed `State`.
  struct Pass {
    let context: Context
    let state: State
    var statuses: [EntryID: Status] = [:]
    var devices: [Signing.PublicKey: Device] = [:]
    var enrolments: [EntryID: Enrolment] = [:]
    var replacements: [Replacement] = []
    var removals: [Removal] = []
    var vetoes: [EntryID: [EntryID]] = [:]
    /// Whether the author was a member at each entry (cached along author chains).
    private var memberAt: [EntryID: Bool] = [:]
    /// Valid admissions per device, in causal order.
    private var admissions: [Signing.PublicKey: [EntryID]] = [:]
    /// Enrolment admissions whose lock runs until the given time.
    private var lockedUntil: [EntryID: UInt64] = [:]
    /// Recovery authorities and the entry naming each.
    private var authorities: [Signing.PublicKey: EntryID] = [:]

    init(context: Context, state: State) {
      self.context = context
      self.state = state
      let genesis = context.dag.genesis
      authorities[context.genesis.recoveryAuthority] = genesis.id
      for entry in context.order { visit(entry) }
      for (enrolmentID, vetoIDs) in vetoes {
        if let enrolment = enrolments[enrolmentID] {
          enrolments[enrolmentID] = Enrolment(
            id: enrolment.id, authority: enrolment.authority, device: enrolment.device,
            effectiveAt: enrolment.effectiveAt, vetoedBy: vetoIDs.sorted())
        }
      }
      for removal in removals where !effective(removal) {
        statuses[removal.id] = .invalid(.removedDevice)
      }
    }

    private mutating func visit(_ entry: Entry) {
      let dag = context.dag
      if entry.id == dag.genesisID {
        statuses[entry.id] = .valid
        memberAt[entry.id] = true
        admit(entry.author, box: context.genesis.box, person: context.genesis.person, role: .admin, by: entry.id)
        return
      }
      let control = entry.control
      var isRemoval = false
      if case .deviceRemoved? = control { isRemoval = true }
      if let allowed = state.cuts[entry.author], !allowed.contains(entry.id), !isRemoval {
        statuses[entry.id] = .invalid(.removedDevice)
        return
      }
      if authorities[entry.author] != nil {
        statuses[entry.id] = authorityEntry(entry, control)
        return
      }
      switch membership(of: entry) {
      case .valid: break
      case let other:
        statuses[entry.id] = other
        return
      }
      let role = devices[entry.author]?.role
      statuses[entry.id] = apply(entry, control, role: role)
    }

    /// Whether the author of `entry` had been admitted in its ancestors.
    private mutating func membership(of entry: Entry) -> Status {
      if let prev = entry.prev, memberAt[prev] == true {
        memberAt[entry.id] = true
        return .valid
      }
      var pendingUntil: UInt64?
      var vetoed = false
      for admission in admissions[entry.author] ?? [] where context.dag.isAncestor(admission, of: entry.id) {
        if state.vetoed.contains(admission) {
          vetoed = true
          continue
        }
        if let until = lockedUntil[admission], until > context.now {
          pendingUntil = min(pendingUntil ?? until, until)
          continue
        }
        memberAt[entry.id] = true
        return .valid
      }
      memberAt[entry.id] = false
      if let pendingUntil { return .pending(untilMilliseconds: pendingUntil) }
      return .invalid(vetoed ? .recoveryVetoed : .notMember)
    }

    private mutating func authorityEntry(_ entry: Entry, _ control: Control?) -> Status {
      guard case .recoveryEnrolment(let enrolment)? = control else {
        return .invalid(.notRecoveryAuthority)
      }
      let namedBy = authorities[entry.author]!
      guard namedBy == context.dag.genesisID || context.dag.isAncestor(namedBy, of: entry.id) else {
        return .invalid(.notRecoveryAuthority)
      }
      if let retiredBy = state.retired[entry.author],
        !retiredBy.contains(where: { context.dag.isAncestor(entry.id, of: $0) })
      {
        return .invalid(.notRecoveryAuthority)
      }
      guard devices[enrolment.device] == nil, authorities[enrolment.device] == nil else {
        return .invalid(.invalidControl)
      }
      let start = max(enrolment.time.milliseconds, context.firstSeen[entry.id] ?? 0)
      let until = start + context.genesis.recoveryDelaySeconds * 1000
      enrolments[entry.id] = Enrolment(
        id: entry.id, authority: entry.author, device: enrolment.device, effectiveAt: until,
        vetoedBy: [])
      lockedUntil[entry.id] = until
      if !state.vetoed.contains(entry.id) && until <= context.now {
        admit(enrolment.device, box: enrolment.box, person: enrolment.person, role: .admin, by: entry.id)
      } else {
        admissions[enrolment.device, default: []].append(entry.id)
      }
      return .valid
    }

    private mutating func apply(_ entry: Entry, _ control: Control?, role: Role?) -> Status {
      guard let control else { return .valid }
      if control.kind != .recoveryEnrolment && control.kind != .genesis && role != .admin {
        return .invalid(.notAdmin)
      }
      let dag = context.dag
      switch control {
      case .genesis:
        return .invalid(.invalidGenesis)
      case .recoveryEnrolment:
        return .invalid(.notRecoveryAuthority)
      case .epochRotated:
        return .valid
      case .deviceAdded(let added):
        guard authorities[added.device] == nil else { return .invalid(.invalidControl) }
        admit(added.device, box: added.box, person: added.person, role: added.role, by: entry.id)
        return .valid
      case .deviceRemoved(let removed):
        guard removed.device != entry.author, devices[removed.device] != nil else {
          return .invalid(.invalidControl)
        }
        var accepted: Set<EntryID> = []
        if let lastID = removed.lastID {
          guard let last = dag[lastID], last.author == removed.device,
            last.sequence == removed.lastSequence, dag.isAncestor(lastID, of: entry.id)
          else { return .invalid(.invalidControl) }
          accepted = dag.chain(endingAt: lastID)
        }
        removals.append(
          Removal(id: entry.id, author: entry.author, target: removed.device, accepted: accepted))
        return .valid
      case .recoveryVeto(let veto):
        guard enrolments[veto.enrolment] != nil, dag.isAncestor(veto.enrolment, of: entry.id) else {
          return .invalid(.invalidControl)
        }
        vetoes[veto.enrolment, default: []].append(entry.id)
        return .valid
      case .recoveryReplaced(let replaced):
        guard devices[replaced.recoveryAuthority] == nil else { return .invalid(.invalidControl) }
        replacements.append(
          Replacement(id: entry.id, box: replaced.recoveryBox, authority: replaced.recoveryAuthority))
        if authorities[replaced.recoveryAuthority] == nil {
          authorities[replaced.recoveryAuthority] = entry.id
        }
        return .valid
      }
    }

    private mutating func admit(
      _ key: Signing.PublicKey, box: Box.PublicKey, person: PersonID, role: Role, by id: EntryID
    ) {
      admissions[key, default: []].append(id)
      if devices[key] == nil {
        devices[key] = Device(key: key, box: box, person: person, role: role, admittedBy: id)
      }
    }

    /// A removal stands unless its author was cut before it by another candidate removal,
    /// and that other removal is not the mirror image of this one.
    func effective(_ removal: Removal) -> Bool {
      for other in removals where other.target == removal.author {
        guard !other.accepted.contains(removal.id) else { continue }
        let mutual = removal.target == other.author && !removal.accepted.contains(other.id)
        if !mutual { return false }
      }
      return true
    }

    func effectiveRemovals() -> [Signing.PublicKey: [EntryID]] {
      var out: [Signing.PublicKey: [EntryID]] = [:]
      for removal in removals where effective(removal) {
        out[removal.target, default: []].append(removal.id)
      }
      return out
    }

    /// The assumptions the next pass should make, from what this pass found.
    func nextState() -> State {
      var next = State()
      for removal in removals where effective(removal) {
        next.cuts[removal.target, default: []].formUnion(removal.accepted)
      }
      next.vetoed = Set(vetoes.keys)
      var named = [context.genesis.recoveryAuthority]
      named += replacements.map(\.authority)
      let current = replacements.last?.authority ?? context.genesis.recoveryAuthority
      for authority in named where authority != current {
        next.retired[authority] = Set(replacements.filter { $0.authority != authority }.map(\.id))
      }
      return next
    }
  }
}
