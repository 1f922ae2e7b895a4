import AnkerCrypto
import AnkerLog

extension JournalState {
  /// The read-side check of DESIGN rule 1: a rotation (a removal or an epoch rotation) must
  /// seal its new epoch key to every device that remained in its ancestors, and to no device
  /// removed by it or before it. Writers compute the wraps; readers verify them here, so a
  /// faulty or malicious admin device cannot quietly hand a removed device the new key, and a
  /// remaining device left without it is named (an admin's `shareNewestKey` repairs that).
  /// Deterministic: it depends on the DAG alone.
  /// `controls` are the valid control entries in causal order.
  mutating func checkRotationWraps(dag: DAG, controls: [Entry]) {
    for entry in controls {
      let wraps: [KeyWrap]
      var removedHere: Signing.PublicKey?
      switch entry.control {
      case .deviceRemoved(let removal)?:
        wraps = removal.wraps
        removedHere = removal.device
      case .epochRotated(let rotation)?:
        wraps = rotation.wraps
      default:
        continue
      }
      let recipients = Set(wraps.map(\.recipient))
      var wrong = false
      for device in membership.devices.values {
        let removedBefore = device.removedBy.contains {
          $0 == entry.id || dag.isAncestor($0, of: entry.id)
        }
        if device.key == removedHere || removedBefore {
          // Removed by this entry or before it: must not get the new key.
          if recipients.contains(device.box) { wrong = true }
        } else if dag.isAncestor(device.admittedBy, of: entry.id) {
          // Admitted before it and still in: must get it.
          if !recipients.contains(device.box) { wrong = true }
        }
      }
      if wrong { faults.append(.rotationWraps(entry.id)) }
    }
  }
}
