import AnkerCrypto
import Testing

@testable import AnkerLog

@Suite struct SteadyDictionaryTests {
  /// A map just past its first gradual growth (capacity 12), and how many keys (0..<n,
  /// each its own value) it holds, most of them still in the old table.
  static func justGrown() -> (map: SteadyDictionary<Int, Int>, n: Int) {
    var map = SteadyDictionary<Int, Int>(gradualFrom: 12)
    var n = 0
    while !map.isMoving {
      map.updateValue(n, forKey: n)
      n += 1
    }
    return (map, n)
  }

  /// Random inserts, overwrites and in-place changes, checked against a `Dictionary` after
  /// every step (lookups, count) and at every growth (every element, once).
  @Test(arguments: [1, 2, 3])
  func behavesAsADictionaryThroughManyGrowths(seed: UInt64) {
    var random = SeededRandom(seed: seed)
    var map = SteadyDictionary<UInt64, [UInt64]>(gradualFrom: 12)
    var model: [UInt64: [UInt64]] = [:]
    var keys: [UInt64] = []
    var growths = 0
    for step in 0..<30_000 {
      let capacity = map.capacity
      switch random.next(below: 10) {
      case 0..<5:
        let key = random.next()
        keys.append(key)
        map.updateValue([UInt64(step)], forKey: key)
        model[key] = [UInt64(step)]
      case 5..<7:
        let key = keys.isEmpty ? random.next() : keys[random.next(below: keys.count)]
        map.updateValue([UInt64(step), 1], forKey: key)
        model[key] = [UInt64(step), 1]
      default:
        let key = keys.isEmpty ? random.next() : keys[random.next(below: keys.count)]
        let length = map.modify(key, default: [7]) { value in
          value.append(UInt64(step))
          return value.count
        }
        model[key, default: [7]].append(UInt64(step))
        #expect(length == model[key]!.count)
      }
      #expect(map.count == model.count)
      if !keys.isEmpty {
        let probe = keys[random.next(below: keys.count)]
        #expect(map[probe] == model[probe])
      }
      #expect(map[random.next()] == nil)
      if map.capacity != capacity {
        // Past `gradualFrom`, a growth leaves the old table's elements to move later.
        if capacity >= 12 {
          growths += 1
          #expect(map.isMoving)
        }
        var seen: [UInt64: [UInt64]] = [:]
        for (key, value) in map { #expect(seen.updateValue(value, forKey: key) == nil) }
        #expect(seen == model)
      }
    }
    #expect(growths >= 9)
    for (key, value) in model { #expect(map[key] == value) }
    #expect(Dictionary(uniqueKeysWithValues: Array(map)) == model)
    #expect(Array(map.values).count == model.count)
  }

  /// The point of the type: past `gradualFrom`, the table is never rehashed in one go. Every
  /// growth starts a new table while the old one is already empty (had the old one not
  /// drained, that growth would have had to move all of it at once), and the table's
  /// capacity changes only at those growths.
  @Test func neverMovesEverythingAtOnce() {
    var random = SeededRandom(seed: 9)
    var map = SteadyDictionary<UInt64, UInt64>(gradualFrom: 3_072)
    var capacities: [Int] = []
    for step in 0..<200_000 {
      let wasMoving = map.isMoving
      let capacity = map.capacity
      map.updateValue(UInt64(step), forKey: random.next())
      if map.capacity != capacity {
        capacities.append(map.capacity)
        if capacity >= 3_072 {
          #expect(!wasMoving)
          #expect(map.isMoving)
          #expect(map.capacity == 2 * capacity)
        }
      }
    }
    #expect(map.count == 200_000)
    #expect(capacities.filter { $0 > 3_072 }.count >= 6)
  }

  /// Keys the old table still holds (not moved yet) are found, changed and counted once.
  @Test func changesToKeysNotYetMovedAreKept() {
    let (grown, n) = Self.justGrown()
    var map = grown
    // Every old key, changed while the move is under way: each must keep its new value.
    for key in 0..<n { map.modify(key, default: -1) { $0 += 1_000 } }
    #expect(!map.isMoving)
    #expect(map.count == n)
    for key in 0..<n { #expect(map[key] == key + 1_000) }
  }

  /// Keys a change takes across while the old table drains (ahead of the moves): iteration
  /// in the middle of it yields every key once with its newest value, and once nothing is
  /// left to move the old table is let go, whichever way its last element went.
  @Test func keysTakenAcrossDuringAMoveAreSeenOnce() {
    let (grown, n) = Self.justGrown()
    var map = grown
    var model = Dictionary(uniqueKeysWithValues: (0..<n).map { ($0, $0) })
    for key in stride(from: 0, to: n, by: 2) {
      let found: Void? = map.modifyIfPresent(key) { $0 += 100 }
      #expect(found != nil)
      model[key]! += 100
    }
    #expect(map.isMoving)
    var seen: [Int: Int] = [:]
    for (key, value) in map { #expect(seen.updateValue(value, forKey: key) == nil) }
    #expect(seen == model)
    #expect(map.modifyIfPresent(-1) { $0 += 1 } == nil)
    for key in stride(from: 1, to: n, by: 2) {
      map.modifyIfPresent(key) { $0 += 100 }
      model[key]! += 100
    }
    #expect(!map.isMoving)
    let previous = Mirror(reflecting: map).children.first { $0.label == "previous" }?.value
    #expect((previous as? [Int: Int])?.isEmpty == true)
    #expect(Dictionary(uniqueKeysWithValues: Array(map)) == model)
    #expect(map.count == n)
  }
}
