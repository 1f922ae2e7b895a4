import AnkerCrypto

/// A 16-byte person id: a staff member with one or more devices (DESIGN rule 12).
public struct PersonID: Hashable, Comparable, Sendable, CustomStringConvertible {
  public let bytes: [UInt8]

  public init?(_ bytes: some Collection<UInt8>) {
    guard bytes.count == 16 else { return nil }
    self.bytes = Array(bytes)
  }

  public init(using random: inout some RandomSource) { bytes = random.bytes(16) }

  public static func < (lhs: PersonID, rhs: PersonID) -> Bool {
    lhs.bytes.lexicographicallyPrecedes(rhs.bytes)
  }

  public var description: String { Hex.encode(bytes) }
}

/// A device's role.
public enum Role: UInt8, Hashable, Sendable {
  case admin = 1
  case worker = 2
}

/// An epoch key (or other 32-byte key) sealed with `crypto_box_seal` to one X25519 key.
public struct KeyWrap: Hashable, Sendable {
  public static let sealedCount = 32 + 48
  public let recipient: Box.PublicKey
  public let sealed: [UInt8]

  public init(recipient: Box.PublicKey, sealed: [UInt8]) {
    precondition(sealed.count == Self.sealedCount, "a key wrap is 80 bytes")
    self.recipient = recipient
    self.sealed = sealed
  }
}

/// The plaintext of a control body: membership changes the relay must be able to check.
/// Layout: 0x02 ‖ kind u8 ‖ time ms varint ‖ time counter varint ‖ fields of the kind.
public enum Control: Hashable, Sendable {
  /// The journal's first entry: its author is the first admin device.
  case genesis(Genesis)
  case deviceAdded(DeviceAdded)
  case deviceRemoved(DeviceRemoved)
  case epochRotated(EpochRotated)
  /// Written by the recovery authority after every device is lost; time-locked.
  case recoveryEnrolment(RecoveryEnrolment)
  case recoveryVeto(RecoveryVeto)
  /// A new paper key; the old one's authority is retired.
  case recoveryReplaced(RecoveryReplaced)
  /// Erase these bodies everywhere (a crypto-shred): every device and the relay drop them;
  /// the headers, ids and signatures stay and still verify.
  case erasure(Erasure)

  public enum Kind: UInt8, Sendable {
    case genesis = 1
    case deviceAdded = 2
    case deviceRemoved = 3
    case epochRotated = 4
    case recoveryEnrolment = 5
    case recoveryVeto = 6
    case recoveryReplaced = 7
    case erasure = 8
  }

  public struct Genesis: Hashable, Sendable {
    public var time: Timestamp
    public var person: PersonID
    /// The first admin device's X25519 key.
    public var box: Box.PublicKey
    public var recoveryBox: Box.PublicKey
    public var recoveryAuthority: Signing.PublicKey
    /// How long a recovery enrolment waits for a veto (default 72 h).
    public var recoveryDelaySeconds: UInt64
    /// Epoch 1's key, sealed to the first device and to the recovery key.
    public var wraps: [KeyWrap]
    public init(
      time: Timestamp, person: PersonID, box: Box.PublicKey, recoveryBox: Box.PublicKey,
      recoveryAuthority: Signing.PublicKey, recoveryDelaySeconds: UInt64, wraps: [KeyWrap]
    ) {
      self.time = time
      self.person = person
      self.box = box
      self.recoveryBox = recoveryBox
      self.recoveryAuthority = recoveryAuthority
      self.recoveryDelaySeconds = recoveryDelaySeconds
      self.wraps = wraps
    }
  }

  public struct DeviceAdded: Hashable, Sendable {
    public var time: Timestamp
    public var device: Signing.PublicKey
    public var box: Box.PublicKey
    public var person: PersonID
    public var role: Role
    /// The epoch whose key `wraps` carries to the new device.
    public var epoch: UInt64
    public var wraps: [KeyWrap]
    public init(
      time: Timestamp, device: Signing.PublicKey, box: Box.PublicKey, person: PersonID, role: Role,
      epoch: UInt64, wraps: [KeyWrap]
    ) {
      self.time = time
      self.device = device
      self.box = box
      self.person = person
      self.role = role
      self.epoch = epoch
      self.wraps = wraps
    }
  }

