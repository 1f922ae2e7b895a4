import AnkerCrypto

/// The device's secrets wrapped under a key derived from the worker's passphrase, in a small
/// file of two fixed slots rewritten in place (never in SQLite, whose WAL frames and free pages
/// would keep old copies: DESIGN rule 9).
///
/// A change writes the new slot into the slot not in use and fsyncs, then overwrites the old
/// one with zeros and fsyncs: a crash at any point leaves one complete slot, and the one with
/// the higher counter wins. Layout of a 320-byte slot (integers big-endian):
///
///     0   "ANKERKEY"            8
///     8   format (1)            1
///     9   kind (1 keys, 2 wiped) 1
///     10  counter               8
///     18  Argon2id parameters   25   (PasswordHash.Parameters.encoded)
///     43  nonce                 24
///     67  sealed secrets        112  XChaCha20-Poly1305(KEK, 96 bytes, AD = bytes 0..<43
///                                    with the counter zeroed ‖ bytes 179..<237)
///     179 has duress (0/1)      1
///     180 duress parameters     25
///     205 duress verifier       32   BLAKE2b-256 keyed with the duress KEK
///     237 zeros                 51
///     288 checksum              32   BLAKE2b-256 of bytes 0..<288 (catches torn writes)
struct KeyFile {
  static let slotSize = 320
  static let fileSize = 2 * slotSize
  private static let magic = Array("ANKERKEY".utf8)

  struct Duress: Equatable {
    let parameters: PasswordHash.Parameters
    let verifier: [UInt8]
  }

  struct Slot: Equatable {
    enum Kind: UInt8 {
      case keys = 1
      case wiped = 2
    }
    var kind: Kind
    var counter: UInt64
    var parameters: PasswordHash.Parameters?
    var nonce: [UInt8] = []
    var sealed: [UInt8] = []
    var duress: Duress?

    var header: [UInt8] {
      var out = KeyFile.magic + [1, kind.rawValue]
      withUnsafeBytes(of: counter.bigEndian) { out += $0 }
      out +=
        parameters?.encoded ?? [UInt8](repeating: 0, count: PasswordHash.Parameters.encodedCount)
      return out
    }

    /// Bytes 179..<237: the duress flag, parameters and verifier.
    var duressBlock: [UInt8] {
      guard let duress else { return [UInt8](repeating: 0, count: 58) }
      return [1] + duress.parameters.encoded + duress.verifier
    }

    /// What the sealed secrets authenticate: the header with the counter at zero (it moves
    /// when a slot is installed) and the duress block, so neither can be changed unseen.
    var associatedData: [UInt8] {
      var copy = self
      copy.counter = 0
      return copy.header + duressBlock
    }

    var encoded: [UInt8] {
      var out = header
      out += nonce.isEmpty ? [UInt8](repeating: 0, count: AEAD.nonceCount) : nonce
      out += sealed.isEmpty ? [UInt8](repeating: 0, count: 112) : sealed
      out += duressBlock
      out += [UInt8](repeating: 0, count: 288 - out.count)
      return out + BLAKE2b.hash256(out).bytes
    }

    init(
      kind: Kind, counter: UInt64, parameters: PasswordHash.Parameters? = nil,
      nonce: [UInt8] = [], sealed: [UInt8] = [], duress: Duress? = nil
    ) {
      self.kind = kind
      self.counter = counter
      self.parameters = parameters
      self.nonce = nonce
      self.sealed = sealed
      self.duress = duress
    }

    /// nil for a slot that is empty, torn or not a slot at all.
    init?(decoding bytes: ArraySlice<UInt8>) {
      let bytes = Array(bytes)
      guard bytes.count == KeyFile.slotSize, Array(bytes[0..<8]) == KeyFile.magic,
        bytes[8] == 1, let kind = Kind(rawValue: bytes[9]),
        ConstantTime.equals(BLAKE2b.hash256(bytes[0..<288]).bytes, Array(bytes[288..<320]))
      else { return nil }
      self.kind = kind
      counter = bytes[10..<18].reduce(0) { $0 << 8 | UInt64($1) }
      if kind == .keys {
        guard let parameters = try? PasswordHash.Parameters(encoded: Array(bytes[18..<43]))
        else { return nil }
        self.parameters = parameters
        nonce = Array(bytes[43..<67])
        sealed = Array(bytes[67..<179])
        if bytes[179] == 1 {
          guard
            let duressParameters = try? PasswordHash.Parameters(encoded: Array(bytes[180..<205]))
          else { return nil }
          duress = Duress(parameters: duressParameters, verifier: Array(bytes[205..<237]))
        }
      }
    }
  }

  let path: String

