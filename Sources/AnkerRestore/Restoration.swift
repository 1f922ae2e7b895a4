import AnkerCrypto
import AnkerLog
import AnkerModel
import AnkerSync

/// A journal rebuilt from a relay's stored entries with the paper recovery key, and every
/// check of it (DESIGN rules 4, 5, 10): the genesis names the keys the paper key derives,
/// every entry is authenticated, the DAG is complete, every entry's author was a member when
/// it wrote, bodies are missing only where an erasure says so, no device equivocated, the
/// paper key can read every case, and, given a checkpoint, every head it names is there.
public struct Restoration: Sendable {
  public let report: RestoreReport
  /// The journal as the paper key reads it. Holds recovered keys: never leaves this module.
  let state: JournalState
  /// Every authenticated entry that fits, placed (what `rebuild` builds on).
  let dag: DAG

  /// Checks `input`. Throws only when the journal cannot be checked at all (no genesis, or
  /// one that names other recovery keys); every other problem is a fault in `report`.
  public init(
    input: RestoreInput, recovery: RecoveryKey, checkpoint: CheckpointFile? = nil,
    now: UInt64, progress: (@Sendable (String) -> Void)? = nil
  ) throws(RestoreError) {
    var report = RestoreReport(journal: input.journal, source: input.source)
    report.recordsRead = input.records.count
    report.sourceFaults = input.sourceFaults

    // 1. Decode: well formed, the body matching the hash its header commits to, filed under
    // its own id.
    progress?("decoding \(input.records.count) entries")
    var decoded = [Entry]()
    decoded.reserveCapacity(input.records.count)
    for record in input.records {
      let entry: Entry
      do { entry = try Entry(decoding: record.bytes) } catch {
        report.tampered.append(
          .init(
            id: record.claimedID, sequence: record.sequence,
            reason: "does not decode (\(error.code))"))
        continue
      }
      if let claimed = record.claimedID, claimed != entry.id {
        report.tampered.append(
          .init(
            id: claimed, sequence: record.sequence,
            reason: "its bytes hash to another id (\(entry.id.short))"))
        continue
      }
      guard entry.header.journal == input.journal else {
        report.tampered.append(
          .init(id: entry.id, sequence: record.sequence, reason: "belongs to another journal"))
        continue
      }
      decoded.append(entry)
    }

    // 2. Authenticate: one signature per author chain tip, hashes back along `prev`.
    progress?("verifying signatures")
    let verified = ChainVerification.verify(decoded)
    for (entry, _) in verified.rejected {
      report.tampered.append(
        .init(id: entry.id, sequence: nil, reason: "its signature does not verify"))
    }
    report.signaturesChecked = verified.signaturesChecked
    report.authenticated = verified.authenticated.count

    // 3. The genesis, and whose it is.
    let roots = verified.authenticated.filter { $0.parents.isEmpty && $0.sequence == 1 }
    guard
      let genesis = roots.first(where: { if case .genesis? = $0.control { true } else { false } })
    else {
      throw RestoreError(
        .notThisJournal, "no authentic genesis entry: this cannot be checked as a journal",
        hint: "the source may be damaged or not this journal's; try another backup or the relay")
    }
    guard case .genesis(let genesisControl)? = genesis.control else { fatalError("checked above") }
    let boxKey = recovery.boxKey.publicKey
    let authorityKey = recovery.authorityKey.publicKey
    let namedByGenesis =
      genesisControl.recoveryBox == boxKey && genesisControl.recoveryAuthority == authorityKey

    // 4. The DAG: every authenticated entry placed, or named as waiting or not fitting.
    progress?("placing \(verified.authenticated.count) entries")
    var dag: DAG
    do { dag = try DAG(genesis: genesis) } catch {
      throw RestoreError(.notThisJournal, "the genesis entry is not valid (\(error.code))")
    }
    for entry in verified.authenticated where entry.id != genesis.id {
      do { try dag.insert(entry) } catch {
        report.misfits.append(.init(id: entry.id, sequence: nil, reason: "\(error.code)"))
      }
    }
    for (id, error) in dag.rejected.sorted(by: { $0.key < $1.key }) {
      report.misfits.append(.init(id: id, sequence: nil, reason: "\(error.code)"))
    }
    report.missingParents = dag.missingParents
    report.waiting = dag.waitingIDs.count
    report.placed = dag.count

    // 5. Membership and the model, read with the paper key.
    progress?("reading the journal with the paper key")
    let state = JournalState(dag: dag, readers: [recovery.boxKey], now: now)
    let membership = state.membership
    if !namedByGenesis {
      // A later paper key is named by a valid replacement entry, signed by an admin.
      let replaced = dag.causalOrder.contains { entry in
        guard membership.isValid(entry.id), case .recoveryReplaced(let value)? = entry.control
        else { return false }
        return value.recoveryBox == boxKey && value.recoveryAuthority == authorityKey
      }
      guard replaced else {
        throw RestoreError(
          .notThisJournal, "this journal does not belong to this recovery key",
          hint:
            "check the paper key against its printout; a relay or backup that hands a journal "
            + "of another key may be faked")
      }
      report.paperKey =
        membership.recoveryAuthority == authorityKey
        ? "named by a recovery key replacement (in force)"
        : "named by a recovery key replacement, since retired by a newer one"
    }
    for entry in dag.causalOrder {
      switch membership.status(of: entry.id) {
      case .valid?, nil: break
      case .pending?: report.pendingEnrolment.append(entry.id)
      case .invalid(let code)?:
        report.notMembers.append(.init(id: entry.id, sequence: nil, reason: "\(code)"))
      }
    }
    for fault in state.faults {
      switch fault {
      case .equivocation(let ids): report.equivocations.append(ids)
      case .missingBody(let id): report.missingBodies.append(id)
      case .refusedRecord(let id):
        report.refused.append(.init(id: id, sequence: nil, reason: "written without the right"))
      case .malformedRecord(let id):
        report.refused.append(.init(id: id, sequence: nil, reason: "does not parse"))
      case .farFutureClock(let id): report.warnings.append("entry \(id.hex): clock far ahead")
      case .rotationWraps(let id):
        report.warnings.append(
          "entry \(id.hex): a key rotation is not sealed to exactly the remaining devices")
      }
    }
    report.erasedEntries = state.erased.count
    report.unreadableEntries = state.unreadable.count
    for (caseID, found) in state.cases.sorted(by: { $0.key < $1.key }) {
      if !found.readable {
        report.unreadableCases.append(caseID.description)
      } else if found.isClosed {
        report.closedCases += 1
      } else {
        report.openCases += 1
      }
    }
    report.shreddedCases = state.shreddedCases.count
    report.people = state.people.count
    report.devices = membership.devices.count
    report.removedDevices = membership.devices.values.filter(\.isRemoved).count

    // 6. The checkpoint kept beside the paper key (DESIGN rule 10).
    if let checkpoint {
      let attestation = checkpoint.attestation
      var line = RestoreReport.CheckpointResult(
        time: attestation.time, entries: attestation.count, device: "unknown device",
        missingHeads: [])
      if let device = membership.devices[attestation.device] {
        line.device = Fingerprint.of(device.key.bytes + device.box.bytes)
      } else {
        line.signerUnknown = true
      }
      line.wrongJournal = attestation.journal != input.journal
      line.missingHeads = attestation.heads.filter { !dag.contains($0) }
      report.checkpoint = line
    }
    self.report = report
    self.state = state
    self.dag = dag
  }
}
