import AnkerCrypto
import AnkerLog
import AnkerRestore
import ArgumentParser
import Foundation

struct RebuildCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "rebuild",
    abstract: "Enrol a new admin laptop with the paper key after every admin laptop is lost.",
    discussion: """
      Two steps, on the new laptop. First `anker-restore rebuild --relay URL --journal ID \
      --to DIR --name NAME` runs every check of verify (and refuses on any fault unless \
      --accept-faults), makes a new journal folder DIR with new keys for this laptop, and \
      writes a recovery enrolment of it to the relay, signed with the paper key. The \
      enrolment takes effect only after a time lock (72 hours unless the journal says \
      longer, never under 1 hour); meanwhile every admin laptop is alerted at its next sync \
      and can veto it with `anker devices veto`, and `anker sync` here is refused. Once the \
      time has passed, `anker-restore rebuild --finish --to DIR` (the paper key again) syncs, \
      hands this laptop the journal's keys and makes it a full admin; then use `anker` as \
      usual and revoke the lost laptops. The paper key is read first, then the passphrase; \
      neither is stored, nor anything derived from the paper key.

      Exit codes: 0 done, 1 faults found (nothing enrolled), 2 not this key's journal or an \
      invalid key, 3 relay unreadable or refused the enrolment, 4 the folder cannot be made \
      or opened (a wrong passphrase), 5 (--finish) the time lock still runs or an admin \
      vetoed the enrolment, 64 usage.
      """)

  @Option(
    help: ArgumentHelp(
      "The relay's address, http(s)://host[:port] (with --finish: the one kept in the folder).",
      valueName: "url"))
  var relay: String?

  @Option(help: ArgumentHelp("The journal id (64 hex digits).", valueName: "id"))
  var journal: String?

  @Option(
    help: ArgumentHelp(
      "The new laptop's journal folder to make (with --finish: the one made).",
      valueName: "folder"))
  var to: String

  @Option(
    help: ArgumentHelp(
      "The person this laptop is for: the person of that name, or a new one.",
      valueName: "name"))
  var name: String?

  @Option(
    name: .customLong("recovery-key-fd"),
    help: ArgumentHelp(
      "Read the paper key from this open file descriptor instead of the terminal.",
      valueName: "fd"))
  var recoveryKeyFD: Int32?

  @Option(
    name: .customLong("passphrase-fd"),
    help: ArgumentHelp(
      "Read this laptop's passphrase from this open file descriptor (after the paper key, "
        + "when it is the same one) instead of the terminal.", valueName: "fd"))
  var passphraseFD: Int32?

  @Option(
    help: ArgumentHelp(
      "The checkpoint file kept beside the paper key (`anker checkpoint`).", valueName: "file"))
  var checkpoint: String?

  @Flag(help: "Enrol even though the checks found faults.")
  var acceptFaults = false

  @Flag(help: "The second step, once the time lock has run out.")
  var finish = false

  func validate() throws {
    if finish {
      guard journal == nil, name == nil, checkpoint == nil, !acceptFaults else {
        throw ValidationError("--finish takes only --to, --relay and the key and passphrase fds")
      }
    } else {
      guard relay != nil, let journal, name != nil else {
        throw ValidationError("give --relay URL, --journal ID and --name NAME (or --finish)")
      }
      guard Digest256(hex: journal) != nil else {
        throw ValidationError("--journal is 64 hexadecimal digits")
      }
      guard !(name ?? "").trimmingCharacters(in: .whitespaces).isEmpty else {
        throw ValidationError("--name needs a name")
      }
    }
    for fd in [recoveryKeyFD, passphraseFD].compactMap({ $0 }) where fd < 0 {
      throw ValidationError("a file descriptor is a number")
    }
  }

  var folder: String { URL(fileURLWithPath: to).standardizedFileURL.path }

  func run() async throws {
    if finish { return try await runFinish() }
    let restoration: Restoration
    let recovery: RecoveryKey
    do {
      (restoration, recovery) = try await readAndCheck(
        backup: nil, relay: relay, journal: journal, recoveryKeyFD: recoveryKeyFD,
        checkpoint: checkpoint)
    } catch { throw fail(error) }
    let report = restoration.report
    print(report.text, terminator: "")
    guard report.isClean || acceptFaults else {
      throw fail(
        RestoreError(
          .rebuildFailed,
          "the checks found \(report.faultCount) fault(s): no laptop was enrolled",
          hint: "read the report; --accept-faults enrols anyway"), code: Exit.faults)
    }
    let enrolled: Rebuild.Enrolled
    do {
      let passphrase = try Passphrase.obtain(fd: passphraseFD, choosing: true)
      enrolled = try await Rebuild.enrol(
        restoration, recovery: recovery, at: folder, passphrase: passphrase, name: name!,
        relay: relay!, options: rebuildJournalOptions())
    } catch { throw fail(error) }
    // The relay `anker sync` uses in this folder (the `anker` CLI's `relay` file).
    _ = FileManager.default.createFile(
      atPath: folder + "/relay", contents: Data((relay! + "\n").utf8),
      attributes: [.posixPermissions: 0o600])
    let short = String(enrolled.enrolment.hex.prefix(8))
    let hours = Int(
      ((Double(enrolled.effectiveAt) - Double(restoreClock())) / 3_600_000).rounded())
    let effective = Rebuild.time(enrolled.effectiveAt)
    print("enrolment           \(enrolled.enrolment.hex)")
    print(
      "new laptop          \(enrolled.fingerprint) (admin, for "
        + (enrolled.existingPerson ? "an existing person" : "a new person") + ")")
    print("takes effect        \(effective) (in about \(max(hours, 1)) hours)")
    print("veto possible until \(Rebuild.time(enrolled.vetoDeadline))")
    print(
      """

      The recovery enrolment is on the relay. This laptop becomes an admin of the journal at
      \(effective), unless an admin laptop vetoes it before then: every admin laptop is
      alerted at its next `anker sync` or `anker status` and can veto it with
      `anker devices veto \(short)`. Until then `anker sync` here is refused.
      After that time, finish on this laptop with the paper key again:

          anker-restore rebuild --finish --to \(folder)
      """)
  }

  private func runFinish() async throws {
    let relay =
      self.relay
      ?? (try? String(contentsOfFile: folder + "/relay", encoding: .utf8))?
      .trimmingCharacters(in: .whitespacesAndNewlines)
    guard let relay, !relay.isEmpty else {
      throw fail(
        RestoreError(
          .rebuildFailed, "no relay is known for \(folder)", hint: "give --relay URL"),
        code: 64)
    }
    let finished: Rebuild.Finished
    do {
      let recovery = try PaperKey.obtain(fd: recoveryKeyFD)
      let passphrase = try Passphrase.obtain(fd: passphraseFD, choosing: false)
      finished = try await Rebuild.finish(
        at: folder, passphrase: passphrase, recovery: recovery, relay: relay,
        options: rebuildJournalOptions())
    } catch { throw fail(error) }
    print(
      "This laptop is an admin of the journal and holds its keys: "
        + "\(finished.readableCases) case(s) readable.")
    if !finished.otherLaptops.isEmpty {
      print(
        "\(finished.otherLaptops.count) other laptop(s) are still members. Revoke every lost "
          + "one now (its keys may be in a thief's hands), then run `anker sync`:")
      for fingerprint in finished.otherLaptops {
        print("    anker devices revoke \(fingerprint) --journal \(folder)")
      }
    }
    print("Unlock this laptop with `anker unlock --journal \(folder)`.")
  }
}
