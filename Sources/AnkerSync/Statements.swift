import AnkerCrypto
import AnkerLog
import Foundation

/// The relay's signed statement about its sequence log: "entry number `sequence` of journal
/// `journal` closes the hash chain at `chain`". Every assignment extends the chain,
///
///     chain(n) = BLAKE2b-256("anker relay sequence v1" ‖ 0x00 ‖ chain(n-1) ‖ u64 BE n ‖ id(n))
///
/// from `chain(0)` = 32 zero bytes, so two signed checkpoints that do not lie on one chain
/// (a relay restored from an old backup, or one showing devices different histories) are
/// proof, with the entries between them, of a rollback or fork (DESIGN rule 10).
public struct RelayCheckpoint: Hashable, Sendable {
  public static let context = Array("anker relay checkpoint v1".utf8) + [0]
  static let chainContext = Array("anker relay sequence v1".utf8) + [0]
  public static let encodedCount = 32 + 32 + 8 + 32 + 8 + 64

  public let relay: Signing.PublicKey
  public let journal: JournalID
  public let sequence: UInt64
  public let chain: Digest256
  /// The relay's clock when it signed (milliseconds since 1970).
  public let time: UInt64
  public let signature: [UInt8]

  /// The chain value after assigning `sequence` to `id`.
  public static func extend(_ chain: Digest256, sequence: UInt64, id: EntryID) -> Digest256 {
    var input = chainContext
    input.reserveCapacity(chainContext.count + 72)
    chain.appendBytes(to: &input)
    Wire.appendU64(sequence, to: &input)
    id.appendBytes(to: &input)
    return BLAKE2b.hash256(input)
  }

  public init(
    signedBy key: Signing.PrivateKey, journal: JournalID, sequence: UInt64, chain: Digest256,
    time: UInt64
  ) {
    self.relay = key.publicKey
    self.journal = journal
    self.sequence = sequence
    self.chain = chain
    self.time = time
    self.signature = key.signature(
      for: Self.context + Self.statement(key.publicKey, journal, sequence, chain, time))
  }

  private static func statement(
    _ relay: Signing.PublicKey, _ journal: JournalID, _ sequence: UInt64, _ chain: Digest256,
    _ time: UInt64
  ) -> [UInt8] {
    var out = relay.bytes
    journal.appendBytes(to: &out)
    Wire.appendU64(sequence, to: &out)
    chain.appendBytes(to: &out)
    Wire.appendU64(time, to: &out)
    return out
  }

  public var encoded: [UInt8] {
    Self.statement(relay, journal, sequence, chain, time) + signature
  }

  /// Decodes and checks the signature against the key the statement names.
  public init(decoding bytes: [UInt8]) throws(WireError) {
    guard bytes.count == Self.encodedCount else {
      throw WireError(.truncated, "a relay checkpoint has the wrong length")
    }
    relay = Signing.PublicKey(bytes[0..<32])!
    journal = Digest256(bytes[32..<64])!
    sequence = Wire.readU64(bytes, at: 64)
    chain = Digest256(bytes[72..<104])!
    time = Wire.readU64(bytes, at: 104)
    signature = Array(bytes[112..<176])
    guard relay.isValidSignature(signature, for: Self.context + Array(bytes[0..<112])) else {
      throw WireError(.badSignature, "a relay checkpoint's signature does not verify")
    }
  }
}

/// A device's signed statement of the heads it holds: what lets another device (or a
/// restore) prove that the relay withholds an entry (DESIGN rule 10).
public struct HeadAttestation: Hashable, Sendable {
  public static let context = Array("anker head attestation v1".utf8) + [0]
  public static let maxHeads = 256

  public let journal: JournalID
  public let device: Signing.PublicKey
  public let time: UInt64
  /// How many entries the device held.
  public let count: UInt64
  public let heads: [EntryID]
  public let signature: [UInt8]

  public init(
    signedBy key: Signing.PrivateKey, journal: JournalID, time: UInt64, count: UInt64,
    heads: [EntryID]
  ) {
    self.journal = journal
    self.device = key.publicKey
    self.time = time
    self.count = count
    self.heads = Array(heads.sorted().prefix(Self.maxHeads))
    self.signature = key.signature(
      for: Self.context + Self.statement(journal, device, time, count, self.heads))
  }

