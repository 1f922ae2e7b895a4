import AnkerCrypto

extension Control {
  /// The body bytes (canonical: one encoding per value).
  public var encoded: [UInt8] {
    var writer = ByteWriter()
    writer.byte(Body.Kind.control.rawValue)
    writer.byte(kind.rawValue)
    writer.varint(time.milliseconds)
    writer.varint(UInt64(time.counter))
    switch self {
    case .genesis(let value):
      writer.append(value.person.bytes)
      writer.digest(value.box.digest)
      writer.digest(value.recoveryBox.digest)
      writer.digest(value.recoveryAuthority.digest)
      writer.varint(value.recoveryDelaySeconds)
      Self.write(value.wraps, to: &writer)
    case .deviceAdded(let value):
      writer.digest(value.device.digest)
      writer.digest(value.box.digest)
      writer.append(value.person.bytes)
      writer.byte(value.role.rawValue)
      writer.varint(Self.checked(value.epoch))
      Self.write(value.wraps, to: &writer)
    case .deviceRemoved(let value):
      writer.digest(value.device.digest)
      writer.varint(value.lastSequence)
      if let lastID = value.lastID { writer.digest(lastID) }
      writer.varint(Self.checked(value.epoch))
      Self.write(value.wraps, to: &writer)
    case .epochRotated(let value):
      writer.varint(Self.checked(value.epoch))
      Self.write(value.wraps, to: &writer)
    case .recoveryEnrolment(let value):
      writer.digest(value.device.digest)
      writer.digest(value.box.digest)
      writer.append(value.person.bytes)
    case .recoveryVeto(let value):
      writer.digest(value.enrolment)
    case .erasure(let value):
      let bodies = Set(value.bodies).sorted()
      precondition(bodies.count <= Limits.maxErasures, "at most 2,000 bodies in one erasure")
      writer.varint(UInt64(bodies.count))
      for body in bodies { writer.digest(body) }
    case .recoveryReplaced(let value):
      writer.digest(value.recoveryBox.digest)
      writer.digest(value.recoveryAuthority.digest)
      writer.varint(Self.checked(value.epoch))
      Self.write(value.wraps, to: &writer)
    }
    return writer.bytes
  }

  private static func write(_ wraps: [KeyWrap], to writer: inout ByteWriter) {
    precondition(wraps.count <= Limits.maxWraps, "at most 512 key wraps in one control entry")
    let sorted = wraps.sorted { $0.recipient < $1.recipient }
    writer.varint(UInt64(sorted.count))
    for wrap in sorted {
      writer.digest(wrap.recipient.digest)
      writer.append(wrap.sealed)
    }
  }

