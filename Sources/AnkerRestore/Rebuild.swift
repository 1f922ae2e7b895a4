public import Anker
public import AnkerCrypto
public import AnkerLog
import AnkerModel
import AnkerStore
public import AnkerSync
import Foundation

/// `anker-restore rebuild`: after every admin laptop is lost, the paper key's recovery
/// authority enrols a new admin laptop (DESIGN rule 3). Two steps, because the enrolment
/// counts only once its time lock has run out (72 hours by default) and any admin laptop can
/// veto it meanwhile:
///
/// 1. `enrol`: on the new laptop, after every check of `Restoration` passed, new device keys
///    are made in a new journal folder (no secret key leaves it), the authority writes the
///    enrolment naming them, pushes it to the relay, and the folder keeps the journal, pinned
///    to its genesis.
/// 2. `finish`: once the lock has run out, the laptop syncs as itself (the relay admits it by
///    its own clock), reads the journal with the paper key as a second reader, in memory
///    only, and writes a new epoch key sealed to every active device, so from then on it
///    reads the whole history with its own key.
public enum Rebuild {
  /// What `enrol` did. Ids and times only.
  public struct Enrolled: Sendable {
    public var enrolment: EntryID
    /// The new laptop's fingerprint.
    public var fingerprint: String
    /// When the new laptop becomes an admin (ms since 1970), unless vetoed before
    /// `vetoDeadline`.
    public var effectiveAt: UInt64
    public var vetoDeadline: UInt64
    /// True when the name matched a person of the journal (the same person, a new laptop).
    public var existingPerson: Bool
  }

  /// Step one: enrols a new admin laptop whose journal folder is made at `directory` (it
  /// must not exist, or be empty), protected by `passphrase`. `name` is the person's: a
  /// person of the journal with exactly that name gets the laptop, else a new person is
  /// named so once the laptop can write. The enrolment is pushed to `relay` signed by the
  /// recovery authority; if that fails, the folder is removed again.
  public static func enrol(
    _ restoration: Restoration, recovery: RecoveryKey, at directory: String,
    passphrase: SecureBytes, name: String, relay: String, options: Journal.Options,
    transport: any RelayTransport = URLSessionTransport()
  ) async throws(RestoreError) -> Enrolled {
    let state = restoration.state
    guard state.membership.recoveryAuthority == recovery.authorityKey.publicKey else {
      throw RestoreError(
        .notThisJournal,
        "this paper key was replaced by a newer one: only the key in force may enrol a laptop",
        hint: "use the newest paper key")
    }
    try makeEmptyFolder(directory)
    let journal: Journal
    let request: DeviceRequest
    do {
      (journal, request) = try Journal.prepareDevice(
        at: directory, passphrase: passphrase, options: options)
    } catch {
      removeFolder(directory)
      throw RestoreError(
        .rebuildFailed, "the new journal folder cannot be made: \(error.message)")
    }
    let matching = state.people.values.filter { $0.name.shown?.value == name }
    let existing = matching.count == 1 ? matching.first?.id : nil
    var random = SystemRandom()
    let person = existing ?? PersonID(using: &random)
    var dag = restoration.dag
    let entry: Entry
    do {
      entry = try JournalWriter.recoveryEnrolment(
        of: request.device, box: request.box, person: person, authority: recovery.authorityKey,
        membership: state.membership, dag: &dag, now: options.clock())
    } catch {
      journal.lock()
      removeFolder(directory)
      throw RestoreError(.rebuildFailed, "the enrolment cannot be written: \(error.message)")
    }
    do {
      try await RestoreInput.push(
        [entry], url: relay, journal: dag.journal, authority: recovery.authorityKey,
        transport: transport, clock: options.clock)
    } catch {
      // Nothing was enrolled: the folder holds only keys nobody knows.
      journal.lock()
      removeFolder(directory)
      throw error
    }
    // On the relay now: from here on the folder is the enrolled laptop, whatever follows.
    do throws(JournalError) {
      try journal.adoptRecoveryEnrolment(dag: dag, entries: dag.causalOrder)
      if existing == nil { try journal.keepRecoveryName(name, for: person) }
      guard let own = try journal.ownRecoveryEnrolment else {
        throw JournalError(.notEnrolled, "the enrolment is not in the stored journal")
      }
      journal.lock()
      return Enrolled(
        enrolment: entry.id, fingerprint: request.fingerprint, effectiveAt: own.effectiveAt,
        vetoDeadline: own.vetoDeadline, existingPerson: existing != nil)
    } catch {
      journal.lock()
      throw RestoreError(
        .rebuildFailed,
        "the enrolment \(entry.id.short) is on the relay, but the journal could not be kept in "
          + "\(directory): \(error.message)",
        hint: "an admin laptop, if any is left, can veto it; else run rebuild again into a new "
          + "folder")
    }
  }

  /// What `finish` did: counts and fingerprints, no content.
  public struct Finished: Sendable {
    /// Entries written to hand this laptop the keys (none if it held them already).
    public var entriesWritten: Int
    public var readableCases: Int
    /// Other laptops still active in the journal (presumably lost): revoke them.
    public var otherLaptops: [String]
  }

