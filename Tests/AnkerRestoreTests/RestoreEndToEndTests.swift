import Anker
import AnkerCrypto
import AnkerLog
import AnkerModel
import AnkerSync
import Foundation
import Testing

/// The built `anker-restore` against backups and a relay written through the library.
/// Failure messages print reports and exit codes only: reports never hold content.
@Suite(.serialized, .timeLimit(.minutes(3))) struct RestoreEndToEndTests {
  @Test func aCleanBackupVerifiesAndExportsWhatWasWritten() async throws {
    let written = try await WrittenJournal()
    let backup = try written.backup()
    let verify = try written.restore(["verify", "--backup", backup])
    #expect(verify.status == 0, "verify failed: \(verify.stdout) \(verify.stderr)")
    #expect(
      verify.stdout.contains("open 2, closed 1, shredded 1, unreadable 0"), "\(verify.stdout)")
    #expect(
      verify.stdout.contains("people              2, devices 2 (0 removed)"), "\(verify.stdout)")
    #expect(verify.stdout.contains("result              clean"), "\(verify.stdout)")

    let target = written.directory.path + "/export"
    let export = try written.restore(["export", "--backup", backup, "--to", target])
    #expect(export.status == 0, "export failed: \(export.stdout) \(export.stderr)")
    #expect(export.stderr.contains("PLAINTEXT"), "no plaintext warning on stderr")
    let attributes = try FileManager.default.attributesOfItem(atPath: target)
    #expect((attributes[.posixPermissions] as? Int) == 0o700)
    let files = try FileManager.default.contentsOfDirectory(atPath: target).sorted()
    #expect(files.count == 2 * written.notes.count, "\(files.count) files")
    for (caseID, texts) in written.notes {
      let base = target + "/case-\(caseID.description)"
      for suffix in ["md", "json"] {
        let mode =
          try FileManager.default.attributesOfItem(atPath: base + "." + suffix)[
            .posixPermissions] as? Int
        #expect(mode == 0o600, "case file mode \(String(mode ?? 0, radix: 8))")
      }
      let json =
        try JSONSerialization.jsonObject(
          with: Data(contentsOf: URL(fileURLWithPath: base + ".json"))) as? [String: Any]
      let notes = (json?["notes"] as? [[String: Any]]) ?? []
      let exported = Set(notes.compactMap { $0["text"] as? String })
      let same = exported == texts
      #expect(same, "the exported notes of a case differ from those written (not printed)")
      let status = json?["status"] as? String
      #expect(status == (written.closed.contains(caseID) ? "closed" : "open"))
      let markdown = try String(contentsOfFile: base + ".md", encoding: .utf8)
      let allInMarkdown = texts.allSatisfy { markdown.contains($0) }
      #expect(allInMarkdown, "the Markdown export lacks a note written (not printed)")
    }
    // Neither the report nor the warnings carry content or names.
    let printed = verify.stdout + verify.stderr + export.stdout + export.stderr
    let leaked =
      written.notes.values.joined().contains { printed.contains($0) }
      || ["Client 0", "Client 1", "Client 2", "Admin", "Worker"].contains { printed.contains($0) }
    #expect(!leaked, "the output of anker-restore holds content or a name (not printed)")
    let shredded = try #require(written.shredded)
    #expect(!files.contains { $0.contains(shredded.description) }, "a shredded case was exported")
  }

  @Test func aRelayRestoresWithTheRecoveryAuthority() async throws {
    let written = try await WrittenJournal()
    let outcome = try written.restore([
      "verify", "--relay", written.relay.url, "--journal", written.journal.hex,
    ])
    #expect(outcome.status == 0, "verify --relay failed: \(outcome.stdout) \(outcome.stderr)")
    #expect(
      outcome.stdout.contains("source              relay http://127.0.0.1"), "\(outcome.stdout)")
    #expect(outcome.stdout.contains("open 2, closed 1, shredded 1"), "\(outcome.stdout)")
    let target = written.directory.path + "/from-relay"
    let export = try written.restore([
      "export", "--relay", written.relay.url, "--journal", written.journal.hex, "--to", target,
    ])
    #expect(export.status == 0, "export --relay failed: \(export.stdout) \(export.stderr)")
    let files = try FileManager.default.contentsOfDirectory(atPath: target)
    #expect(files.count == 2 * written.notes.count)
  }

  @Test func aFlippedByteInsideAnEntryIsNamed() async throws {
    let written = try await WrittenJournal()
    let backup = try written.backup()
    let damaged = try written.copy(backup, to: "flipped.sqlite")
    let stored = try rows(of: damaged)
    let victim = stored[stored.count / 2]
    var bytes = victim.entry.encoded
    bytes[bytes.count - 20] ^= 0x01
    try alter(damaged, "UPDATE entry SET data = ? WHERE seq = ?", bytes, victim.sequence)
    let outcome = try written.restore(["verify", "--backup", damaged])
    #expect(outcome.status == 1, "exit \(outcome.status): \(outcome.stdout) \(outcome.stderr)")
    #expect(outcome.stdout.contains(victim.entry.id.hex), "the tampered entry is not named")
    #expect(outcome.stdout.contains("forged or tampered  1"), "\(outcome.stdout)")
    // An export refuses, and writes nothing.
    let target = written.directory.path + "/refused"
    let export = try written.restore(["export", "--backup", damaged, "--to", target])
    #expect(export.status == 1, "exit \(export.status)")
    #expect(!FileManager.default.fileExists(atPath: target))
    #expect(export.stderr.contains("anker-restore: error: "), "\(export.stderr)")
  }

  @Test func aForgedSignatureIsNamed() async throws {
    let written = try await WrittenJournal()
    let backup = try written.backup()
    let damaged = try written.copy(backup, to: "forged.sqlite")
    let stored = try rows(of: damaged)
    let victim = stored[stored.count / 2]
    var bytes = victim.entry.encoded
    bytes[victim.entry.headerBytes.count + 5] ^= 0x80  // inside the signature
    let forged = try Entry(decoding: bytes)
    try alter(damaged, "UPDATE entry SET data = ? WHERE seq = \(victim.sequence)", bytes)
    try alter(damaged, "UPDATE entry SET id = ? WHERE seq = \(victim.sequence)", forged.id.bytes)
    let outcome = try written.restore(["verify", "--backup", damaged])
    #expect(outcome.status == 1, "exit \(outcome.status): \(outcome.stdout)")
    #expect(outcome.stdout.contains("entry \(forged.id.hex)"), "the forgery is not named")
    #expect(outcome.stdout.contains("signature does not verify"), "\(outcome.stdout)")
  }

  @Test func anEntryRemovedFromTheMiddleIsNamed() async throws {
    let written = try await WrittenJournal()
    let backup = try written.backup()
    let damaged = try written.copy(backup, to: "removed.sqlite")
    let stored = try rows(of: damaged)
    let cited = Set(stored.flatMap { $0.entry.parents })
    let middle = stored.filter { cited.contains($0.entry.id) && $0.sequence > 1 }
    let victim = middle[middle.count / 2]
    try alter(damaged, "DELETE FROM entry WHERE seq = ?", nil, victim.sequence)
    let outcome = try written.restore(["verify", "--backup", damaged])
    #expect(outcome.status == 1, "exit \(outcome.status): \(outcome.stdout)")
    #expect(
      outcome.stdout.contains("entry \(victim.entry.id.hex) is cited as a parent but missing"),
      "the removed entry is not named: \(outcome.stdout)")
  }

  /// DESIGN rule 10: an author's newest entry, cited by nobody, can be removed without a trace
  /// in the rest of the log; only a checkpoint kept beside the paper key shows it.
  @Test func anAuthorsNewestEntryRemovedIsCaughtOnlyByACheckpoint() async throws {
    let written = try await WrittenJournal()
    _ = try written.worker.addNote(
      .phoneCall, text: "the newest note", in: written.notes.keys.sorted()[0])
    #expect(try await written.worker.sync(relay: written.relay.url).isClean)
    let backup = try written.backup()
    // The worker holds every entry the relay has (it synced last): its heads are the
    // backup's heads, signed with its device key.
    let all = try rows(of: backup)
    let cited = Set(all.flatMap { $0.entry.parents })
    let signing = try #require(written.worker.unlockedSecrets).signing
    let attestation = HeadAttestation(
      signedBy: signing, journal: written.journal,
      time: UInt64(Date().timeIntervalSince1970 * 1000), count: UInt64(all.count),
      heads: all.map(\.entry.id).filter { !cited.contains($0) })
    let checkpoint = written.directory.path + "/checkpoint.txt"
    try CheckpointFile(attestation).text.write(
      toFile: checkpoint, atomically: true, encoding: .utf8)

    // Untouched: complete up to the checkpoint.
    let clean = try written.restore(["verify", "--backup", backup, "--checkpoint", checkpoint])
    #expect(clean.status == 0, "exit \(clean.status): \(clean.stdout)")
    #expect(clean.stdout.contains("complete up to checkpoint "), "\(clean.stdout)")
    #expect(!clean.stdout.contains("NOT complete"), "\(clean.stdout)")

    // The newest entry removed, and the relay's own head moved back with it.
    let damaged = try written.copy(backup, to: "newest-removed.sqlite")
    let stored = try rows(of: damaged)
    let newest = try #require(stored.last)
    #expect(newest.entry.author == signing.publicKey)
    #expect(attestation.heads.contains(newest.entry.id))
    try alter(damaged, "DELETE FROM entry WHERE seq = ?", nil, newest.sequence)
    try alter(damaged, "UPDATE journal SET head = ?", nil, newest.sequence - 1)
    let blind = try written.restore(["verify", "--backup", damaged])
    #expect(blind.status == 0, "without a checkpoint the removal should be invisible")
    #expect(blind.stdout.contains("none given"), "\(blind.stdout)")
    let caught = try written.restore(["verify", "--backup", damaged, "--checkpoint", checkpoint])
    #expect(caught.status == 1, "exit \(caught.status): \(caught.stdout)")
    #expect(caught.stdout.contains("NOT complete up to checkpoint"), "\(caught.stdout)")
    #expect(caught.stdout.contains("head \(newest.entry.id.hex) is missing"), "\(caught.stdout)")
  }

  @Test func aTruncatedBackupIsRefused() async throws {
    let written = try await WrittenJournal()
    let backup = try written.backup()
    let bytes = try Data(contentsOf: URL(fileURLWithPath: backup))
    let truncated = written.directory.path + "/truncated.sqlite"
    try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: truncated))
    let outcome = try written.restore(["verify", "--backup", truncated])
    #expect(outcome.status == 3, "exit \(outcome.status): \(outcome.stdout) \(outcome.stderr)")
    #expect(outcome.stderr.contains("anker-restore: error: "), "\(outcome.stderr)")
    #expect(outcome.stderr.contains("damaged"), "\(outcome.stderr)")
  }

  @Test func aWrongPaperKeyIsRefused() async throws {
    let written = try await WrittenJournal()
    let backup = try written.backup()
    let other = try written.restore(["verify", "--backup", backup], key: RecoveryKey())
    #expect(other.status == 2, "exit \(other.status): \(other.stdout) \(other.stderr)")
    #expect(
      other.stderr.contains("this journal does not belong to this recovery key"), "\(other.stderr)")
    #expect(other.stdout.isEmpty, "a report was printed for a journal of another key")
    // A mistyped key: refused before anything is read; the message names no key character.
    var text = Array(written.recovery.paperText)
    text[2] = text[2] == "0" ? "1" : "0"
    let mistyped = try run(
      "anker-restore", ["verify", "--backup", backup, "--recovery-key-fd", "0"],
      input: String(text) + "\n")
    #expect(mistyped.status == 2, "exit \(mistyped.status)")
    #expect(mistyped.stderr.contains("recovery key is not valid"), "\(mistyped.stderr)")
    // Never from an argument.
    let argument = try run("anker-restore", ["verify", "--backup", backup, "--recovery-key", "x"])
    #expect(argument.status == 64, "exit \(argument.status)")
  }

  @Test func severalJournalsNeedAChoice() async throws {
    let written = try await WrittenJournal()
    let other = try Journal.create(
      at: written.directory.path + "/other", passphrase: passphrase("other pass"), name: "Other",
      options: testOptions)
    _ = try await other.journal.sync(relay: written.relay.url)
    let backup = try written.backup()
    let unchosen = try written.restore(["verify", "--backup", backup])
    #expect(unchosen.status == 64, "exit \(unchosen.status): \(unchosen.stderr)")
    #expect(unchosen.stderr.contains("choose one with --journal"), "\(unchosen.stderr)")
    let chosen = try written.restore([
      "verify", "--backup", backup, "--journal", written.journal.hex,
    ])
    #expect(chosen.status == 0, "exit \(chosen.status): \(chosen.stdout)")
  }
}
