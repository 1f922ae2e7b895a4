import AnkerCrypto
import Testing

/// Typing mistakes must be caught, reported with `.invalidRecoveryKey`, and described without
/// echoing any part of the key.
@Suite("RecoveryKey: typing mistakes are caught")
struct RecoveryKeyErrorTests {
  /// One fixed key for the exhaustive tests.
  static func fixedKey() throws -> (key: RecoveryKey, groups: [String]) {
    let key = try #require(recoveryKeys(count: 1, seed: 120).first)
    let groups = key.paperText.split(separator: "-").map(String.init)
    try #require(groups.count == 14)
    return (key, groups)
  }

  /// How a rejected text was rejected, with everything needed to judge it and nothing secret.
  struct Outcome {
    var accepted = [String]()
    var wrongCode = 0
    var leakingMessages = 0
    var messages = Set<String>()
    /// Rejections by a group's own check character (rather than by the whole-key check).
    var caughtByGroupCheck = 0

    mutating func record(_ label: String, _ text: String, groups: [String]) {
      guard let error = cryptoError({ try RecoveryKey(parsing: text) }) else {
        accepted.append(label)
        return
      }
      if error.code != .invalidRecoveryKey { wrongCode += 1 }
      let rendered = [error.message, error.description, String(reflecting: error)]
      if groups.contains(where: { group in rendered.contains { $0.contains(group) } }) {
        leakingMessages += 1
      }
      messages.insert(error.message)
      if error.message.contains("does not check") { caughtByGroupCheck += 1 }
    }
  }

  @Test("every single-character substitution in every position is rejected")
  func everySubstitution() throws {
    let (_, groups) = try Self.fixedKey()
    var outcome = Outcome()
    var attempts = 0
    for group in 0..<14 {
      for position in 0..<5 {
        var characters = Array(groups[group])
        let original = characters[position]
        for replacement in crockford where replacement != original {
          characters[position] = replacement
          var typed = groups
          typed[group] = String(characters)
          outcome.record(
            "group \(group + 1) position \(position + 1)", typed.joined(separator: "-"),
            groups: groups)
          attempts += 1
        }
      }
    }
    #expect(attempts == 14 * 5 * 31)
    #expect(outcome.accepted.isEmpty)
    #expect(outcome.wrongCode == 0)
    #expect(outcome.leakingMessages == 0)
    // About 1 in 32 substitutions passes its group's check; the whole-key check catches those.
    #expect(outcome.messages.contains { $0.contains("the key as a whole does not") })
  }

  @Test("swapping any two different groups is rejected")
  func everySwap() throws {
    let (_, groups) = try Self.fixedKey()
    var outcome = Outcome()
    var swaps = 0
    for first in 0..<14 {
      for second in (first + 1)..<14 where groups[first] != groups[second] {
        var typed = groups
        typed.swapAt(first, second)
        outcome.record(
          "swap \(first + 1)/\(second + 1)", typed.joined(separator: "-"), groups: groups)
        swaps += 1
      }
    }
    #expect(swaps == 91)
    #expect(outcome.accepted.isEmpty)
    // The check characters depend on the position, so a swap is normally caught right there.
    #expect(outcome.caughtByGroupCheck >= 85)
    #expect(outcome.wrongCode == 0)
    #expect(outcome.leakingMessages == 0)
  }

  @Test("the 4 unused bits at the end of group 13 must be zero: one spelling per key")
  func unusedBits() throws {
    var nonzeroInPaperText = 0
    var accepted = 0
    var wrongCode = 0
    var caughtByUnusedBits = 0
    for key in recoveryKeys(count: 40, seed: 121) {
      var characters = Array(key.paperText.filter { $0 != "-" })
      // The 52nd data symbol (group 13, 4th character) carries 1 key bit and 4 zero bits.
      let index = 12 * 5 + 3
      let value = try #require(crockford.firstIndex(of: characters[index]))
      if value & 0x0f != 0 { nonzeroInPaperText += 1 }
      for low in 1..<16 {
        characters[index] = crockford[(value & 0x10) | low]
        let error = cryptoError { try RecoveryKey(parsing: String(characters)) }
        if let error {
          if error.code != .invalidRecoveryKey { wrongCode += 1 }
          if error.message.contains("group 13 is not valid") { caughtByUnusedBits += 1 }
        } else {
          accepted += 1
        }
      }
    }
    #expect(nonzeroInPaperText == 0)
    #expect(accepted == 0)
    #expect(wrongCode == 0)
    // Some of these pass group 13's check by chance (1 in 32); only the unused-bits rule
    // catches them, since the key bytes, and so the whole-key check, are unchanged.
    #expect(caughtByUnusedBits > 0)
  }

