import AnkerCrypto

/// Binary pieces of a state snapshot (the laptop store keeps one, sealed, so unlocking does
/// not evaluate every entry again). A snapshot is a cache: a version this code does not read
/// is ignored and the state is evaluated from the entries. Not a wire format.
extension ByteWriter {
  package mutating func bytes(_ value: some Collection<UInt8>) {
    varint(UInt64(value.count))
    append(value)
  }
  package mutating func text(_ value: String) { bytes(Array(value.utf8)) }
  package mutating func flag(_ value: Bool) { byte(value ? 1 : 0) }
  package mutating func digests(_ values: some Collection<Digest256>) {
    varint(UInt64(values.count))
    for value in values { digest(value) }
  }
}

extension ByteReader {
  package mutating func bytes(_ field: String) throws(LogError) -> ArraySlice<UInt8> {
    let count = try varint(field)
    guard count <= UInt64(remaining) else { throw LogError(.truncated, "\(field) is cut short") }
    return try take(Int(count), field)
  }
  package mutating func text(_ field: String) throws(LogError) -> String {
    String(decoding: try bytes(field), as: UTF8.self)
  }
  package mutating func flag(_ field: String) throws(LogError) -> Bool { try byte(field) != 0 }
  package mutating func count(_ field: String) throws(LogError) -> Int {
    let value = try varint(field)
    guard value <= UInt64(remaining) else { throw LogError(.truncated, "\(field) is cut short") }
    return Int(value)
  }
  package mutating func digests(_ field: String) throws(LogError) -> [Digest256] {
    let count = try count(field)
    var out = [Digest256]()
    out.reserveCapacity(count)
    for _ in 0..<count { out.append(try digest(field)) }
    return out
  }
  package mutating func person(_ field: String) throws(LogError) -> PersonID {
    guard let person = PersonID(try take(16, field)) else {
      throw LogError(.truncated, "\(field) is cut short")
    }
    return person
  }
}

extension Membership {
  /// Writes the evaluated membership. `order` is every placed entry in causal order; the
  /// statuses are written as the exceptions to "valid" when they cover exactly `order`.
  package func encodeSnapshot(order: [EntryID], into out: inout ByteWriter) {
    let compact = statuses.count == order.count
    out.flag(compact)
    let listed = compact ? statuses.filter { $0.value != .valid } : statuses
    out.varint(UInt64(listed.count))
    for (id, status) in listed.sorted(by: { $0.key < $1.key }) {
      out.digest(id)
      switch status {
      case .valid: out.byte(0)
      case .invalid(let code):
        out.byte(1)
        out.text(code.raw)
      case .pending(let until):
        out.byte(2)
        out.varint(until)
      }
    }
    out.varint(UInt64(devices.count))
    for device in devices.values.sorted(by: { $0.key < $1.key }) {
      out.digest(device.key.digest)
      out.digest(device.box.digest)
      out.append(device.person.bytes)
      out.byte(device.role.rawValue)
      out.digest(device.admittedBy)
      out.digests(device.removedBy)
    }
    out.varint(UInt64(enrolments.count))
    for enrolment in enrolments.values.sorted(by: { $0.id < $1.id }) {
      out.digest(enrolment.id)
      out.digest(enrolment.authority.digest)
      out.digest(enrolment.device.digest)
      out.digest(enrolment.box.digest)
      out.append(enrolment.person.bytes)
      out.varint(enrolment.effectiveAt)
      out.varint(enrolment.vetoDeadline)
      out.digests(enrolment.vetoedBy)
    }
    out.digest(recoveryBox.digest)
    out.digest(recoveryAuthority.digest)
    out.varint(recoveryDelaySeconds)
    out.digests(missingBodies)
    out.varint(UInt64(passes))
  }

  package init(snapshot reader: inout ByteReader, order: [EntryID]) throws(LogError) {
    let compact = try reader.flag("statuses")
    var statuses: [EntryID: Status] = [:]
    if compact {
      statuses.reserveCapacity(order.count)
      for id in order { statuses[id] = .valid }
    }
    for _ in 0..<(try reader.count("statuses")) {
      let id = try reader.digest("status")
      switch try reader.byte("status") {
      case 0: statuses[id] = .valid
      case 1: statuses[id] = .invalid(LogError.Code(try reader.text("status")))
      case 2: statuses[id] = .pending(untilMilliseconds: try reader.varint("status"))
      default: throw LogError(.malformedControl, "unknown status in a snapshot")
      }
    }
    self.statuses = statuses
    for _ in 0..<(try reader.count("devices")) {
      let key = Signing.PublicKey(try reader.digest("device"))
      let box = Box.PublicKey(try reader.digest("device"))
      let person = try reader.person("device")
      guard let role = Role(rawValue: try reader.byte("role")) else {
        throw LogError(.malformedControl, "unknown role in a snapshot")
      }
      var device = Device(
        key: key, box: box, person: person, role: role, admittedBy: try reader.digest("device"))
      device.removedBy = try reader.digests("device")
      devices[key] = device
    }
    for _ in 0..<(try reader.count("enrolments")) {
      let id = try reader.digest("enrolment")
      enrolments[id] = Enrolment(
        id: id, authority: Signing.PublicKey(try reader.digest("enrolment")),
        device: Signing.PublicKey(try reader.digest("enrolment")),
        box: Box.PublicKey(try reader.digest("enrolment")),
        person: try reader.person("enrolment"), effectiveAt: try reader.varint("enrolment"),
        vetoDeadline: try reader.varint("enrolment"), vetoedBy: try reader.digests("enrolment"))
    }
    recoveryBox = Box.PublicKey(try reader.digest("recovery"))
    recoveryAuthority = Signing.PublicKey(try reader.digest("recovery"))
    recoveryDelaySeconds = try reader.varint("recovery")
    missingBodies = try reader.digests("missing bodies")
    passes = Int(try reader.varint("passes"))
  }
}