  public struct DeviceRemoved: Hashable, Sendable {
    public var time: Timestamp
    public var device: Signing.PublicKey
    /// The removed device's last entry the remover accepted (0 and nil: none).
    public var lastSequence: UInt64
    public var lastID: EntryID?
    /// The new epoch, whose key `wraps` seals to every remaining device and the recovery key.
    public var epoch: UInt64
    public var wraps: [KeyWrap]
    public init(
      time: Timestamp, device: Signing.PublicKey, lastSequence: UInt64, lastID: EntryID?,
      epoch: UInt64, wraps: [KeyWrap]
    ) {
      self.time = time
      self.device = device
      self.lastSequence = lastSequence
      self.lastID = lastID
      self.epoch = epoch
      self.wraps = wraps
    }
  }

  public struct EpochRotated: Hashable, Sendable {
    public var time: Timestamp
    public var epoch: UInt64
    public var wraps: [KeyWrap]
    public init(time: Timestamp, epoch: UInt64, wraps: [KeyWrap]) {
      self.time = time
      self.epoch = epoch
      self.wraps = wraps
    }
  }

  public struct RecoveryEnrolment: Hashable, Sendable {
    public var time: Timestamp
    public var device: Signing.PublicKey
    public var box: Box.PublicKey
    public var person: PersonID
    public init(time: Timestamp, device: Signing.PublicKey, box: Box.PublicKey, person: PersonID) {
      self.time = time
      self.device = device
      self.box = box
      self.person = person
    }
  }

  public struct RecoveryVeto: Hashable, Sendable {
    public var time: Timestamp
    public var enrolment: EntryID
    public init(time: Timestamp, enrolment: EntryID) {
      self.time = time
      self.enrolment = enrolment
    }
  }

  public struct RecoveryReplaced: Hashable, Sendable {
    public var time: Timestamp
    public var recoveryBox: Box.PublicKey
    public var recoveryAuthority: Signing.PublicKey
    public var epoch: UInt64
    public var wraps: [KeyWrap]
    public init(
      time: Timestamp, recoveryBox: Box.PublicKey, recoveryAuthority: Signing.PublicKey,
      epoch: UInt64, wraps: [KeyWrap]
    ) {
      self.time = time
      self.recoveryBox = recoveryBox
      self.recoveryAuthority = recoveryAuthority
      self.epoch = epoch
      self.wraps = wraps
    }
  }

  public struct Erasure: Hashable, Sendable {
    public var time: Timestamp
    /// Body hashes to erase, ascending, at most `Limits.maxErasures`.
    public var bodies: [Digest256]

    public init(time: Timestamp, bodies: [Digest256]) {
      self.time = time
      self.bodies = bodies
    }
  }

  public var kind: Kind {
    switch self {
    case .genesis: .genesis
    case .deviceAdded: .deviceAdded
    case .deviceRemoved: .deviceRemoved
    case .epochRotated: .epochRotated
    case .recoveryEnrolment: .recoveryEnrolment
    case .recoveryVeto: .recoveryVeto
    case .recoveryReplaced: .recoveryReplaced
    case .erasure: .erasure
    }
  }

  public var time: Timestamp {
    switch self {
    case .genesis(let value): value.time
    case .deviceAdded(let value): value.time
    case .deviceRemoved(let value): value.time
    case .epochRotated(let value): value.time
    case .recoveryEnrolment(let value): value.time
    case .recoveryVeto(let value): value.time
    case .recoveryReplaced(let value): value.time
    case .erasure(let value): value.time
    }
  }

  /// Every key wrap the entry carries.
  public var wraps: [KeyWrap] {
    switch self {
    case .genesis(let value): value.wraps
    case .deviceAdded(let value): value.wraps
    case .deviceRemoved(let value): value.wraps
    case .epochRotated(let value): value.wraps
    case .recoveryReplaced(let value): value.wraps
    case .recoveryEnrolment, .recoveryVeto, .erasure: []
    }
  }
}
