import AnkerCrypto

/// An entry's id: BLAKE2b-256(header ‖ signature).
public typealias EntryID = Digest256
/// A journal's id: 32 random bytes chosen at genesis.
public typealias JournalID = Digest256

/// The signed outer header: exactly the fields a relay may read (DESIGN rule 7), in this
/// order. Byte layout (see `Schemas/ENTRY-FORMAT.md`):
///
///     version u8 = 1 ‖ journal [32] ‖ author [32] ‖ sequence varint ‖ prev [32] (only when
///     sequence > 1) ‖ parent count varint ‖ parents [32]… (strictly ascending) ‖
///     lamport varint ‖ body hash [32] ‖ body length varint
public struct EntryHeader: Hashable, Sendable {
  public static let version: UInt8 = 1

  public var journal: JournalID
  /// The author device's Ed25519 public key.
  public var author: Signing.PublicKey
  /// The author's sequence number, from 1.
  public var sequence: UInt64
  /// The id of the same author's previous entry (sequence − 1); nil only when sequence is 1.
  public var prev: EntryID?
  /// The author's heads when writing, strictly ascending; `prev` is always among them.
  public var parents: [EntryID]
  /// 1 + the largest Lamport number of the parents (1 when there are none).
  public var lamport: UInt64
  /// BLAKE2b-256 of the body bytes.
  public var bodyHash: Digest256
  /// The body's length in bytes (for a sealed body, its Padmé bucket).
  public var bodyLength: Int

  public init(
    journal: JournalID, author: Signing.PublicKey, sequence: UInt64, prev: EntryID?,
    parents: [EntryID], lamport: UInt64, bodyHash: Digest256, bodyLength: Int
  ) {
    self.journal = journal
    self.author = author
    self.sequence = sequence
    self.prev = prev
    self.parents = parents
    self.lamport = lamport
    self.bodyHash = bodyHash
    self.bodyLength = bodyLength
  }

  /// The header up to, not including, the body hash: the entry's place in the log, which
  /// sealed bodies bind as associated data.
  public var positionBytes: [UInt8] {
    var writer = ByteWriter(capacity: 80 + parents.count * 32)
    writePosition(to: &writer)
    return writer.bytes
  }

  /// The canonical encoding, as signed.
  public var encoded: [UInt8] {
    var writer = ByteWriter(capacity: 120 + parents.count * 32)
    writePosition(to: &writer)
    writer.digest(bodyHash)
    writer.varint(UInt64(bodyLength))
    return writer.bytes
  }

  private func writePosition(to writer: inout ByteWriter) {
    writer.byte(Self.version)
    writer.digest(journal)
    writer.digest(author.digest)
    writer.varint(sequence)
    if let prev { writer.digest(prev) }
    writer.varint(UInt64(parents.count))
    for parent in parents { writer.digest(parent) }
    writer.varint(lamport)
  }

  /// Reads a header and checks every rule that needs no other entry.
  static func decode(from reader: inout ByteReader) throws(LogError) -> EntryHeader {
    let version = try reader.byte("version")
    guard version == Self.version else {
      throw LogError(.unknownVersion, "entry format version \(version) is not supported")
    }
    let journal = try reader.digest("journal")
    let author = Signing.PublicKey(try reader.digest("author"))
    let sequence = try reader.varint("sequence")
    guard sequence >= 1 else { throw LogError(.invalidSequence, "sequence numbers start at 1") }
    let prev = sequence > 1 ? try reader.digest("prev") : nil
    let parentCount = try reader.varint("parent count")
    guard parentCount <= UInt64(Limits.maxParents) else {
      throw LogError(.fieldTooLarge, "more than \(Limits.maxParents) parents")
    }
    var parents = [EntryID]()
    parents.reserveCapacity(Int(parentCount))
    for _ in 0..<parentCount {
      let parent = try reader.digest("parents")
      if let last = parents.last, !(last < parent) {
        throw LogError(.parentsNotSorted, "parents are not strictly ascending")
      }
      parents.append(parent)
    }
    if let prev, !parents.contains(prev) {
      throw LogError(.prevNotInParents, "the author's previous entry is not among the parents")
    }
    let lamport = try reader.varint("lamport")
    if parents.isEmpty ? lamport != 1 : lamport < 2 {
      throw LogError(.invalidLamport, "Lamport number \(lamport) cannot follow the parents")
    }
    if sequence > lamport {
      throw LogError(.invalidLamport, "Lamport number is below the sequence number")
    }
    let bodyHash = try reader.digest("body hash")
    let bodyLength = try reader.varint("body length")
    guard bodyLength <= UInt64(Limits.maxBodyLength) else {
      throw LogError(.fieldTooLarge, "body length exceeds \(Limits.maxBodyLength)")
    }
    return EntryHeader(
      journal: journal, author: author, sequence: sequence, prev: prev, parents: parents,
      lamport: lamport, bodyHash: bodyHash, bodyLength: Int(bodyLength))
  }
}
