import AnkerCrypto
import AnkerLog

/// The binary pieces of the relay protocol that both sides build and check
/// (`Schemas/RELAY-PROTOCOL.md` gives them byte by byte; `Schemas/relay-openapi.yaml` the HTTP).
public enum Wire {
  /// The most entries one push or one page carries.
  public static let maxBatchEntries = 2_000
  /// Request bodies above this are refused unless the relay is configured otherwise.
  public static let defaultMaxRequestBytes = 8 << 20

  // MARK: - Entry batches: (u32 BE length ‖ entry)*

  /// Frames entries for a push body or a backup: each entry's wire form behind its length.
  public static func encodeBatch(_ entries: some Sequence<Entry>) -> [UInt8] {
    var out = [UInt8]()
    for entry in entries { appendFramed(entry.encoded, to: &out) }
    return out
  }

  package static func appendFramed(_ bytes: [UInt8], to out: inout [UInt8]) {
    appendU32(UInt32(bytes.count), to: &out)
    out += bytes
  }

  /// Splits a batch into the wire forms of its entries, without decoding them.
  public static func splitBatch(_ bytes: [UInt8]) throws(WireError) -> [ArraySlice<UInt8>] {
    var parts = [ArraySlice<UInt8>]()
    var offset = 0
    while offset < bytes.count {
      guard bytes.count - offset >= 4 else { throw WireError(.truncated, "a batch is truncated") }
      let length = Int(readU32(bytes, at: offset))
      offset += 4
      guard length <= bytes.count - offset else {
        throw WireError(.truncated, "a batch is truncated")
      }
      parts.append(bytes[offset..<offset + length])
      offset += length
    }
    return parts
  }

  /// Decodes a batch; every entry must decode (well formed, body matching its hash).
  public static func decodeBatch(_ bytes: [UInt8]) throws(WireError) -> [Entry] {
    var entries = [Entry]()
    for part in try splitBatch(bytes) {
      do { entries.append(try Entry(decoding: Array(part))) } catch {
        throw WireError(.malformedEntry, "an entry is malformed (\(error.code))")
      }
    }
    return entries
  }

  // MARK: - Pages: (u64 BE relay sequence ‖ u32 BE length ‖ entry)*

  public static func encodePage(_ records: [(sequence: UInt64, entry: [UInt8])]) -> [UInt8] {
    var out = [UInt8]()
    out.reserveCapacity(records.reduce(0) { $0 + $1.entry.count + 12 })
    for record in records {
      appendU64(record.sequence, to: &out)
      appendFramed(record.entry, to: &out)
    }
    return out
  }

  public static func decodePage(_ bytes: [UInt8]) throws(WireError) -> [(
    sequence: UInt64, entry: Entry
  )] {
    var out = [(sequence: UInt64, entry: Entry)]()
    var offset = 0
    while offset < bytes.count {
      guard bytes.count - offset >= 12 else { throw WireError(.truncated, "a page is truncated") }
      let sequence = readU64(bytes, at: offset)
      let length = Int(readU32(bytes, at: offset + 8))
      offset += 12
      guard length <= bytes.count - offset else {
        throw WireError(.truncated, "a page is truncated")
      }
      do {
        out.append((sequence, try Entry(decoding: bytes, range: offset..<offset + length)))
      } catch {
        throw WireError(.malformedEntry, "an entry the relay sent is malformed (\(error.code))")
      }
      offset += length
    }
    return out
  }

  // MARK: - Ids: 32 bytes each, concatenated

  public static func encodeIDs(_ ids: some Sequence<EntryID>) -> [UInt8] {
    var out = [UInt8]()
    for id in ids { id.appendBytes(to: &out) }
    return out
  }

  public static func decodeIDs(_ bytes: [UInt8]) throws(WireError) -> [EntryID] {
    guard bytes.count % 32 == 0 else { throw WireError(.truncated, "a list of ids is truncated") }
    return stride(from: 0, to: bytes.count, by: 32).map { Digest256(bytes[$0..<$0 + 32])! }
  }

  // MARK: - Integers

  package static func appendU32(_ value: UInt32, to out: inout [UInt8]) {
    withUnsafeBytes(of: value.bigEndian) { out += $0 }
  }

  package static func appendU64(_ value: UInt64, to out: inout [UInt8]) {
    withUnsafeBytes(of: value.bigEndian) { out += $0 }
  }

  package static func readU32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
    bytes[offset..<offset + 4].reduce(0) { $0 << 8 | UInt32($1) }
  }

  package static func readU64(_ bytes: some Collection<UInt8>, at offset: Int) -> UInt64 {
    let start = bytes.index(bytes.startIndex, offsetBy: offset)
    return bytes[start..<bytes.index(start, offsetBy: 8)].reduce(0) { $0 << 8 | UInt64($1) }
  }

  package static func appendText(_ text: String, to out: inout [UInt8]) {
    let bytes = Array(text.utf8)
    appendU32(UInt32(bytes.count), to: &out)
    out += bytes
  }
}

/// A failure to read what the other side sent.
public struct WireError: Error, Hashable, Sendable, CustomStringConvertible {
  public enum Code: String, Sendable {
    case truncated, malformedEntry, badSignature, wrongJournal, wrongRelay
  }

  public let code: Code
  public let message: String

  public init(_ code: Code, _ message: String) {
    self.code = code
    self.message = message
  }

  public var description: String { "\(code.rawValue): \(message)" }
}