  @Test("adjacent characters swapped within a group are rejected")
  func transpositions() throws {
    let (_, groups) = try Self.fixedKey()
    var outcome = Outcome()
    for group in 0..<14 {
      for position in 0..<4 {
        var characters = Array(groups[group])
        guard characters[position] != characters[position + 1] else { continue }
        characters.swapAt(position, position + 1)
        var typed = groups
        typed[group] = String(characters)
        outcome.record("group \(group + 1) at \(position + 1)", typed.joined(), groups: groups)
      }
    }
    #expect(outcome.accepted.isEmpty)
    #expect(outcome.wrongCode == 0)
    #expect(outcome.leakingMessages == 0)
  }

  @Test("wrong lengths are rejected")
  func wrongLengths() throws {
    let (_, groups) = try Self.fixedKey()
    let text = groups.joined()
    var outcome = Outcome()
    outcome.record("empty", "", groups: groups)
    outcome.record("separators only", " - - ", groups: groups)
    for drop in [1, 4, 5, 10, 69] {
      outcome.record("short by \(drop)", String(text.dropLast(drop)), groups: groups)
    }
    for index in 0..<text.count {
      var characters = Array(text)
      characters.remove(at: index)
      outcome.record("missing \(index)", String(characters), groups: groups)
    }
    for extra in ["0", "Z", "00000", "0-0000"] {
      outcome.record("extra \(extra)", text + extra, groups: groups)
      outcome.record("extra \(extra) first", extra + text, groups: groups)
    }
    outcome.record("doubled", text + text, groups: groups)
    outcome.record("thirteen groups", groups.dropLast().joined(separator: "-"), groups: groups)
    outcome.record("repeated group", (groups + [groups[0]]).joined(separator: "-"), groups: groups)
    #expect(outcome.accepted.isEmpty)
    #expect(outcome.wrongCode == 0)
    #expect(outcome.leakingMessages == 0)
  }

  @Test("characters outside the alphabet are rejected wherever they appear")
  func badCharacters() throws {
    let (_, groups) = try Self.fixedKey()
    let text = groups.joined(separator: "-")
    var outcome = Outcome()
    let intruders = ["U", "u", "!", "_", ".", ",", "/", "+", "=", "é", "Ø", "\u{0}"]
    for intruder in intruders {
      for cut in [0, 1, 5, 6, 40, text.count - 1, text.count] {
        let typed = String(text.prefix(cut)) + intruder + String(text.dropFirst(cut))
        outcome.record("\(intruder) at \(cut)", typed, groups: groups)
      }
      // Replacing a character keeps the length right, so only the alphabet check can object.
      let replaced = String(text.dropLast()) + intruder
      outcome.record("\(intruder) replacing the last", replaced, groups: groups)
    }
    #expect(outcome.accepted.isEmpty)
    #expect(outcome.wrongCode == 0)
    #expect(outcome.leakingMessages == 0)
  }

  @Test("messages say what to do and name no key material")
  func messages() throws {
    let (key, groups) = try Self.fixedKey()
    let text = key.paperText
    let cases: [(String, String)] = [
      // Positions are counted as typed, separators included.
      (String(text.dropLast()) + "U", "character 83 is not one a recovery key uses"),
      (String(text.dropLast()), "a recovery key has 14 groups of 5 characters (70 in all); 69"),
      (groups.reversed().joined(), "does not check: compare it with the paper again"),
    ]
    for (typed, expected) in cases {
      let error = cryptoError { try RecoveryKey(parsing: typed) }
      #expect(error?.code == .invalidRecoveryKey)
      let message = error?.message ?? ""
      let matches = message.contains(expected)
      #expect(matches, "expected the message to contain: \(expected)")
      let leaks = groups.contains { message.contains($0) }
      #expect(!leaks, "the message quotes part of the key")
    }
  }
}

@Suite("RecoveryKey: pasted separators")
struct RecoveryKeySeparatorTests {
  @Test("typographic dashes and non-breaking spaces are read as separators")
  func typographicSeparators() throws {
    var random = SeededRandom(seed: 77)
    let key = RecoveryKey(using: &random)
    let text = key.paperText
    for separator in ["\u{2013}", "\u{2014}", "\u{00A0}", "\u{2212}", "\u{2009}"] {
      let typed = text.split(separator: "-").joined(separator: separator)
      let parsed = try RecoveryKey(parsing: typed)
      #expect(parsed.authorityKey.publicKey == key.authorityKey.publicKey)
    }
  }
}
