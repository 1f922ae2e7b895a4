import AnkerCrypto

/// One signed, hash-addressed entry of the log.
///
/// Wire form: header ‖ signature [64] ‖ body flag u8 (1 = body follows, 0 = body detached)
/// ‖ body [body length] when the flag is 1. The id covers header and signature only, so a
/// body can be erased (crypto-shred) while the header, id, signature and every chain through
/// it still verify.
///
/// A value, held in one immutable shared object: copying an entry (into a dictionary, an
/// array, a closure) costs one reference count, not the copy of its header and four buffers.
/// Two entries are equal when they have the same id (which covers header and signature) and
/// the same body or lack of one.
public struct Entry: Hashable, Sendable {
  /// Domain separation for the Ed25519 signature: the signed message is this ‖ header.
  public static let signatureContext = Array("anker entry signature v1".utf8) + [0]

  @usableFromInline
  final class Storage: Sendable {
    @usableFromInline let header: EntryHeader
    @usableFromInline let headerBytes: [UInt8]
    @usableFromInline let signature: [UInt8]
    @usableFromInline let id: EntryID
    @usableFromInline let body: [UInt8]?

    init(header: EntryHeader, headerBytes: [UInt8], signature: [UInt8], body: [UInt8]?) {
      self.header = header
      self.headerBytes = headerBytes
      self.signature = signature
      self.body = body
      self.id = BLAKE2b.hash256(headerBytes, signature)
    }
  }

  @usableFromInline let storage: Storage

  @inlinable public var header: EntryHeader { storage.header }
  /// The header exactly as signed.
  @inlinable public var headerBytes: [UInt8] { storage.headerBytes }
  @inlinable public var signature: [UInt8] { storage.signature }
  /// BLAKE2b-256(header ‖ signature).
  @inlinable public var id: EntryID { storage.id }
  /// The body, or nil when it has been detached (erased or not yet fetched).
  @inlinable public var body: [UInt8]? { storage.body }

  public static func == (lhs: Entry, rhs: Entry) -> Bool {
    lhs.storage === rhs.storage || (lhs.storage.id == rhs.storage.id && lhs.body == rhs.body)
  }

  public func hash(into hasher: inout Hasher) {
    hasher.combine(storage.id)
    hasher.combine(storage.body != nil)
  }

  /// Signs a new entry. Callers normally go through `EntryDraft`, which computes the
  /// sequence, prev, parents and Lamport number from the DAG.
  public init(
    journal: JournalID, author: Signing.PrivateKey, sequence: UInt64, prev: EntryID?,
    parents: [EntryID], lamport: UInt64, body: [UInt8]
  ) {
    precondition(body.count <= Limits.maxBodyLength, "a body is at most 65,536 bytes")
    precondition(parents.count <= Limits.maxParents, "an entry has at most 64 parents")
    let header = EntryHeader(
      journal: journal, author: author.publicKey, sequence: sequence, prev: prev,
      parents: parents.sorted(), lamport: lamport, bodyHash: BLAKE2b.hash256(body),
      bodyLength: body.count)
    let headerBytes = header.encoded
    let signature = author.signature(for: Self.signatureContext + headerBytes)
    self.init(header: header, headerBytes: headerBytes, signature: signature, body: body)
  }

  private init(
    header: EntryHeader, headerBytes: [UInt8], signature: [UInt8], body: [UInt8]?
  ) {
    storage = Storage(header: header, headerBytes: headerBytes, signature: signature, body: body)
  }

  /// Decodes and checks every rule that needs neither a key nor another entry: canonical
  /// encoding, limits, body flag, body hash, body kind and (for control bodies) their
  /// structure. It does not check the signature: see `verifySignature()` and
  /// `ChainVerification`.
  public init(decoding bytes: [UInt8]) throws(LogError) {
    try self.init(decoding: bytes, range: 0..<bytes.count)
  }

  /// Decodes the entry that fills exactly `range` of `bytes` (one entry of a page), copying
  /// only its header, signature and body out.
  public init(decoding bytes: [UInt8], range: Range<Int>) throws(LogError) {
    var reader = ByteReader(bytes, range: range)
    let header = try EntryHeader.decode(from: &reader)
    let headerBytes = Array(bytes[range.lowerBound..<reader.offset])
    let signature = Array(try reader.take(Signing.signatureCount, "signature"))
    let flag = try reader.byte("body flag")
    var body: [UInt8]?
    switch flag {
    case 1:
      body = Array(try reader.take(header.bodyLength, "body"))
      guard BLAKE2b.hash256(body!) == header.bodyHash else {
        throw LogError(.bodyHashMismatch, "the body does not match the hash its header commits to")
      }
      try Body.validate(body!)
    case 0 where header.bodyLength > 0:
      body = nil
    case 0:
      throw LogError(.invalidBodyFlag, "an empty body cannot be detached")
    default:
      throw LogError(.invalidBodyFlag, "body flag \(flag) is neither 0 nor 1")
    }
    try reader.expectEnd("entry")
    self.init(header: header, headerBytes: headerBytes, signature: signature, body: body)
  }

  /// Decodes an entry that was asked for by id (a fetch of a missing parent): the bytes
  /// must hash to that id.
  public init(decoding bytes: [UInt8], expectedID: EntryID) throws(LogError) {
    try self.init(decoding: bytes)
    guard id == expectedID else {
      throw LogError(.idMismatch, "the entry received is not the one asked for")
    }
  }

  /// The wire form.
  public var encoded: [UInt8] {
    var out = headerBytes
    out.reserveCapacity(headerBytes.count + 65 + (body?.count ?? 0))
    out += signature
    if let body {
      out.append(1)
      out += body
    } else {
      out.append(0)
    }
    return out
  }

  /// True when the author's Ed25519 signature over the header verifies (≈ 97 µs).
  public func verifySignature() -> Bool {
    header.author.isValidSignature(signature, for: Self.signatureContext + headerBytes)
  }

  /// The same entry without its body (what remains after an erasure).
  public func detachingBody() -> Entry {
    Entry(header: header, headerBytes: headerBytes, signature: signature, body: nil)
  }

  /// Reattaches a body fetched later; it must match the header's hash.
  public func attaching(body: [UInt8]) throws(LogError) -> Entry {
    guard body.count == header.bodyLength, BLAKE2b.hash256(body) == header.bodyHash else {
      throw LogError(.bodyHashMismatch, "the body does not match the hash its header commits to")
    }
    try Body.validate(body)
    return Entry(header: header, headerBytes: headerBytes, signature: signature, body: body)
  }

  /// The body's kind, when the body is present.
  public var bodyKind: Body.Kind? { body.map(Body.kind(of:)) }

  /// The control payload, when this is a control entry whose body is present.
  public var control: Control? {
    guard let body, Body.kind(of: body) == .control else { return nil }
    return try? Control(decoding: body)
  }

  @inlinable public var author: Signing.PublicKey { storage.header.author }
  @inlinable public var sequence: UInt64 { storage.header.sequence }
  @inlinable public var lamport: UInt64 { storage.header.lamport }
  @inlinable public var parents: [EntryID] { storage.header.parents }
  @inlinable public var prev: EntryID? { storage.header.prev }
}
