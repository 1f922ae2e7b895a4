import AnkerCrypto

/// Entry bodies. The first byte names the kind:
///
/// - empty (length 0): an entry that carries nothing but its place in the DAG;
/// - `0x01` sealed: content only members can read (`SealedBody`);
/// - `0x02` control: a membership change in plaintext the relay can check (`Control`), whose
///   key material is itself sealed.
public enum Body {
  public enum Kind: UInt8, Hashable, Sendable {
    case empty = 0
    case sealed = 1
    case control = 2
  }

  static func kind(of body: [UInt8]) -> Kind {
    guard let first = body.first else { return .empty }
    return Kind(rawValue: first) ?? .empty
  }

  /// Structural checks that need no key.
  static func validate(_ body: [UInt8]) throws(LogError) {
    guard let first = body.first else { return }
    switch Kind(rawValue: first) {
    case .sealed?:
      guard Padding.isBucket(body.count, floor: Limits.bodyFloor) else {
        throw LogError(.unpaddedBody, "a sealed body's length is not a padding bucket")
      }
    case .control?:
      _ = try Control(decoding: body)
    default:
      throw LogError(.unknownBodyKind, "body kind \(first) is not known")
    }
  }
}

/// A sealed body: content under a content key, with a key hint under the epoch key so a
/// reader finds the right content key without the relay learning which case an entry is in.
///
///     0x01 ‖ epoch u32 BE ‖ hint nonce [24] ‖ hint = AEAD(epoch key, key ref [32]) [48]
///          ‖ nonce [24] ‖ AEAD(content key, pad(plaintext)) [padded + 16]
///
/// Both AEADs are XChaCha20-Poly1305-IETF. Their associated data bind the body to its entry:
/// hint AD = "anker body hint v1" 0x00 ‖ position ‖ epoch u32; content AD = "anker body
/// content v1" 0x00 ‖ position ‖ epoch u32 ‖ key ref, where position is the header up to
/// the body hash. The whole body is padded (ISO/IEC 7816-4 inside the content AEAD) to a
/// Padmé bucket of at least 1 KiB.
public enum SealedBody {
  public static let overhead = 1 + 4 + 24 + 48 + 24 + 16
  /// The most plaintext one body can carry (one byte goes to the padding marker).
  public static let maxPlaintext = Limits.maxBodyLength - overhead - 1
  static let hintContext = Array("anker body hint v1".utf8) + [0]
  static let contentContext = Array("anker body content v1".utf8) + [0]

  /// The body length a plaintext of `count` bytes will have.
  public static func bodyLength(forPlaintext count: Int) -> Int {
    Padding.padme(count + overhead + 1, floor: Limits.bodyFloor)
  }

  /// Seals `plaintext` for the entry whose header begins with `position`.
  public static func seal(
    _ plaintext: [UInt8], position: [UInt8], epoch: UInt32, epochKey: AEAD.Key,
    keyRef: Digest256, contentKey: AEAD.Key, using random: inout some RandomSource
  ) throws(LogError) -> [UInt8] {
    guard plaintext.count <= maxPlaintext else {
      throw LogError(.fieldTooLarge, "the content exceeds \(maxPlaintext) bytes")
    }
    let length = bodyLength(forPlaintext: plaintext.count)
    let padded: [UInt8]
    do { padded = try Padding.pad(plaintext, toLength: length - overhead) } catch {
      throw LogError(.fieldTooLarge, "the content cannot be padded")
    }
    var epochBytes = ByteWriter(capacity: 4)
    epochBytes.u32(epoch)
    let hintNonce = random.bytes(AEAD.nonceCount)
    let hint = AEAD.seal(
      keyRef.bytes, key: epochKey, nonce: hintNonce,
      associatedData: hintContext + position + epochBytes.bytes)
    let nonce = random.bytes(AEAD.nonceCount)
    let content = AEAD.seal(
      padded, key: contentKey, nonce: nonce,
      associatedData: contentContext + position + epochBytes.bytes + keyRef.bytes)
    var out = [Body.Kind.sealed.rawValue] + epochBytes.bytes + hintNonce + hint + nonce
    out += content
    assert(out.count == length)
    return out
  }

  /// The epoch whose key opens the hint.
  public static func epoch(of body: [UInt8]) -> UInt32? {
    guard body.count >= overhead, body[0] == Body.Kind.sealed.rawValue else { return nil }
    return body[1..<5].reduce(0) { $0 << 8 | UInt32($1) }
  }

  /// Opens the key hint with the epoch key: which content key the body is under.
  public static func openHint(
    _ body: [UInt8], position: [UInt8], epochKey: AEAD.Key
  ) throws(LogError) -> Digest256 {
    guard body.count >= overhead, body[0] == Body.Kind.sealed.rawValue else {
      throw LogError(.authenticationFailed, "authentication failed")
    }
    let ref: [UInt8]
    do {
      ref = try AEAD.open(
        body[29..<77], key: epochKey, nonce: Array(body[5..<29]),
        associatedData: hintContext + position + Array(body[1..<5]))
    } catch { throw LogError(.authenticationFailed, "authentication failed") }
    return Digest256(ref)!
  }

  /// Opens the content with the content key named by the hint.
  public static func open(
    _ body: [UInt8], position: [UInt8], keyRef: Digest256, contentKey: AEAD.Key
  ) throws(LogError) -> [UInt8] {
    guard body.count >= overhead, body[0] == Body.Kind.sealed.rawValue else {
      throw LogError(.authenticationFailed, "authentication failed")
    }
    do {
      let padded = try AEAD.open(
        body[101...], key: contentKey, nonce: Array(body[77..<101]),
        associatedData: contentContext + position + Array(body[1..<5]) + keyRef.bytes)
      return try Padding.unpad(padded)
    } catch { throw LogError(.authenticationFailed, "authentication failed") }
  }
}