  /// Step two: on the laptop `enrol` prepared, once its time lock has run out. Syncs with
  /// `relay` as the new laptop, then writes a new epoch sealed to it, read with the paper
  /// key's X25519 key in memory only, and syncs again. Refuses (`enrolmentNotInForce`)
  /// while the lock runs or when an admin vetoed the enrolment.
  public static func finish(
    at directory: String, passphrase: SecureBytes, recovery: RecoveryKey, relay: String,
    options: Journal.Options, transport: any RelayTransport = URLSessionTransport()
  ) async throws(RestoreError) -> Finished {
    guard Store.exists(at: directory) else {
      throw RestoreError(
        .rebuildFailed, "there is no journal in \(directory)",
        hint: "give the folder `anker-restore rebuild --to` made")
    }
    let journal: Journal
    do {
      journal = try Journal.open(at: directory, options: options)
      try journal.unlock(passphrase: passphrase)
    } catch {
      throw RestoreError(
        .rebuildFailed,
        error.storeCode == .wrongPassphrase
          ? "wrong passphrase for \(directory)" : "cannot open \(directory): \(error.message)",
        hint: error.storeCode == .wrongPassphrase ? "the passphrase chosen at rebuild" : nil)
    }
    defer { journal.lock() }
    do {
      guard try journal.ownRecoveryEnrolment != nil else {
        throw RestoreError(
          .rebuildFailed, "the journal in \(directory) was not enrolled by the recovery key",
          hint: "give the folder `anker-restore rebuild --to` made")
      }
      let membership = try journal.state.membership
      guard membership.recoveryBox == recovery.boxKey.publicKey else {
        throw RestoreError(
          .notThisJournal, "this paper key is not the one in force for this journal",
          hint: "check the paper key against its printout")
      }
      do {
        _ = try await journal.sync(relay: relay, transport: transport)
      } catch {
        let code = (error.cause as? SyncError)?.relayCode
        if code == "pendingEnrolment" || code == "recoveryVetoed" {
          throw try notInForce(journal, relayCode: code)
        }
        throw RestoreError(.unreadableSource, "the sync with the relay failed: \(error.message)")
      }
      guard let own = try journal.ownRecoveryEnrolment, own.standing == .admitted else {
        throw try notInForce(journal, relayCode: nil)
      }
      let written = try journal.completeRecovery(reader: recovery.boxKey)
      if !written.isEmpty {
        do { _ = try await journal.sync(relay: relay, transport: transport) } catch {
          throw RestoreError(
            .unreadableSource,
            "the new keys are written on this laptop but did not reach the relay: "
              + "\(error.message)", hint: "run `anker sync` on this laptop")
        }
      }
      let me = try journal.device.key
      let others = try journal.state.membership.activeDevices.filter { $0.key != me }
      return Finished(
        entriesWritten: written.count, readableCases: try journal.cases().count,
        otherLaptops: others.map { DeviceRequest(device: $0.key, box: $0.box).fingerprint })
    } catch let error as RestoreError {
      throw error
    } catch let error as JournalError {
      throw RestoreError(.rebuildFailed, error.message)
    } catch {
      throw RestoreError(.rebuildFailed, "the rebuild could not be finished")
    }
  }

  /// Why the enrolment does not count, in the words a coordinator needs.
  private static func notInForce(_ journal: Journal, relayCode: String?) throws -> RestoreError {
    let own = try journal.ownRecoveryEnrolment
    if relayCode == "recoveryVetoed" || own?.standing == .vetoed {
      return RestoreError(
        .enrolmentNotInForce,
        "an admin laptop VETOED this laptop's recovery enrolment: it will never be admitted",
        hint: "an admin laptop still exists: ask its owner to invite a laptop (`anker invite`)"
      )
    }
    let until = own.map { " until " + Rebuild.time($0.effectiveAt) } ?? ""
    return RestoreError(
      .enrolmentNotInForce,
      "this laptop's recovery enrolment waits for its time lock\(until); until then any admin "
        + "laptop can veto it", hint: "run `anker-restore rebuild --finish` again after that")
  }

  /// A time for people: UTC, to the minute.
  public static func time(_ milliseconds: UInt64) -> String {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_GB_POSIX")
    formatter.timeZone = TimeZone(identifier: "UTC")
    formatter.dateFormat = "yyyy-MM-dd HH:mm"
    return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
      + " UTC"
  }

  private static func makeEmptyFolder(_ directory: String) throws(RestoreError) {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) else {
      return
    }
    let contents = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? ["?"]
    guard isDirectory.boolValue, contents.isEmpty else {
      throw RestoreError(
        .rebuildFailed, "\(directory) exists and is not an empty folder",
        hint: "give a new folder for the new laptop's journal")
    }
  }

  private static func removeFolder(_ directory: String) {
    try? FileManager.default.removeItem(atPath: directory)
  }
}
