import AnkerCrypto
import AnkerLog

extension JournalState {
  /// Record kinds whose effect `applyAppended` can add without a rebuild: content, and an
  /// open case's first key generation. Anything that changes membership, keys of existing
  /// cases, vaults or shreds needs a full evaluation.
  private static let appendable: Set<RecordKind> = [
    .person, .clientCreated, .clientField, .caseCreated, .caseField, .setAdd, .setRemove, .note,
    .amend, .strike, .riskAssessment, .safetyPlan, .consent, .consentRevoked, .resolve,
    .exportApproval, .readAudit,
  ]

  /// Folds in this device's own entry just placed after every other (it cites every head, so
  /// its Lamport number is above all placed entries and it comes last in causal order: the
  /// caller guarantees this, as `JournalWriter` does), giving the state a full
  /// rebuild would. Returns false, changing nothing, when the entry needs a full rebuild
  /// (control entries, key changes, anything it cannot open with the current keys).
  /// A test checks the equivalence over random sequences of writes.
  package mutating func applyAppended(_ entry: Entry) -> Bool {
    guard entry.bodyKind == .sealed, let body = entry.body,
      let me = membership.devices[entry.author], !me.isRemoved,
      let epoch = keys.currentEpoch, SealedBody.epoch(of: body) == epoch.epoch,
      !position.keys.contains(entry.id)
    else { return false }
    let bound = entry.header.positionBytes
    guard let ref = try? SealedBody.openHint(body, position: bound, epochKey: epoch.key)
    else { return false }
    let caseKey = ref == .zero ? nil : keys.caseKeys[ref]
    guard ref == .zero || caseKey != nil,
      let plaintext = try? SealedBody.open(
        body, position: bound, keyRef: ref, contentKey: caseKey?.key ?? epoch.key),
      let record = try? Record(decoding: plaintext)
    else { return false }
    var newKey: KeyRing.CaseKey?
    if record.kind == .caseKey {
      // Only a new open case: generation 1, wrapped under the epoch key, no vault, no links.
      guard ref == .zero, let caseID = record[id: .caseID], record[number: .generation] == 1,
        cases[caseID] == nil, keys.currentKey(of: caseID) == nil,
        record.fields[.vault] == nil, record.fields[.previous] == nil,
        record[people: .restrictedTo].isEmpty, let wrapped = record.fields[.wrapped],
        wrapped.count == AEAD.nonceCount + AEAD.keyCount + AEAD.tagCount,
        let secret = try? AEAD.openSecret(
          Array(wrapped[24...]), key: epoch.key, nonce: Array(wrapped[..<24]),
          associatedData: WrapContext.caseKey(caseID, generation: 1)),
        let key = try? AEAD.Key(secret)
      else { return false }
      newKey = KeyRing.CaseKey(
        caseID: caseID, generation: 1, wrapID: entry.id, key: key, epoch: epoch.epoch)
    } else {
      guard Self.appendable.contains(record.kind), caseKey?.isVault != true else { return false }
      if let caseKey, shreddedCases.contains(caseKey.caseID) { return false }
    }
    membership.admitAppended(entry.id)
    position[entry.id] = orderIDs.count
    orderIDs.append(entry.id)
    if let newKey { keys.add(newKey) }
    apply(record, entry: entry, key: caseKey)
    if let newKey { cases[newKey.caseID, default: CaseState(id: newKey.caseID)].readable = true }
    return true
  }
}
