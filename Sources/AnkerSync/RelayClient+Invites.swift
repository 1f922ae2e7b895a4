import AnkerCrypto
import AnkerLog
import Foundation

/// The invite calls (DECISIONS 38): an admin registers, lists and cancels invites with
/// signed requests; a new laptop sends its enrolment request unsigned (it is no member yet;
/// the invite's token stands in).
extension RelayClient {
  /// Registers an invite's token hash until `expires` (ms).
  public func registerInvite(_ tokenHash: Digest256, expires: UInt64) async throws(SyncError) {
    var body = [UInt8]()
    withUnsafeBytes(of: expires.bigEndian) { body += $0 }
    _ = try await exchange("PUT", journalPath + "/invites/\(tokenHash.hex)", body: body)
  }

  /// Cancels an invite (also done once its laptop is admitted).
  public func cancelInvite(_ tokenHash: Digest256) async throws(SyncError) {
    _ = try await exchange("DELETE", journalPath + "/invites/\(tokenHash.hex)")
  }

  /// The enrolment requests that used this admin's invites.
  public func enrolments() async throws(SyncError) -> [PendingEnrolment] {
    let response = try await exchange("GET", journalPath + "/enrolments")
    guard let list = PendingEnrolment.decodeList(response.body) else {
      throw SyncError(.protocolViolation, "relay \(origin): an unreadable list of enrolments")
    }
    return list
  }

  /// Sends a new laptop's enrolment request; returns the journal the invite belongs to.
  public func enrol(_ request: EnrolmentRequest) async throws(SyncError) -> JournalID {
    let response = try await exchange(
      "POST", "/v1/enrolments", body: request.encoded, signed: false)
    struct Enrolled: Decodable { var journal: String }
    guard let body = try? JSONDecoder().decode(Enrolled.self, from: Data(response.body)),
      let journal = Digest256(hex: body.journal)
    else {
      throw SyncError(.protocolViolation, "relay \(origin): an unreadable answer to an enrolment")
    }
    return journal
  }

  /// One request with a few retries when there is no answer, a server error or a clock far
  /// from the relay's; a refusal stops with the relay's code and message.
  func exchange(
    _ method: String, _ path: String, body: [UInt8] = [], signed: Bool = true
  ) async throws(SyncError) -> HTTPExchange.Response {
    var skew: Int64 = 0
    var problem = "no answer"
    for attempt in 0..<4 {
      if attempt > 0 { try? await Task.sleep(for: .milliseconds(200 << attempt)) }
      switch await send(method, path, body: body, signed: signed, skew: skew) {
      case .noAnswer(let why):
        problem = why
      case .answer(let response):
        if (200..<300).contains(response.status) { return response }
        guard response.status < 500,
          let error = try? JSONDecoder().decode(RelayErrorBody.self, from: Data(response.body))
        else {
          problem = "the relay answered \(response.status)"
          continue
        }
        if error.error == "staleTime", let serverTime = error.serverTime {
          let offset = Int64(clamping: serverTime) &- Int64(clamping: clock())
          skew = min(max(offset, -86_400_000), 86_400_000)
          problem = "this laptop's clock is far from the relay's"
          continue
        }
        if error.error == "replayed" {
          problem = "a request was replayed"
          continue
        }
        throw SyncError(.refused, "relay \(origin): \(error.message)", relayCode: error.error)
      }
    }
    throw SyncError(.unreachable, "relay \(origin): \(problem)")
  }
}
