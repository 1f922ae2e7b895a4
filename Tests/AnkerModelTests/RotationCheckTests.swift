import AnkerCrypto
import AnkerLog
import Testing

@testable import AnkerModel

/// Readers check that a rotation seals the new key to exactly the devices that remained.
@Suite struct RotationCheckTests {
  /// Honest writers never trip the check, whatever the races (removals among them).
  @Test func honestRotationsPass() throws {
    var removals = 0
    for seed in (0..<UInt64(120)).map({ 7_000 + $0 }) {
      var run = Simulation(seed: seed)
      try run.play(steps: 30)
      for replica in run.replicas {
        let state = replica.state
        removals += state.membership.devices.values.filter(\.isRemoved).count
        let flagged = state.faults.filter {
          if case .rotationWraps = $0 { true } else { false }
        }
        #expect(flagged.isEmpty, "seed \(seed)")
      }
    }
    #expect(removals > 0)
  }

  /// A removal whose new key is also sealed to the removed device is named.
  @Test func aRemovalThatKeepsTheRemovedDeviceIsNamed() throws {
    var (admin, _, random) = Replica.founder(seed: 41)
    var worker = try Replica.join(&admin, role: .worker, random: &random)
    worker.pull(from: admin)
    let state = admin.state
    let newKey = AEAD.Key(using: &random)
    let target = state.membership.devices[worker.key.publicKey]!
    let everyone = state.membership.activeDevices.map(\.box) + [state.membership.recoveryBox]
    let removal = Control.DeviceRemoved(
      time: Timestamp(milliseconds: admin.tick()), device: target.key, lastSequence: 0,
      lastID: nil, epoch: 2,
      wraps: Set(everyone).sorted().map {
        KeyWrap(recipient: $0, sealed: Box.seal(newKey.secret, to: $0))
      })
    let entry = try admin.writer.control(.deviceRemoved(removal), state: state, dag: &admin.dag)
    let after = admin.state
    #expect(after.membership.devices[target.key]?.isRemoved == true)
    #expect(after.faults.contains(.rotationWraps(entry.id)))
  }

  /// A rotation that leaves out a device that remained is named too.
  @Test func aRotationThatLeavesADeviceOutIsNamed() throws {
    var (admin, _, random) = Replica.founder(seed: 42)
    let worker = try Replica.join(&admin, role: .worker, random: &random)
    let state = admin.state
    let newKey = AEAD.Key(using: &random)
    let recipients = [admin.box.publicKey, state.membership.recoveryBox]
    let rotation = Control.EpochRotated(
      time: Timestamp(milliseconds: admin.tick()), epoch: 2,
      wraps: recipients.sorted().map {
        KeyWrap(recipient: $0, sealed: Box.seal(newKey.secret, to: $0))
      })
    let entry = try admin.writer.control(.epochRotated(rotation), state: state, dag: &admin.dag)
    #expect(admin.state.faults.contains(.rotationWraps(entry.id)))
    _ = worker
  }
}
