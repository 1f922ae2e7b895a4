import AnkerCrypto

/// An entry's place fixed before its body is written: a sealed body binds this position as
/// associated data, so the position must exist first.
public struct EntryDraft: Sendable {
  public let journal: JournalID
  public let author: Signing.PublicKey
  public let sequence: UInt64
  public let prev: EntryID?
  public let parents: [EntryID]
  public let lamport: UInt64

  public init(
    journal: JournalID, author: Signing.PublicKey, sequence: UInt64, prev: EntryID?,
    parents: [EntryID], lamport: UInt64
  ) {
    self.journal = journal
    self.author = author
    self.sequence = sequence
    self.prev = prev
    self.parents = parents.sorted()
    self.lamport = lamport
  }

  /// The genesis position of a new journal.
  public static func genesis(journal: JournalID, author: Signing.PublicKey) -> EntryDraft {
    EntryDraft(journal: journal, author: author, sequence: 1, prev: nil, parents: [], lamport: 1)
  }

  /// The header up to the body hash, as sealed bodies bind it.
  public var positionBytes: [UInt8] {
    EntryHeader(
      journal: journal, author: author, sequence: sequence, prev: prev, parents: parents,
      lamport: lamport, bodyHash: .zero, bodyLength: 0
    ).positionBytes
  }

  /// Signs the entry with its body. `key` must be the author's.
  public func sign(body: [UInt8], with key: Signing.PrivateKey) -> Entry {
    precondition(key.publicKey == author, "an entry is signed by its author")
    return Entry(
      journal: journal, author: key, sequence: sequence, prev: prev, parents: parents,
      lamport: lamport, body: body)
  }
}

extension DAG {
  /// The position of `author`'s next entry: after its newest entry `lastOwn`, citing the
  /// current heads.
  public func draft(author: Signing.PublicKey, lastOwn: EntryID?) -> EntryDraft {
    let next = nextPosition(after: lastOwn)
    return EntryDraft(
      journal: journal, author: author, sequence: next.sequence, prev: next.prev,
      parents: next.parents, lamport: next.lamport)
  }
}
