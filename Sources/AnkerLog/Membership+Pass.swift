import AnkerCrypto

extension Membership {
  struct Removal: Hashable {
    let id: EntryID
    let author: Signing.PublicKey
    let target: Signing.PublicKey
    /// The target's entries the remover accepted: the `prev` chain ending at the named entry.
    let accepted: Set<EntryID>
  }

  struct Replacement {
    let id: EntryID
    let box: Box.PublicKey
    let authority: Signing.PublicKey
  }

  struct Admission {
    let id: EntryID
    let role: Role
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
    /// Enrolment → vetoes written before its lock ended.
    var vetoes: [EntryID: [EntryID]] = [:]
    /// The author's role at each entry where it was a member (cached along author chains).
    private var roleAt: [EntryID: Role] = [:]
    /// Valid admissions per device, in causal order.
    private var admissions: [Signing.PublicKey: [Admission]] = [:]
    /// Recovery enrolments whose lock runs until the given time.
    private var lockedUntil: [EntryID: UInt64] = [:]
    /// Recovery authorities and the entry naming each.
    private var authorities: [Signing.PublicKey: EntryID] = [:]
    /// The latest control-body time among each entry and its ancestors: a floor under
    /// any time an entry claims.
    private var timeFloor: [EntryID: UInt64] = [:]
    /// Enrolment → the end of its veto window, the same on every device.
    private var vetoDeadline: [EntryID: UInt64] = [:]

    init(context: Context, state: State) {
      self.context = context
      self.state = state
      authorities[context.genesis.recoveryAuthority] = context.dag.genesisID
      for entry in context.order { visit(entry) }
      for (enrolmentID, vetoIDs) in vetoes {
        guard let enrolment = enrolments[enrolmentID] else { continue }
        enrolments[enrolmentID] = enrolment.vetoed(by: vetoIDs.sorted())
      }
      let standing = standingRemovals()
      for removal in removals where !standing.contains(removal.id) {
        statuses[removal.id] = .invalid(.removedDevice)
      }
    }

    private mutating func visit(_ entry: Entry) {
      let control = entry.control
      var floor: UInt64 = 0
      for parent in entry.parents { floor = max(floor, timeFloor[parent] ?? 0) }
      timeFloor[entry.id] = floor
      defer {
        // Only a valid control entry's time raises the floor its descendants inherit.
        if statuses[entry.id] == .valid, let control {
          timeFloor[entry.id] = max(floor, control.time.milliseconds)
        }
      }

      if entry.id == context.dag.genesisID {
        statuses[entry.id] = .valid
        roleAt[entry.id] = .admin
        admit(
          entry.author, box: context.genesis.box, person: context.genesis.person, role: .admin,
          by: entry.id)
        return
      }
      var isRemoval = false
      if case .deviceRemoved? = control { isRemoval = true }
      // Removals are exempt here: whether they stand is settled among themselves at the end.
      if let allowed = state.cuts[entry.author], !allowed.contains(entry.id), !isRemoval {
        statuses[entry.id] = .invalid(.removedDevice)
        return
      }
      if authorities[entry.author] != nil {
        statuses[entry.id] = authorityEntry(entry, control)
        return
      }
      switch membership(of: entry) {
      case .valid(let role): statuses[entry.id] = apply(entry, control, role: role)
      case .notValid(let status): statuses[entry.id] = status
      }
    }

    enum Standing {
      case valid(Role)
      case notValid(Status)
    }

    /// Whether, and in which role, the author of `entry` had been admitted in its ancestors.
    private mutating func membership(of entry: Entry) -> Standing {
      if let prev = entry.prev, let role = roleAt[prev] {
        roleAt[entry.id] = role
        return .valid(role)
      }
      var pendingUntil: UInt64?
      var vetoed = false
      for admission in admissions[entry.author] ?? []
      where context.dag.isAncestor(admission.id, of: entry.id) {
        if state.vetoed.contains(admission.id) {
          vetoed = true
          continue
        }
        if let until = lockedUntil[admission.id], until > context.now {
          pendingUntil = min(pendingUntil ?? until, until)
          continue
        }
        roleAt[entry.id] = admission.role
        return .valid(admission.role)
      }
      if let pendingUntil { return .notValid(.pending(untilMilliseconds: pendingUntil)) }
      return .notValid(.invalid(vetoed ? .recoveryVetoed : .notMember))
    }

    private mutating func authorityEntry(_ entry: Entry, _ control: Control?) -> Status {
      guard case .recoveryEnrolment(let enrolment)? = control else {
        return .invalid(.notRecoveryAuthority)
      }
      let namedBy = authorities[entry.author]!
      guard namedBy == context.dag.genesisID || context.dag.isAncestor(namedBy, of: entry.id)
      else { return .invalid(.notRecoveryAuthority) }
      if let retiredBy = state.retired[entry.author],
        !retiredBy.contains(where: { context.dag.isAncestor(entry.id, of: $0) })
      {
        return .invalid(.notRecoveryAuthority)
      }
      guard admissions[enrolment.device] == nil, authorities[enrolment.device] == nil else {
        return .invalid(.invalidControl)
      }
      // The lock runs from the latest of: the time the enrolment claims, the latest time its
      // ancestors prove, and when this device first saw it. It cannot be backdated past what
      // the DAG shows, and a device never shortens it below its own observation.
      let delay = max(context.genesis.recoveryDelaySeconds, minimumRecoveryDelaySeconds) * 1000
      // The veto window is the same on every device: it ends `delay` after the later of the
      // claimed time and the time its ancestors prove. A device that saw the enrolment later
      // waits longer before trusting it, but judges vetoes by the same deadline.
      let provable = max(enrolment.time.milliseconds, timeFloor[entry.id] ?? 0)
      let until = max(provable, context.firstSeen[entry.id] ?? 0) + delay
      vetoDeadline[entry.id] = provable + delay
      enrolments[entry.id] = Enrolment(
        id: entry.id, authority: entry.author, device: enrolment.device, box: enrolment.box,
        person: enrolment.person, effectiveAt: until, vetoDeadline: provable + delay,
        vetoedBy: [])
      lockedUntil[entry.id] = until
      if !state.vetoed.contains(entry.id) && until <= context.now {
        admit(
          enrolment.device, box: enrolment.box, person: enrolment.person, role: .admin,
          by: entry.id)
      } else {
        admissions[enrolment.device, default: []].append(Admission(id: entry.id, role: .admin))
      }
      return .valid
    }