  private static func statement(
    _ journal: JournalID, _ device: Signing.PublicKey, _ time: UInt64, _ count: UInt64,
    _ heads: [EntryID]
  ) -> [UInt8] {
    var out = journal.bytes
    out += device.bytes
    Wire.appendU64(time, to: &out)
    Wire.appendU64(count, to: &out)
    Wire.appendU32(UInt32(heads.count), to: &out)
    for head in heads { head.appendBytes(to: &out) }
    return out
  }

  public var encoded: [UInt8] { Self.statement(journal, device, time, count, heads) + signature }

  /// Decodes and checks the signature against the device the statement names (whether that
  /// device is a member is for the reader to decide).
  public init(decoding bytes: [UInt8]) throws(WireError) {
    guard bytes.count >= 84 + 64 else {
      throw WireError(.truncated, "an attestation is truncated")
    }
    let headCount = Int(Wire.readU32(bytes, at: 80))
    guard headCount <= Self.maxHeads, bytes.count == 84 + headCount * 32 + 64 else {
      throw WireError(.truncated, "an attestation has the wrong length")
    }
    journal = Digest256(bytes[0..<32])!
    device = Signing.PublicKey(bytes[32..<64])!
    time = Wire.readU64(bytes, at: 64)
    count = Wire.readU64(bytes, at: 72)
    heads = (0..<headCount).map { Digest256(bytes[(84 + $0 * 32)..<(116 + $0 * 32)])! }
    guard heads == heads.sorted(), Set(heads).count == heads.count else {
      throw WireError(.truncated, "an attestation's heads are not in ascending order")
    }
    let end = 84 + headCount * 32
    signature = Array(bytes[end...])
    guard device.isValidSignature(signature, for: Self.context + Array(bytes[0..<end])) else {
      throw WireError(.badSignature, "an attestation's signature does not verify")
    }
  }
}

/// Framing for lists of attestations: (u32 BE length ‖ attestation)*.
extension Wire {
  public static func encodeAttestations(_ items: [HeadAttestation]) -> [UInt8] {
    var out = [UInt8]()
    for item in items { appendFramed(item.encoded, to: &out) }
    return out
  }

  public static func decodeAttestations(_ bytes: [UInt8]) throws(WireError) -> [HeadAttestation] {
    try splitBatch(bytes).map { (part) throws(WireError) in
      try HeadAttestation(decoding: Array(part))
    }
  }
}

/// The checkpoint a coordinator keeps beside the paper key (`anker checkpoint`, DESIGN rule
/// 10): a device's signed head attestation as a short text file. `anker-restore` reports a
/// restore "complete up to" it when every head it names is restored, with all its ancestors.
///
///     anker checkpoint v1
///     journal <64 hex digits>
///     entries <count>
///     time <milliseconds since 1970>
///     signed <hex of the attestation's bytes>
///
/// Only the `signed` line counts: the others are for people, and are checked against it.
public struct CheckpointFile: Sendable {
  public static let firstLine = "anker checkpoint v1"
  public let attestation: HeadAttestation

  public init(_ attestation: HeadAttestation) { self.attestation = attestation }

  public var text: String {
    """
    \(Self.firstLine)
    journal \(attestation.journal.hex)
    entries \(attestation.count)
    time \(attestation.time)
    signed \(Hex.encode(attestation.encoded))

    """
  }

  /// Parses a checkpoint file and checks its signature and that its lines agree.
  public init(parsing text: String) throws(WireError) {
    let lines = text.split(whereSeparator: \.isNewline).map {
      $0.trimmingCharacters(in: .whitespaces)
    }
    guard lines.first == Self.firstLine else {
      throw WireError(.truncated, "this is not an anker checkpoint file")
    }
    var fields = [String: String]()
    for line in lines.dropFirst() {
      guard let space = line.firstIndex(of: " ") else { continue }
      fields[String(line[..<space])] = String(line[line.index(after: space)...])
    }
    guard let signed = fields["signed"].flatMap(Hex.decode) else {
      throw WireError(.truncated, "the checkpoint file has no signed line")
    }
    let attestation = try HeadAttestation(decoding: signed)
    guard fields["journal"] == attestation.journal.hex,
      fields["entries"] == String(attestation.count), fields["time"] == String(attestation.time)
    else {
      throw WireError(.badSignature, "the checkpoint file's lines disagree with what was signed")
    }
    self.attestation = attestation
  }
}
