import AnkerCrypto
import AnkerLog

/// A 16-byte random id of a case or a client.
public struct RecordID: Hashable, Comparable, Sendable, CustomStringConvertible {
  public let bytes: [UInt8]

  public init?(_ bytes: some Collection<UInt8>) {
    guard bytes.count == 16 else { return nil }
    self.bytes = Array(bytes)
  }

  public init(using random: inout some RandomSource) { bytes = random.bytes(16) }

  public static func < (lhs: RecordID, rhs: RecordID) -> Bool {
    lhs.bytes.lexicographicallyPrecedes(rhs.bytes)
  }

  /// Ids are random and say nothing; they print as hex.
  public var description: String { Hex.encode(bytes) }
}

public typealias CaseID = RecordID
public typealias ClientID = RecordID

/// Typed access to record fields. Lists are concatenations of fixed-size items or, for
/// strings, of (length varint ‖ UTF-8) items.
extension Record {
  public subscript(id tag: Tag) -> RecordID? {
    get { fields[tag].flatMap { RecordID($0) } }
    set { fields[tag] = newValue?.bytes }
  }

  public subscript(person tag: Tag) -> PersonID? {
    get { fields[tag].flatMap { PersonID($0) } }
    set { fields[tag] = newValue?.bytes }
  }

  public subscript(digest tag: Tag) -> Digest256? {
    get { fields[tag].flatMap { Digest256($0) } }
    set { fields[tag] = newValue?.bytes }
  }

  public subscript(string tag: Tag) -> String? {
    get { fields[tag].flatMap { String(validating: $0, as: UTF8.self) } }
    set { fields[tag] = newValue.map { Array($0.utf8) } }
  }

  public subscript(number tag: Tag) -> UInt64? {
    get {
      guard let bytes = fields[tag] else { return nil }
      var reader = ByteReader(bytes)
      guard let value = try? reader.varint("number"), reader.isAtEnd else { return nil }
      return value
    }
    set {
      guard let newValue else {
        fields[tag] = nil
        return
      }
      var writer = ByteWriter()
      writer.varint(newValue)
      fields[tag] = writer.bytes
    }
  }

  public subscript(digests tag: Tag) -> [Digest256] {
    get { chunks(tag, size: 32).compactMap { Digest256($0) } }
    set { fields[tag] = newValue.isEmpty ? nil : newValue.flatMap(\.bytes) }
  }

  public subscript(people tag: Tag) -> [PersonID] {
    get { chunks(tag, size: 16).compactMap { PersonID($0) } }
    set { fields[tag] = newValue.isEmpty ? nil : newValue.flatMap(\.bytes) }
  }

  public subscript(strings tag: Tag) -> [String] {
    get {
      guard let bytes = fields[tag] else { return [] }
      var reader = ByteReader(bytes)
      var out = [String]()
      while !reader.isAtEnd {
        guard let length = try? reader.varint("length"), length <= UInt64(reader.remaining),
          let chunk = try? reader.take(Int(length), "string"),
          let text = String(validating: chunk, as: UTF8.self)
        else { return out }
        out.append(text)
      }
      return out
    }
    set {
      guard !newValue.isEmpty else {
        fields[tag] = nil
        return
      }
      var writer = ByteWriter()
      for text in newValue {
        writer.varint(UInt64(text.utf8.count))
        writer.append(text.utf8)
      }
      fields[tag] = writer.bytes
    }
  }

  private func chunks(_ tag: Tag, size: Int) -> [ArraySlice<UInt8>] {
    guard let bytes = fields[tag], bytes.count % size == 0 else { return [] }
    return stride(from: 0, to: bytes.count, by: size).map { bytes[$0..<$0 + size] }
  }
}