    private mutating func apply(_ entry: Entry, _ control: Control?, role: Role) -> Status {
      guard let control else { return .valid }
      let dag = context.dag
      switch control {
      case .genesis:
        return .invalid(.invalidGenesis)
      case .recoveryEnrolment:
        return .invalid(.notRecoveryAuthority)
      case _ where role != .admin:
        return .invalid(.notAdmin)
      case .epochRotated, .erasure:
        return .valid
      case .deviceAdded(let added):
        guard authorities[added.device] == nil else { return .invalid(.invalidControl) }
        admit(added.device, box: added.box, person: added.person, role: added.role, by: entry.id)
        return .valid
      case .deviceRemoved(let removed):
        return remove(removed, in: entry)
      case .recoveryVeto(let veto):
        guard enrolments[veto.enrolment] != nil, let deadline = vetoDeadline[veto.enrolment],
          dag.isAncestor(veto.enrolment, of: entry.id)
        else { return .invalid(.invalidControl) }
        // A veto counts while the lock runs; afterwards an admin removes the device instead.
        if veto.time.milliseconds < deadline {
          vetoes[veto.enrolment, default: []].append(entry.id)
        }
        return .valid
      case .recoveryReplaced(let replaced):
        guard admissions[replaced.recoveryAuthority] == nil else {
          return .invalid(.invalidControl)
        }
        replacements.append(
          Replacement(
            id: entry.id, box: replaced.recoveryBox, authority: replaced.recoveryAuthority))
        if authorities[replaced.recoveryAuthority] == nil {
          authorities[replaced.recoveryAuthority] = entry.id
        }
        return .valid
      }
    }

    private mutating func remove(_ removed: Control.DeviceRemoved, in entry: Entry) -> Status {
      let dag = context.dag
      guard removed.device != entry.author,
        (admissions[removed.device] ?? []).contains(where: {
          $0.id == dag.genesisID || dag.isAncestor($0.id, of: entry.id)
        })
      else { return .invalid(.invalidControl) }
      // The named entry must be the newest of the target's the remover had: no entry of the
      // target after it may be among the removal's ancestors.
      let after = dag.entries(author: removed.device, sequence: removed.lastSequence + 1)
      guard !after.contains(where: { dag.isAncestor($0.id, of: entry.id) }) else {
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
    }

    private mutating func admit(
      _ key: Signing.PublicKey, box: Box.PublicKey, person: PersonID, role: Role, by id: EntryID
    ) {
      admissions[key, default: []].append(Admission(id: id, role: role))
      if devices[key] == nil {
        devices[key] = Device(key: key, box: box, person: person, role: role, admittedBy: id)
      }
    }

    /// Which removals stand. A removal S *attacks* a removal R when S removes R's author and
    /// R is not among the entries S accepted (R came after the cut). Standing removals are the
    /// grounded extension: unattacked ones stand, those attacked by a standing one fall, and
    /// what remains undecided (mutual removals, cycles) stands too, so every device in the
    /// cycle is out. Safer to lose access than to let a stolen device keep it.
    func standingRemovals() -> Set<EntryID> {
      var attackers: [EntryID: [EntryID]] = [:]
      for removal in removals {
        attackers[removal.id] = removals.filter {
          $0.target == removal.author && !$0.accepted.contains(removal.id)
        }.map(\.id)
      }
      var standing: Set<EntryID> = []
      var fallen: Set<EntryID> = []
      var changed = true
      while changed {
        changed = false
        for removal in removals where !standing.contains(removal.id) && !fallen.contains(removal.id)
        {
          let against = attackers[removal.id] ?? []
          if against.contains(where: { standing.contains($0) }) {
            fallen.insert(removal.id)
            changed = true
          } else if against.allSatisfy({ fallen.contains($0) }) {
            standing.insert(removal.id)
            changed = true
          }
        }
      }
      return Set(removals.map(\.id)).subtracting(fallen)
    }

    func effectiveRemovals() -> [Signing.PublicKey: [EntryID]] {
      let standing = standingRemovals()
      var out: [Signing.PublicKey: [EntryID]] = [:]
      for removal in removals where standing.contains(removal.id) {
        out[removal.target, default: []].append(removal.id)
      }
      return out
    }

    /// The assumptions the next pass should make, from what this pass found.
    func nextState() -> State {
      var next = State()
      let standing = standingRemovals()
      for removal in removals where standing.contains(removal.id) {
        next.cuts[removal.target, default: []].formUnion(removal.accepted)
      }
      next.vetoed = Set(vetoes.keys)
      let named = [context.genesis.recoveryAuthority] + replacements.map(\.authority)
      let current = replacements.last?.authority ?? context.genesis.recoveryAuthority
      for authority in named where authority != current {
        next.retired[authority] = Set(replacements.filter { $0.authority != authority }.map(\.id))
      }
      return next
    }
  }
}