  /// The slot in force (the valid one with the higher counter), its index, and whether the
  /// other slot still holds an older valid slot (a change interrupted before its last step).
  func current() throws(StoreError) -> (slot: Slot, index: Int, staleOther: Bool) {
    let bytes = try FileIO.read(path)
    guard bytes.count == Self.fileSize else {
      throw StoreError(
        .corrupt,
        "the key file is truncated or damaged; the journal can be restored onto a new enrolment")
    }
    let slots = [0, 1].map {
      Slot(decoding: bytes[($0 * Self.slotSize)..<(($0 + 1) * Self.slotSize)])
    }
    let valid = [0, 1].filter { slots[$0] != nil }
    guard let index = valid.max(by: { slots[$0]!.counter < slots[$1]!.counter }) else {
      throw StoreError(
        .corrupt,
        "the key file is damaged; the journal can be restored onto a new enrolment")
    }
    return (slots[index]!, index, valid.count == 2)
  }

  /// Makes `slot` the one in force and destroys the previous one. `creating` starts a new
  /// file in slot 0 (or replaces a wiped one); otherwise the file in force must read back,
  /// and any error stops the change before anything is written.
  func install(_ slot: Slot, creating: Bool = false) throws(StoreError) {
    var slot = slot
    let existing: (slot: Slot, index: Int, staleOther: Bool)?
    if creating {
      existing = nil
      try FileIO.overwrite(path, at: 0, with: [UInt8](repeating: 0, count: Self.fileSize))
    } else {
      existing = try current()
    }
    let target = existing.map { 1 - $0.index } ?? 0
    let previous = existing?.slot.counter ?? 0
    guard previous < UInt64(Int64.max) else {
      throw StoreError(.corrupt, "the key file's counter is out of range")
    }
    slot.counter = previous + 1
    try FileIO.overwrite(path, at: target * Self.slotSize, with: slot.encoded)
    try FileIO.overwrite(
      path, at: (1 - target) * Self.slotSize, with: [UInt8](repeating: 0, count: Self.slotSize))
  }

  /// Finishes a change a crash interrupted: the older slot is overwritten.
  func finishInterruptedChange() throws(StoreError) {
    let state = try current()
    guard state.staleOther else { return }
    try FileIO.overwrite(
      path, at: (1 - state.index) * Self.slotSize,
      with: [UInt8](repeating: 0, count: Self.slotSize))
  }

  /// Overwrites both slots with random bytes, then marks the file wiped. Nothing that was in
  /// it can be recovered from the file afterwards.
  func wipe(using random: inout some RandomSource) throws(StoreError) {
    try FileIO.overwrite(path, at: 0, with: random.bytes(Self.fileSize))
    var wiped = Slot(kind: .wiped, counter: 1).encoded
    wiped += [UInt8](repeating: 0, count: Self.slotSize)
    try FileIO.overwrite(path, at: 0, with: wiped)
  }

  // MARK: - Sealing

  static let kekContext: StaticString = "anker.kek"

  /// A slot holding `secrets` under `passphrase` (and the duress verifier, if any).
  static func seal(
    _ secrets: DeviceSecrets, passphrase: SecureBytes, parameters: PasswordHash.Parameters,
    duress: Duress?, using random: inout some RandomSource
  ) throws(StoreError) -> Slot {
    let kek = try derive(passphrase, parameters)
    var slot = Slot(kind: .keys, counter: 0, parameters: parameters, duress: duress)
    slot.nonce = random.bytes(AEAD.nonceCount)
    slot.sealed = AEAD.seal(
      secret: secrets.packed, key: kek, nonce: slot.nonce, associatedData: slot.associatedData)
    return slot
  }

  enum Opening {
    case opened(DeviceSecrets)
    case duress
    case wrongPassphrase
  }

  /// Tries `passphrase` against `slot`: the real passphrase opens the secrets; the duress
  /// passphrase is recognised by its verifier; anything else is wrong. Constant-time compares.
  static func open(_ slot: Slot, passphrase: SecureBytes) throws(StoreError) -> Opening {
    guard slot.kind == .keys, let parameters = slot.parameters else { return .wrongPassphrase }
    let kek = try derive(passphrase, parameters)
    if let packed = try? AEAD.openSecret(
      slot.sealed, key: kek, nonce: slot.nonce, associatedData: slot.associatedData)
    {
      return .opened(try DeviceSecrets(packed: packed))
    }
    if let duress = slot.duress {
      let duressKEK =
        duress.parameters == parameters ? kek : try derive(passphrase, duress.parameters)
      if ConstantTime.equals(duressVerifier(duressKEK), duress.verifier) { return .duress }
    }
    return .wrongPassphrase
  }

  static func duress(
    passphrase: SecureBytes, parameters: PasswordHash.Parameters
  ) throws(StoreError) -> Duress {
    Duress(parameters: parameters, verifier: duressVerifier(try derive(passphrase, parameters)))
  }

  private static func duressVerifier(_ kek: AEAD.Key) -> [UInt8] {
    BLAKE2b.keyedHash256(Array("anker.duress.v1".utf8), key: kek.secret)
  }

  private static func derive(
    _ passphrase: SecureBytes, _ parameters: PasswordHash.Parameters
  ) throws(StoreError) -> AEAD.Key {
    do {
      return try AEAD.Key(PasswordHash.deriveKey(from: passphrase, parameters: parameters))
    } catch {
      throw StoreError(.io, "deriving the key from the passphrase failed: \(error)")
    }
  }
}
