import AnkerCrypto
import AnkerLog
import Foundation

#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif

/// One HTTP exchange, as the transport sees it.
public struct HTTPExchange: Sendable {
  public struct Request: Sendable {
    public var method: String
    public var url: String
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(method: String, url: String, headers: [(String, String)], body: [UInt8]) {
      self.method = method
      self.url = url
      self.headers = headers
      self.body = body
    }
  }

  public struct Response: Sendable {
    public var status: Int
    /// Header names in lower case.
    public var headers: [String: String]
    public var body: [UInt8]

    public init(status: Int, headers: [String: String], body: [UInt8]) {
      self.status = status
      self.headers = headers
      self.body = body
    }
  }
}

/// Carries requests to the relay. `URLSessionTransport` is the real one; tests may put a
/// proxy in between, never a fake relay.
public protocol RelayTransport: Sendable {
  func send(_ request: HTTPExchange.Request) async throws -> HTTPExchange.Response
}

/// HTTP through URLSession (FoundationNetworking on Linux), so the client stays portable to
/// Apple platforms. No cache, no cookies, no proxy from the environment, a bounded timeout.
public final class URLSessionTransport: RelayTransport {
  private let session: URLSession

  public init(timeoutSeconds: Double = 30) {
    let configuration = URLSessionConfiguration.ephemeral
    configuration.timeoutIntervalForRequest = timeoutSeconds
    configuration.timeoutIntervalForResource = timeoutSeconds * 2
    configuration.urlCache = nil
    configuration.httpCookieStorage = nil
    configuration.connectionProxyDictionary = [:]
    configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
    session = URLSession(configuration: configuration)
  }

  deinit { session.finishTasksAndInvalidate() }

  public func send(_ request: HTTPExchange.Request) async throws -> HTTPExchange.Response {
    guard let url = URL(string: request.url) else { throw URLError(.badURL) }
    var urlRequest = URLRequest(url: url)
    urlRequest.httpMethod = request.method
    for (name, value) in request.headers { urlRequest.setValue(value, forHTTPHeaderField: name) }
    if !request.body.isEmpty || request.method == "POST" || request.method == "PUT" {
      urlRequest.httpBody = Data(request.body)
      urlRequest.setValue("application/octet-stream", forHTTPHeaderField: "Content-Type")
    }
    // Never cancel the Swift task awaiting this: FoundationNetworking cancels the request
    // inside the task's cancellation handler, which can deadlock against the thread that is
    // finishing it (swift-corelibs-foundation issue 5412; DECISIONS 47).
    let (data, response) = try await session.data(for: urlRequest)
    guard let http = response as? HTTPURLResponse else { throw URLError(.badServerResponse) }
    var headers = [String: String]()
    for (name, value) in http.allHeaderFields {
      if let name = name as? String, let value = value as? String {
        headers[name.lowercased()] = value
      }
    }
    return .init(status: http.statusCode, headers: headers, body: [UInt8](data))
  }
}

/// The relay's address and the signed calls to it for one journal and device.
public struct RelayClient: Sendable {
  /// How the relay is named in reports: its origin.
  public let origin: String
  let journal: JournalID
  /// The key that signs requests, asked for at each request and held only while signing it:
  /// nil once the journal is locked, so a sync running then stops instead of keeping the key.
  let signer: @Sendable () -> Signing.PrivateKey?
  let transport: any RelayTransport
  let clock: @Sendable () -> UInt64

  /// `url` is the relay's base address, `scheme://host[:port]`. The client keeps `device`
  /// for as long as it lives.
  public init(
    url: String, journal: JournalID, device: Signing.PrivateKey, transport: any RelayTransport,
    clock: @escaping @Sendable () -> UInt64
  ) throws(SyncError) {
    try self.init(
      url: url, journal: journal, signer: { device }, transport: transport, clock: clock)
  }

  /// As `init(url:journal:device:transport:clock:)`, with the signing key asked of `signer`
  /// for each request (nil: the key is gone, the request is not sent). The client keeps no
  /// key of its own.
  public init(
    url: String, journal: JournalID, signer: @escaping @Sendable () -> Signing.PrivateKey?,
    transport: any RelayTransport, clock: @escaping @Sendable () -> UInt64
  ) throws(SyncError) {
    guard let components = URLComponents(string: url), let scheme = components.scheme,
      scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty,
      components.path.isEmpty || components.path == "/", components.query == nil
    else {
      throw SyncError(.unreachable, "a relay address is http(s)://host[:port], nothing after")
    }
    let port = components.port.map { ":\($0)" } ?? ""
    origin = "\(scheme)://\(host)\(port)"
    self.journal = journal
    self.signer = signer
    self.transport = transport
    self.clock = clock
  }

  /// An answer, or why there is none.
  public enum Outcome: Sendable {
    case answer(HTTPExchange.Response)
    /// No answer: the connection failed, timed out or broke off.
    case noAnswer(String)
  }

  /// Sends one request, signed unless `signed` is false. `skew` corrects this device's clock
  /// toward the relay's after a `staleTime` refusal.
  public func send(
    _ method: String, _ pathWithQuery: String, body: [UInt8] = [], signed: Bool = true,
    skew: Int64 = 0
  ) async -> Outcome {
    var headers = [(String, String)]()
    if signed {
      guard let signed = signatureHeaders(method, pathWithQuery, body: body, skew: skew) else {
        return .noAnswer("the signing key is gone (locked)")
      }
      headers = signed
    }
    do {
      let response = try await transport.send(
        .init(method: method, url: origin + pathWithQuery, headers: headers, body: body))
      return .answer(response)
    } catch {
      return .noAnswer("the relay did not answer (\(type(of: error)))")
    }
  }

  /// The signature headers, or nil without a key. The key is held only in here, never
  /// across the wait for an answer.
  private func signatureHeaders(
    _ method: String, _ pathWithQuery: String, body: [UInt8], skew: Int64
  ) -> [(String, String)]? {
    guard let device = signer() else { return nil }
    var random = SystemRandom()
    let now = Int64(clamping: clock())
    let time = UInt64(max(0, now.addingReportingOverflow(skew).partialValue))
    return RequestSignature.headers(
      signedBy: device, origin: origin, journal: journal, method: method,
      pathWithQuery: pathWithQuery, body: body, time: time,
      nonce: random.bytes(RequestSignature.nonceCount))
  }

  public var journalPath: String { "/v1/journals/\(journal.hex)" }

  /// False once the signing key is gone (the journal was locked): no signed request can go.
  public var canSign: Bool { signer() != nil }
}
