import AnkerCrypto
import AnkerLog

/// The entry-format test vectors (`Schemas/vectors/entries.json`), generated from fixed
/// seeds. One journal's entries form a shared pool; each vector places the first `context`
/// pool entries, then its own entry, and says what must happen.
package struct VectorSuite {
  package enum Stage: String, CaseIterable {
    case decode, verify, dag, membership
  }

  package struct Valid {
    let name: String
    let description: String
    let context: Int
    let entry: Entry
    let sealed: Sealed?
  }

  package struct Sealed {
    let epochKey: [UInt8]
    let keyRef: Digest256
    let contentKey: [UInt8]
    let plaintext: [UInt8]
  }

  package struct Invalid {
    let name: String
    let description: String
    let context: Int
    let bytes: [UInt8]
    let claimedID: EntryID?
    let stage: Stage
    let error: LogError.Code
  }

  package static let now: UInt64 = 1_800_000_000_000
  package internal(set) var pool: [Entry] = []
  package internal(set) var valid: [Valid] = []
  package internal(set) var invalid: [Invalid] = []
  var builder: LogBuilder
  var seeds: [Signing.PublicKey: [UInt8]] = [:]
  /// The recovery authority in force (after the replacement vector).
  var authority: Signing.PrivateKey

  package init() {
    builder = LogBuilder(seed: 2026, recoveryDelaySeconds: 3600)
    authority = builder.recovery.authorityKey
    remember(builder.admin)
    pool.append(builder.genesis)
    buildValid()
    buildInvalid()
  }

  mutating func remember(_ key: Signing.PrivateKey) {
    seeds[key.publicKey] = key.seed.unsafeCopy()
  }

  /// Records an entry the builder placed, as pool entry and (optionally) valid vector.
  @discardableResult
  mutating func placed(
    _ entry: Entry, _ name: String? = nil, _ description: String = "",
    plaintext: [UInt8]? = nil
  ) -> Entry {
    if let name {
      valid.append(
        Valid(
          name: name, description: description, context: pool.count, entry: entry,
          sealed: plaintext.map {
            let key = builder.epochKey.secret.unsafeCopy()
            return Sealed(epochKey: key, keyRef: .zero, contentKey: key, plaintext: $0)
          }))
    }
    pool.append(entry)
    return entry
  }

  mutating func fail(
    _ name: String, _ description: String, _ bytes: [UInt8], stage: Stage,
    _ error: LogError.Code, claimedID: EntryID? = nil
  ) {
    invalid.append(
      Invalid(
        name: name, description: description, context: pool.count, bytes: bytes,
        claimedID: claimedID, stage: stage, error: error))
  }

  // MARK: - Rendering

  package var json: JSON {
    .object([
      ("format", .string("anker entry v1")),
      ("generator", .string("swift run anker-vectors (Tools/VectorGen), seed 2026")),
      (
        "description",
        .string(
          "Place pool[0..<context] in order in a DAG pinned to pool[0], then the vector's entry. "
            + "Valid entries decode, verify, place and are valid members at now_ms. Invalid entries "
            + "pass every stage before `stage` and fail there with `error`.")
      ),
      ("now_ms", .int(Self.now)),
      (
        "keys",
        .array(
          seeds.sorted { $0.key < $1.key }.map { key, seed in
            .object([("public", .string(key.description)), ("seed", .string(Hex.encode(seed)))])
          })
      ),
      ("pool", .array(pool.map { .string(Hex.encode($0.encoded)) })),
      ("valid", .array(valid.map(Self.render))),
      ("invalid", .array(invalid.map(Self.render))),
    ])
  }

  static func render(_ vector: Valid) -> JSON {
    let header = vector.entry.header
    var pairs: [(String, JSON)] = [
      ("name", .string(vector.name)),
      ("description", .string(vector.description)),
      ("context", .int(UInt64(vector.context))),
      ("entry", .string(Hex.encode(vector.entry.encoded))),
      ("id", .string(vector.entry.id.hex)),
      (
        "header",
        .object([
          ("version", .int(UInt64(EntryHeader.version))),
          ("journal", .string(header.journal.hex)),
          ("author", .string(header.author.description)),
          ("sequence", .int(header.sequence)),
          ("prev", header.prev.map { .string($0.hex) } ?? .null),
          ("parents", .array(header.parents.map { .string($0.hex) })),
          ("lamport", .int(header.lamport)),
          ("body_hash", .string(header.bodyHash.hex)),
          ("body_length", .int(UInt64(header.bodyLength))),
        ])
      ),
      ("signature", .string(Hex.encode(vector.entry.signature))),
      ("body_kind", .string(bodyKind(vector.entry))),
    ]
    if let control = vector.entry.control {
      pairs.append(("control_kind", .string(String(describing: control.kind))))
    }
    if let sealed = vector.sealed {
      pairs.append(
        (
          "sealed",
          .object([
            ("epoch", .int(1)),
            ("epoch_key", .string(Hex.encode(sealed.epochKey))),
            ("key_ref", .string(sealed.keyRef.hex)),
            ("content_key", .string(Hex.encode(sealed.contentKey))),
            ("plaintext", .string(Hex.encode(sealed.plaintext))),
          ])
        ))
    }
    return .object(pairs)
  }

  static func bodyKind(_ entry: Entry) -> String {
    guard let kind = entry.bodyKind else { return "detached" }
    return switch kind {
    case .empty: "empty"
    case .sealed: "sealed"
    case .control: "control"
    }
  }

  static func render(_ vector: Invalid) -> JSON {
    var pairs: [(String, JSON)] = [
      ("name", .string(vector.name)),
      ("description", .string(vector.description)),
      ("context", .int(UInt64(vector.context))),
      ("entry", .string(Hex.encode(vector.bytes))),
    ]
    if let claimed = vector.claimedID { pairs.append(("id", .string(claimed.hex))) }
    pairs.append(("stage", .string(vector.stage.rawValue)))
    pairs.append(("error", .string(vector.error.raw)))
    return .object(pairs)
  }
}