  /// Parses a control body strictly: known kind, canonical integers, wraps sorted by
  /// recipient without repeats, nothing trailing.
  public init(decoding body: [UInt8]) throws(LogError) {
    var reader = ByteReader(body)
    guard try reader.byte("body kind") == Body.Kind.control.rawValue else {
      throw LogError(.malformedControl, "not a control body")
    }
    let rawKind = try reader.byte("control kind")
    guard let kind = Kind(rawValue: rawKind) else {
      throw LogError(.malformedControl, "control kind \(rawKind) is not known")
    }
    let milliseconds = try reader.varint("time")
    let counter = try reader.varint("time counter")
    guard counter <= UInt64(UInt32.max) else {
      throw LogError(.fieldTooLarge, "time counter exceeds 2^32 - 1")
    }
    let time = Timestamp(milliseconds: milliseconds, counter: UInt32(counter))
    switch kind {
    case .genesis:
      let person = try Self.person(&reader)
      let box = Box.PublicKey(try reader.digest("box key"))
      let recoveryBox = Box.PublicKey(try reader.digest("recovery box key"))
      let authority = Signing.PublicKey(try reader.digest("recovery authority"))
      let delay = try reader.varint("recovery delay")
      self = .genesis(
        Genesis(
          time: time, person: person, box: box, recoveryBox: recoveryBox,
          recoveryAuthority: authority, recoveryDelaySeconds: delay,
          wraps: try Self.wraps(&reader)))
    case .deviceAdded:
      let device = Signing.PublicKey(try reader.digest("device"))
      let box = Box.PublicKey(try reader.digest("box key"))
      let person = try Self.person(&reader)
      let rawRole = try reader.byte("role")
      guard let role = Role(rawValue: rawRole) else {
        throw LogError(.malformedControl, "role \(rawRole) is not known")
      }
      let epoch = try Self.epoch(&reader)
      self = .deviceAdded(
        DeviceAdded(
          time: time, device: device, box: box, person: person, role: role, epoch: epoch,
          wraps: try Self.wraps(&reader)))
    case .deviceRemoved:
      let device = Signing.PublicKey(try reader.digest("device"))
      let lastSequence = try reader.varint("last sequence")
      let lastID = lastSequence > 0 ? try reader.digest("last id") : nil
      let epoch = try Self.epoch(&reader)
      self = .deviceRemoved(
        DeviceRemoved(
          time: time, device: device, lastSequence: lastSequence, lastID: lastID, epoch: epoch,
          wraps: try Self.wraps(&reader)))
    case .epochRotated:
      let epoch = try Self.epoch(&reader)
      self = .epochRotated(EpochRotated(time: time, epoch: epoch, wraps: try Self.wraps(&reader)))
    case .recoveryEnrolment:
      let device = Signing.PublicKey(try reader.digest("device"))
      let box = Box.PublicKey(try reader.digest("box key"))
      let person = try Self.person(&reader)
      self = .recoveryEnrolment(
        RecoveryEnrolment(time: time, device: device, box: box, person: person))
    case .recoveryVeto:
      self = .recoveryVeto(RecoveryVeto(time: time, enrolment: try reader.digest("enrolment")))
    case .erasure:
      let count = try reader.varint("erasure count")
      guard count <= UInt64(Limits.maxErasures) else {
        throw LogError(.fieldTooLarge, "more than \(Limits.maxErasures) bodies to erase")
      }
      var bodies = [Digest256]()
      for _ in 0..<count {
        let body = try reader.digest("erased body")
        if let last = bodies.last, !(last < body) {
          throw LogError(.malformedControl, "erased bodies are not strictly ascending")
        }
        bodies.append(body)
      }
      self = .erasure(Erasure(time: time, bodies: bodies))
    case .recoveryReplaced:
      let recoveryBox = Box.PublicKey(try reader.digest("recovery box key"))
      let authority = Signing.PublicKey(try reader.digest("recovery authority"))
      let epoch = try Self.epoch(&reader)
      self = .recoveryReplaced(
        RecoveryReplaced(
          time: time, recoveryBox: recoveryBox, recoveryAuthority: authority, epoch: epoch,
          wraps: try Self.wraps(&reader)))
    }
    try reader.expectEnd("control body")
  }

  private static func checked(_ epoch: UInt64) -> UInt64 {
    precondition(epoch <= UInt64(UInt32.max), "an epoch number fits in 32 bits")
    return epoch
  }

  private static func epoch(_ reader: inout ByteReader) throws(LogError) -> UInt64 {
    let epoch = try reader.varint("epoch")
    guard epoch <= UInt64(UInt32.max) else {
      throw LogError(.fieldTooLarge, "epoch exceeds 2^32 - 1")
    }
    return epoch
  }

  private static func person(_ reader: inout ByteReader) throws(LogError) -> PersonID {
    PersonID(try reader.take(16, "person"))!
  }

  private static func wraps(_ reader: inout ByteReader) throws(LogError) -> [KeyWrap] {
    let count = try reader.varint("wrap count")
    guard count <= UInt64(Limits.maxWraps) else {
      throw LogError(.fieldTooLarge, "more than \(Limits.maxWraps) key wraps")
    }
    var wraps = [KeyWrap]()
    for _ in 0..<count {
      let recipient = Box.PublicKey(try reader.digest("wrap recipient"))
      if let last = wraps.last, !(last.recipient < recipient) {
        throw LogError(.malformedControl, "key wraps are not sorted by recipient")
      }
      wraps.append(
        KeyWrap(recipient: recipient, sealed: Array(try reader.take(KeyWrap.sealedCount, "wrap"))))
    }
    return wraps
  }
}
