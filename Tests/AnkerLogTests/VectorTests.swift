import AnkerCrypto
import AnkerVectorKit
import Foundation
import Testing

@testable import AnkerLog

/// The generic runner for `Schemas/vectors/entries.json`: every vector, valid or invalid,
/// goes through the same stages (decode, verify, dag, membership).
@Suite struct VectorTests {
  static let path = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Schemas/vectors/entries.json")

  struct File {
    let now: UInt64
    let pool: [Entry]
    let valid: [[String: Any]]
    let invalid: [[String: Any]]
  }

  static func load() throws -> File {
    let data = try Data(contentsOf: path)
    let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    let pool = try (root["pool"] as! [String]).map { try Entry(decoding: Hex.decode($0)!) }
    return File(
      now: (root["now_ms"] as! NSNumber).uint64Value, pool: pool,
      valid: root["valid"] as! [[String: Any]], invalid: root["invalid"] as! [[String: Any]])
  }

  static func bytes(_ vector: [String: Any], _ key: String) -> [UInt8] {
    Hex.decode(vector[key] as! String)!
  }

  /// Places the vector's context and returns the DAG (pinned to pool[0]).
  static func dag(_ file: File, context: Int) throws -> DAG {
    var dag = try DAG(genesis: file.pool[0])
    for entry in file.pool[1..<max(context, 1)] { try dag.insert(entry) }
    return dag
  }

  @Test func fileIsWhatTheGeneratorWrites() throws {
    let committed = try String(contentsOf: Self.path, encoding: .utf8)
    #expect(committed == VectorSuite().json.rendered() + "\n", "run `swift run anker-vectors`")
  }

  @Test func thereAreEnoughVectors() throws {
    let file = try Self.load()
    #expect(file.valid.count >= 20)
    #expect(file.invalid.count >= 30)
    let stages = Set(file.invalid.map { $0["stage"] as! String })
    #expect(stages == ["decode", "verify", "dag", "membership"])
  }

  @Test func validVectorsPassEveryStage() throws {
    let file = try Self.load()
    for vector in file.valid {
      let name = vector["name"] as! String
      let entry = try Entry(decoding: Self.bytes(vector, "entry"))
      #expect(entry.id.hex == vector["id"] as! String, "\(name)")
      #expect(entry.encoded == Self.bytes(vector, "entry"), "\(name)")
      let header = vector["header"] as! [String: Any]
      #expect(entry.header.sequence == (header["sequence"] as! NSNumber).uint64Value, "\(name)")
      #expect(entry.header.lamport == (header["lamport"] as! NSNumber).uint64Value, "\(name)")
      #expect(entry.parents.map(\.hex) == header["parents"] as! [String], "\(name)")
      #expect(entry.prev?.hex == header["prev"] as? String, "\(name)")
      #expect(entry.header.author.description == header["author"] as! String, "\(name)")
      #expect(entry.header.bodyHash.hex == header["body_hash"] as! String, "\(name)")
      #expect(entry.header.bodyLength == (header["body_length"] as! NSNumber).intValue, "\(name)")
      #expect(ChainVerification.verify([entry]).isComplete, "\(name)")
      var dag = try Self.dag(file, context: (vector["context"] as! NSNumber).intValue)
      if entry.id != file.pool[0].id {
        guard case .placed(let ids)? = try? dag.insert(entry), ids.first == entry.id else {
          Issue.record("\(name): not placed")
          continue
        }
      }
      let membership = Membership(dag: dag, now: file.now)
      #expect(membership.status(of: entry.id) == .valid, "\(name)")
      if let sealed = vector["sealed"] as? [String: Any] {
        let epochKey = try AEAD.Key(
          SecureBytes(copying: Hex.decode(sealed["epoch_key"] as! String)!))
        let contentKey = try AEAD.Key(
          SecureBytes(copying: Hex.decode(sealed["content_key"] as! String)!))
        let position = entry.header.positionBytes
        let ref = try SealedBody.openHint(entry.body!, position: position, epochKey: epochKey)
        #expect(ref.hex == sealed["key_ref"] as! String, "\(name)")
        let plaintext = try SealedBody.open(
          entry.body!, position: position, keyRef: ref, contentKey: contentKey)
        #expect(Hex.encode(plaintext) == sealed["plaintext"] as! String, "\(name)")
      }
    }
  }

  @Test func invalidVectorsFailAtTheirStageWithTheirError() throws {
    let file = try Self.load()
    for vector in file.invalid {
      let name = vector["name"] as! String
      let stage = vector["stage"] as! String
      let expected = LogError.Code(vector["error"] as! String)
      let actual = actualFailure(vector, file)
      #expect(actual?.0 == stage, "\(name)")
      #expect(actual?.1 == expected, "\(name)")
    }
  }

  func actualFailure(_ vector: [String: Any], _ file: File) -> (String, LogError.Code)? {
    let entry: Entry
    do { entry = try Entry(decoding: Self.bytes(vector, "entry")) } catch {
      return ("decode", error.code)
    }
    if let claimed = vector["id"] as? String {
      do {
        _ = try Entry(decoding: Self.bytes(vector, "entry"), expectedID: Digest256(hex: claimed)!)
      } catch {
        return ("verify", error.code)
      }
    }
    if let rejected = ChainVerification.verify([entry]).rejected.first {
      return ("verify", rejected.error.code)
    }
    do {
      var dag = try Self.dag(file, context: (vector["context"] as! NSNumber).intValue)
      try dag.insert(entry)
      guard dag.contains(entry.id) else { return ("dag", LogError.Code("waiting")) }
      if case .invalid(let code)? = Membership(dag: dag, now: file.now).status(of: entry.id) {
        return ("membership", code)
      }
    } catch let error as LogError {
      return ("dag", error.code)
    } catch {
      return ("dag", LogError.Code("\(error)"))
    }
    return nil
  }

  /// Every byte of every valid vector, flipped, is rejected by decode + verify.
  @Test func everyFlippedByteIsRejected() throws {
    let file = try Self.load()
    var checked = 0
    for vector in file.valid {
      var bytes = Self.bytes(vector, "entry")
      for index in bytes.indices {
        bytes[index] ^= 0xff
        defer { bytes[index] ^= 0xff }
        checked += 1
        guard let entry = try? Entry(decoding: bytes) else { continue }
        let name = vector["name"] as! String
        #expect(!entry.verifySignature(), "\(name) byte \(index)")
      }
    }
    #expect(checked > Limits.maxBodyLength)
  }
}
