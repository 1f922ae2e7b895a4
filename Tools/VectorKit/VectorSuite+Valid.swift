import AnkerCrypto
import AnkerLog

extension VectorSuite {
  mutating func addDevice(_ role: Role, _ name: String?, _ description: String = "")
    -> Signing.PrivateKey
  {
    let added = builder.addDevice(role: role)
    remember(added.key)
    placed(added.entry, name, description)
    return added.key
  }

  @discardableResult
  mutating func note(
    _ key: Signing.PrivateKey, _ text: [UInt8], _ name: String?, _ description: String = ""
  ) -> Entry {
    placed(builder.note(key, text), name, description, plaintext: text)
  }

  mutating func buildValid() {
    valid.append(
      Valid(
        name: "genesis", description: "the journal's first entry: no parents, Lamport 1",
        context: 0, entry: builder.genesis, sealed: nil))
    let worker = addDevice(.worker, "device-added-worker", "an admin admits a worker device")
    let admin2 = addDevice(.admin, "device-added-admin", "an admin admits a second admin device")
    note(worker, [], "sealed-empty-plaintext", "a sealed body with no content: the 1 KiB floor")
    note(
      worker, Array(repeating: 0x61, count: 906), "sealed-fills-floor",
      "906 bytes: the most the 1 KiB bucket holds")
    note(
      worker, Array(repeating: 0x62, count: 907), "sealed-next-bucket",
      "907 bytes: the next Padmé bucket")
    note(
      builder.admin, Array(repeating: 0x63, count: SealedBody.maxPlaintext), "sealed-largest-body",
      "the largest body: 65,536 bytes")
    placed(builder.append(worker, body: []), "empty-body", "an entry with an empty body")
    let doomed = builder.note(admin2, Array("erased later".utf8))
    pool.append(doomed)
    valid.append(
      Valid(
        name: "detached-body",
        description: "a body erased by a crypto-shred: header, id and signature still verify",
        context: pool.count - 1, entry: doomed.detachingBody(), sealed: nil))
    note(admin2, Array("café, 日本語, emoji 🙂".utf8), "sealed-utf8", "UTF-8 note text")

    placed(
      builder.control(
        builder.admin,
        .erasure(Control.Erasure(time: builder.nextTime(), bodies: [doomed.header.bodyHash]))),
      "erasure", "an admin erases a body (a crypto-shred)")
    // 64 concurrent heads, merged by one entry with the most parents allowed.
    var writers = [Signing.PrivateKey]()
    for _ in 0..<63 { writers.append(addDevice(.worker, nil)) }
    let fork = builder.dag.heads
    var heads = [EntryID]()
    for writer in writers + [worker] {
      let entry = builder.append(writer, body: [], parents: fork)
      placed(entry)
      heads.append(entry.id)
    }
    placed(
      builder.append(worker, body: []), "many-parents",
      "an entry citing 64 parents, the most allowed")
    placed(
      builder.control(
        builder.admin,
        .epochRotated(
          Control.EpochRotated(
            time: builder.nextTime(), epoch: 2,
            wraps: [builder.wrap(to: builder.adminBox.publicKey)]))),
      "epoch-rotated", "an admin starts a new epoch")
    let leaver = addDevice(.worker, nil)
    placed(builder.note(leaver, [1]))
    placed(
      builder.remove(leaver.publicKey, by: builder.admin), "device-removed",
      "a removal names the device's last accepted entry")
    let authority = builder.recovery.authorityKey
    remember(authority)
    let recovered = Signing.PrivateKey(using: &builder.random)
    remember(recovered)
    let enrolment = placed(
      builder.control(
        authority,
        .recoveryEnrolment(
          Control.RecoveryEnrolment(
            time: builder.nextTime(), device: recovered.publicKey,
            box: Box.PrivateKey(using: &builder.random).publicKey,
            person: PersonID(using: &builder.random)))),
      "recovery-enrolment", "the recovery authority enrols a new admin device (time-locked)")
    _ = enrolment
    note(
      recovered, Array("back after the loss".utf8), "note-after-time-lock",
      "the enrolled device writes once the lock has run out")
    let paper = RecoveryKey(using: &builder.random)
    self.authority = paper.authorityKey
    remember(paper.authorityKey)
    placed(
      builder.control(
        admin2,
        .recoveryReplaced(
          Control.RecoveryReplaced(
            time: builder.nextTime(), recoveryBox: paper.boxKey.publicKey,
            recoveryAuthority: paper.authorityKey.publicKey, epoch: 2,
            wraps: [builder.wrap(to: paper.boxKey.publicKey)]))),
      "recovery-replaced", "an admin issues a new paper key")
    // A cloned device: two entries at one sequence number, both kept.
    let draft = builder.dag.draft(author: worker.publicKey, lastOwn: builder.last[worker.publicKey])
    let left = draft.sign(body: builder.sealedBody([1], for: draft), with: worker)
    let right = draft.sign(body: builder.sealedBody([2], for: draft), with: worker)
    builder.record(left)
    placed(left, "equivocation-first", "one of two entries with the same author and sequence")
    builder.record(right)
    pool.append(right)
    valid.append(
      Valid(
        name: "equivocation-second", description: "the other one: both are valid, and reported",
        context: pool.count - 2, entry: right, sealed: nil))
    placed(
      builder.append(admin2, body: []), "merge-after-fork", "an admin's entry citing both forks")
  }
}
