/// A hash map that grows without stopping to rehash everything at once.
///
/// A Swift `Dictionary` grows by moving every element into a table twice the size, in one
/// step. On the relay that step runs on a journal's actor: at 49,152 and 98,304 entries the
/// relay's tables of every id doubled within a few pushes, and every push queued behind them
/// waited. Most of that pause was the kernel handing out the new table's pages, zeroed, at
/// first touch (DECISIONS 49). This map grows the way incremental hash tables
/// do: when its table is full it starts one twice the size for new keys and, with every
/// later new key, moves one element of the old table across (stepping over any a change
/// already took across). The old table is empty by the time the new one fills, so no change
/// writes more than two elements. A lookup tries the new table, then (while elements are
/// still moving) the old one.
///
/// Keys are never removed (none of its users removes any), which keeps the old table
/// unchanged while it drains: its indices stay valid, and a key found there but not in the
/// new table has not moved yet.
package struct SteadyDictionary<Key: Hashable, Value> {
  /// New keys go here.
  private var table: [Key: Value]
  /// The full table `table` replaced, while its elements move across; never changed.
  private var previous: [Key: Value] = [:]
  /// The next element of `previous` to move.
  private var cursor: Dictionary<Key, Value>.Index
  /// Elements of `previous` at or after `cursor` whose key `table` does not hold yet.
  private var unmoved = 0
  /// Tables with room for fewer elements grow the ordinary way: rehashing them is brief.
  private let gradualFrom: Int

  /// Elements moved per new key. The old table holds half the new one's capacity, so with
  /// one move per new key it is empty by the time the new table is full, and no change
  /// touches more than two places in fresh memory (each a page fault the first time).
  static var movesPerInsert: Int { 1 }

  /// A map that grows the ordinary way while its table holds fewer than `gradualFrom`
  /// elements (a table that small rehashes in well under a millisecond).
  package init(gradualFrom: Int = 3_072) {
    table = [:]
    cursor = previous.endIndex
    self.gradualFrom = gradualFrom
  }

  package var count: Int { table.count + unmoved }

  /// How many elements the current table holds before it must grow.
  package var capacity: Int { table.capacity }
  /// True while elements of a replaced table are still moving across.
  package var isMoving: Bool { unmoved > 0 }

  package subscript(key: Key) -> Value? {
    if let value = table[key] { return value }
    return unmoved > 0 ? previous[key] : nil
  }

  /// Sets the value for `key`, inserting it if it is new.
  package mutating func updateValue(_ value: Value, forKey key: Key) {
    if let index = table.index(forKey: key) {
      table.values[index] = value
    } else {
      _ = claim(key)
      table[key] = value
      move()
    }
  }

  /// Runs `body` on the value for `key`, inserting `fallback` first if the key is new.
  package mutating func modify<Result>(
    _ key: Key, default fallback: @autoclosure () -> Value, _ body: (inout Value) -> Result
  ) -> Result {
    if let index = table.index(forKey: key) { return body(&table.values[index]) }
    var value = claim(key) ?? fallback()
    let result = body(&value)
    table[key] = value
    move()
    return result
  }

  /// Runs `body` on the value for `key` if there is one; nil (and no change) if not.
  package mutating func modifyIfPresent<Result>(_ key: Key, _ body: (inout Value) -> Result)
    -> Result?
  {
    if let index = table.index(forKey: key) { return body(&table.values[index]) }
    guard unmoved > 0, var value = previous[key] else { return nil }
    // Not moved yet: it moves now.
    taken()
    let result = body(&value)
    table[key] = value
    return result
  }

  /// Makes room for a key `table` lacks, about to be inserted there. Returns its value in
  /// the old table if it has not moved yet (the copy there is left behind, and skipped
  /// when the cursor reaches it).
  private mutating func claim(_ key: Key) -> Value? {
    if unmoved > 0, let value = previous[key] {
      taken()
      return value
    }
    if table.count >= table.capacity && table.capacity >= gradualFrom { startGrowing() }
    return nil
  }

  /// Hands the full table over to `previous` and starts one twice its size.
  private mutating func startGrowing() {
    // Only if inserts outpaced the moves, which `movesPerInsert` rules out.
    while unmoved > 0 { move() }
    let full = table.capacity
    previous = table
    table = Dictionary(minimumCapacity: 2 * full)
    cursor = previous.startIndex
    unmoved = previous.count
  }

  /// Moves up to `movesPerInsert` elements of the old table across; lets it go once empty.
  private mutating func move() {
    guard unmoved > 0 else { return }
    var moves = Self.movesPerInsert
    while moves > 0 && cursor != previous.endIndex {
      let (key, value) = previous[cursor]
      previous.formIndex(after: &cursor)
      guard table.index(forKey: key) == nil else { continue }
      table[key] = value
      moves -= 1
      taken()
    }
  }

  /// Counts one element of the old table as moved; lets the old table go once none is left.
  private mutating func taken() {
    unmoved -= 1
    if unmoved == 0 {
      previous = [:]
      cursor = previous.endIndex
    }
  }
}

extension SteadyDictionary: Sequence {
  /// Every element once, in no particular order.
  package struct Iterator: IteratorProtocol {
    private let table: [Key: Value]
    private var inTable: Dictionary<Key, Value>.Iterator
    private var unmoved: Slice<[Key: Value]>.Iterator

    fileprivate init(_ map: SteadyDictionary) {
      table = map.table
      inTable = map.table.makeIterator()
      let rest = map.unmoved > 0 ? map.cursor : map.previous.endIndex
      unmoved = map.previous[rest...].makeIterator()
    }

    package mutating func next() -> (key: Key, value: Value)? {
      if let element = inTable.next() { return element }
      while let element = unmoved.next() {
        if table.index(forKey: element.key) == nil { return element }
      }
      return nil
    }
  }

  package func makeIterator() -> Iterator { Iterator(self) }
  package var underestimatedCount: Int { count }

  package var values: LazyMapSequence<Self, Value> { lazy.map(\.value) }
}

extension SteadyDictionary: Sendable where Key: Sendable, Value: Sendable {}
