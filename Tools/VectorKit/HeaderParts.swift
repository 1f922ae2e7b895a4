import AnkerCrypto
import AnkerLog

/// An entry cut into its encoded fields, so a vector can break exactly one rule and be
/// re-signed, leaving that rule the only thing wrong.
struct HeaderParts {
  var version: [UInt8] = [EntryHeader.version]
  var journal: [UInt8]
  var author: [UInt8]
  var sequence: [UInt8]
  var prev: [UInt8]
  var parentCount: [UInt8]
  var parents: [UInt8]
  var lamport: [UInt8]
  var bodyHash: [UInt8]
  var bodyLength: [UInt8]
  var signature: [UInt8]
  var flag: [UInt8]
  var body: [UInt8]

  init(_ entry: Entry) {
    let header = entry.header
    journal = header.journal.bytes
    author = header.author.bytes
    sequence = Self.varint(header.sequence)
    prev = header.prev?.bytes ?? []
    parentCount = Self.varint(UInt64(header.parents.count))
    parents = header.parents.flatMap(\.bytes)
    lamport = Self.varint(header.lamport)
    bodyHash = header.bodyHash.bytes
    bodyLength = Self.varint(UInt64(header.bodyLength))
    signature = entry.signature
    flag = [entry.body == nil ? 0 : 1]
    body = entry.body ?? []
  }

  static func varint(_ value: UInt64) -> [UInt8] {
    var writer = ByteWriter()
    writer.varint(value)
    return writer.bytes
  }

  var header: [UInt8] {
    version + journal + author + sequence + prev + parentCount + parents + lamport + bodyHash
      + bodyLength
  }

  var bytes: [UInt8] { header + signature + flag + body }

  /// Replaces the body and its hash and length.
  mutating func setBody(_ newBody: [UInt8]) {
    body = newBody
    bodyHash = BLAKE2b.hash256(newBody).bytes
    bodyLength = Self.varint(UInt64(newBody.count))
  }

  mutating func sign(with key: Signing.PrivateKey) {
    signature = key.signature(for: Entry.signatureContext + header)
  }
}
