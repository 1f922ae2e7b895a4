import AnkerCrypto
import AnkerLog
import AnkerSync
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTLS
import Logging
import NIOCore
import ServiceLifecycle

/// The relay's HTTP face (`Schemas/relay-openapi.yaml`): routes over a `RelayService`.
/// Entry batches travel as `application/octet-stream`; control answers and errors as JSON.
public struct RelayServer: Sendable {
  public struct Configuration: Sendable {
    public var host: String = "127.0.0.1"
    public var port: Int = 8787
    public var dataDirectory: String
    /// The origin clients use to reach the relay; derived from host and port when nil.
    public var publicOrigin: String?
    public var tlsCertificatePath: String?
    public var tlsKeyPath: String?
    public var journalQuota: Int64?
    /// A file of journal ids that may be created (one per line); nil: any journal.
    public var allowedJournalsPath: String?
    public var maxRequestBytes: Int = Wire.defaultMaxRequestBytes
    public var logLevel: Logger.Level = .info
    /// The relay's wall clock (ms since 1970); time locks and request times are judged by it.
    public var clock: @Sendable () -> UInt64 = { UInt64(Date().timeIntervalSince1970 * 1000) }

    public init(dataDirectory: String) { self.dataDirectory = dataDirectory }

    var usesTLS: Bool { tlsCertificatePath != nil }

    static func isLoopback(_ host: String) -> Bool {
      host == "127.0.0.1" || host == "::1" || host == "localhost" || host.hasPrefix("127.")
    }

    /// TLS is required except on loopback (DESIGN rule 7).
    public func validate() throws(RelayError) {
      if (tlsCertificatePath == nil) != (tlsKeyPath == nil) {
        throw RelayError(.badRequest, "give both a TLS certificate and its key, or neither")
      }
      if !usesTLS && !Self.isLoopback(host) {
        throw RelayError(
          .badRequest,
          "without TLS the relay listens on loopback only: give --tls-certificate and --tls-key, "
            + "or put it behind a TLS proxy on this machine and keep --host 127.0.0.1")
      }
    }
  }

  let configuration: Configuration
  public let service: RelayService
  let logger: Logger

  public init(configuration: Configuration) throws(RelayError) {
    try configuration.validate()
    self.configuration = configuration
    var logger = Logger(label: "anker-relay")
    logger.logLevel = configuration.logLevel
    self.logger = logger
    let origin =
      configuration.publicOrigin
      ?? "\(configuration.usesTLS ? "https" : "http")://\(configuration.host):\(configuration.port)"
    service = try RelayService(
      directory: configuration.dataDirectory,
      configuration: .init(
        origin: origin, journalQuota: configuration.journalQuota,
        allowedJournalsFile: configuration.allowedJournalsPath, clock: configuration.clock))
  }

  /// Runs until SIGTERM or SIGINT; a graceful shutdown lets requests in flight finish.
  /// `onRunning` gets the bound port (useful with port 0).
  public func run(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
    try await service.warmUp()
    let app = try makeApplication(onRunning: onRunning)
    let group = ServiceGroup(
      configuration: .init(
        services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
    try await group.run()
  }

  func makeApplication(onRunning: @escaping @Sendable (Int) async -> Void) throws
    -> some ApplicationProtocol
  {
    let router = Router()
    addRoutes(to: router)
    let service = self.service
    let derivedOrigin = configuration.publicOrigin == nil
    let scheme = configuration.usesTLS ? "https" : "http"
    let host = configuration.host
    let logger = self.logger
    let running: @Sendable (any Channel) async -> Void = { channel in
      let port = channel.localAddress?.port ?? 0
      if derivedOrigin { await service.setOrigin("\(scheme)://\(host):\(port)") }
      logger.notice("anker-relay listening", metadata: ["port": "\(port)"])
      await onRunning(port)
    }
    let appConfiguration = ApplicationConfiguration(
      address: .hostname(configuration.host, port: configuration.port), serverName: nil)
    if let certificate = configuration.tlsCertificatePath, let key = configuration.tlsKeyPath {
      let tls = TLSConfiguration.makeServerConfiguration(
        certificateChain: try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) },
        privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
      return Application(
        router: router, server: try .tls(.http1(), tlsConfiguration: tls),
        configuration: appConfiguration, onServerRunning: running, logger: logger)
    }
    return Application(
      router: router, configuration: appConfiguration, onServerRunning: running, logger: logger)
  }

  // MARK: - Routes

  func addRoutes(to router: Router<BasicRequestContext>) {
    let service = self.service
    let maxBytes = configuration.maxRequestBytes
    let logger = self.logger

    router.get("/health") { _, _ in
      json(HealthBody(status: "ok"))
    }
    router.get("/metrics") { _, _ in
      let gauges = await service.gauges()
      service.metrics.journals.set(Int64(gauges.journals))
      service.metrics.entriesHeld.set(Int64(gauges.entries))
      service.metrics.bytesHeld.set(gauges.bytes)
      var buffer = ByteBuffer()
      buffer.writeBytes(service.metrics.registry.emitToBuffer())
      return Response(
        status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
        body: .init(byteBuffer: buffer))
    }
    router.get("/v1/relay") { _, _ in
      json(
        RelayInfo(
          key: service.publicKey.digest.hex, origin: await service.origin,
          time: service.clock(), version: "1"))
    }
    router.put("/v1/journals/:journal") { request, context in
      await handle(request, context, maxBytes, logger) { (signed) throws(RelayError) in
        let (created, checkpoint) = try await service.createJournal(signed)
        return json(
          CreatedBody(journal: signed.journal.hex, checkpoint: Hex.encode(checkpoint.encoded)),
          status: created ? .created : .ok)
      }
    }
    router.post("/v1/journals/:journal/entries") { request, context in
      let start = ContinuousClock.now
      let response = await handle(request, context, maxBytes, logger) {
        (signed) throws(RelayError) in
        // Decoding and chain verification run here, on any core, before the actor.
        let entries: [Entry]
        do { entries = try Wire.decodeBatch(signed.body) } catch {
          throw RelayError(.malformedEntry, (error as? WireError)?.message ?? "a malformed batch")
        }
        guard entries.count <= Wire.maxBatchEntries else {
          throw RelayError(.tooLarge, "at most \(Wire.maxBatchEntries) entries per push")
        }
        guard entries.allSatisfy({ $0.header.journal == signed.journal }) else {
          throw RelayError(.wrongJournal, "an entry belongs to another journal")
        }
        let caller = try await service.authenticate(signed)
        let report = ChainVerification.verify(entries)
        var result = try await service.push(report.authenticated, to: signed.journal)
        for (entry, _) in report.rejected {
          result.refused.append(.init(id: entry.id.hex, reason: "badSignature"))
        }
        try await service.settle(caller.ticket)
        return json(result)
      }
      service.metrics.pushed(ContinuousClock.now - start)
      return response
    }
    router.get("/v1/journals/:journal/entries") { request, context in
      let start = ContinuousClock.now
      let response = await handle(request, context, maxBytes, logger) {
        (signed) throws(RelayError) in
        let caller = try await service.authenticate(signed)
        let query = request.uri.queryParameters
        guard let after = UInt64(query.get("after") ?? "0") else {
          throw RelayError(.badRequest, "after must be a sequence number")
        }
        guard let limit = Int(query.get("limit") ?? "1000"), limit > 0 else {
          throw RelayError(.badRequest, "limit must be a positive number")
        }
        let page = try await service.page(signed.journal, after: after, limit: limit)
        try await service.settle(caller.ticket)
        return binary(
          page.body,
          headers: [
            PageHeaders.checkpoint: Hex.encode(page.checkpoint.encoded),
            PageHeaders.head: String(page.head),
          ])
      }
      service.metrics.pulledPage(ContinuousClock.now - start)
      return response
    }
    router.get("/v1/journals/:journal/entries/:id") { request, context in
      await handle(request, context, maxBytes, logger) { (signed) throws(RelayError) in
        let caller = try await service.authenticate(signed)
        guard let id = context.parameters.get("id").flatMap(Digest256.init(hex:)) else {
          throw RelayError(.badRequest, "an entry id is 64 hexadecimal digits")
        }
        let entry = try await service.entry(signed.journal, id: id)
        try await service.settle(caller.ticket)
        return binary(entry)
      }
    }
    router.post("/v1/journals/:journal/entries/fetch") { request, context in
      await handle(request, context, maxBytes, logger) { (signed) throws(RelayError) in
        let caller = try await service.authenticate(signed)
        let ids = try decodeIDs(signed.body)
        let entries = try await service.fetch(signed.journal, ids: ids)
        try await service.settle(caller.ticket)
        return binary(entries)
      }
    }
    router.post("/v1/journals/:journal/entries/absent") { request, context in
      await handle(request, context, maxBytes, logger) { (signed) throws(RelayError) in
        let caller = try await service.authenticate(signed)
        let ids = try decodeIDs(signed.body)
        let absent = try await service.absent(signed.journal, ids: ids)
        try await service.settle(caller.ticket)
        return binary(Wire.encodeIDs(absent))
      }
    }
    router.put("/v1/journals/:journal/attestations") { request, context in
      await handle(request, context, maxBytes, logger) { (signed) throws(RelayError) in
        let caller = try await service.authenticate(signed)
        let attestation: HeadAttestation
        do { attestation = try HeadAttestation(decoding: signed.body) } catch {
          throw RelayError(
            .badRequest, (error as? WireError)?.message ?? "a malformed attestation")
        }
        guard attestation.journal == signed.journal else {
          throw RelayError(.wrongJournal, "the attestation belongs to another journal")
        }
        try await service.putAttestation(attestation, from: caller.device)
        try await service.settle(caller.ticket)
        return Response(status: .noContent)
      }
    }
    router.put("/v1/journals/:journal/invites/:token") { request, context in
      await handle(request, context, maxBytes, logger) { (signed) throws(RelayError) in
        let caller = try await service.authenticate(signed)
        let tokenHash = try inviteParameter(context)
        guard signed.body.count == 8 else {
          throw RelayError(.badRequest, "the body is the invite's expiry: 8 bytes, big-endian ms")
        }
        let expires = signed.body.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        try await service.registerInvite(
          tokenHash, expires: expires, in: signed.journal, by: caller)
        try await service.settle(caller.ticket)
        return Response(status: .noContent)
      }
    }
    router.delete("/v1/journals/:journal/invites/:token") { request, context in
      await handle(request, context, maxBytes, logger) { (signed) throws(RelayError) in
        let caller = try await service.authenticate(signed)
        let tokenHash = try inviteParameter(context)
        try await service.cancelInvite(tokenHash, in: signed.journal, by: caller)
        try await service.settle(caller.ticket)
        return Response(status: .noContent)
      }
    }
    router.get("/v1/journals/:journal/enrolments") { request, context in
      await handle(request, context, maxBytes, logger) { (signed) throws(RelayError) in
        let caller = try await service.authenticate(signed)
        let list = try await service.enrolments(in: signed.journal, for: caller)
        try await service.settle(caller.ticket)
        return binary(list)
      }
    }
    // Unsigned: the new laptop is not a member yet; the invite's token stands in.
    router.post("/v1/enrolments") { request, _ in
      do {
        var request = request
        let buffer: ByteBuffer
        do { buffer = try await request.collectBody(upTo: EnrolmentRequest.encodedCount) } catch {
          throw RelayError(
            .tooLarge, "an enrolment request is \(EnrolmentRequest.encodedCount) bytes")
        }
        let journal = try await service.enrol(Array(buffer.readableBytesView))
        return json(EnrolledBody(journal: journal.hex), status: .accepted)
      } catch {
        return errorResponse(error, logger)
      }
    }
    router.get("/v1/journals/:journal/attestations") { request, context in
      await handle(request, context, maxBytes, logger) { (signed) throws(RelayError) in
        let caller = try await service.authenticate(signed)
        let attestations = try await service.attestations(signed.journal)
        try await service.settle(caller.ticket)
        return binary(attestations)
      }
    }
  }
}

// MARK: - Helpers

struct HealthBody: Codable { var status: String }
struct CreatedBody: Codable {
  var journal: String
  var checkpoint: String
}
struct EnrolledBody: Codable { var journal: String }

private func inviteParameter(_ context: BasicRequestContext) throws(RelayError) -> Digest256 {
  guard let hash = context.parameters.get("token").flatMap(Digest256.init(hex:)) else {
    throw RelayError(.badRequest, "an invite is named by 64 hexadecimal digits")
  }
  return hash
}

private func decodeIDs(_ body: [UInt8]) throws(RelayError) -> [EntryID] {
  guard body.count <= 32 * 4096 else {
    throw RelayError(.tooLarge, "at most 4096 ids per request")
  }
  do { return try Wire.decodeIDs(body) } catch {
    throw RelayError(.badRequest, "the body must be whole 32-byte ids")
  }
}

/// Collects the body, reads the journal from the path and runs `body`; every failure becomes
/// a JSON error with a stable code and no internal detail.
private func handle(
  _ request: Request, _ context: BasicRequestContext, _ maxBytes: Int, _ logger: Logger,
  _ body: (RelayService.SignedRequest) async throws(RelayError) -> Response
) async -> Response {
  do {
    guard let journalHex = context.parameters.get("journal"),
      let journal = Digest256(hex: journalHex)
    else {
      throw RelayError(.badRequest, "a journal id is 64 hexadecimal digits")
    }
    var request = request
    let buffer: ByteBuffer
    do { buffer = try await request.collectBody(upTo: maxBytes) } catch {
      throw RelayError(.tooLarge, "the request body is larger than the relay takes")
    }
    let bytes = Array(buffer.readableBytesView)
    let signed = RelayService.SignedRequest(
      method: request.method.rawValue, pathWithQuery: request.head.path ?? "/", journal: journal,
      body: bytes
    ) { name in
      HTTPField.Name(name).flatMap { request.headers[$0] }
    }
    return try await body(signed)
  } catch {
    return errorResponse(error, logger)
  }
}

/// A JSON error with a stable code and no internal detail.
private func errorResponse(_ error: any Error, _ logger: Logger) -> Response {
  guard let error = error as? RelayError else {
    logger.error("request failed", metadata: ["code": "internal"])
    return json(
      RelayErrorBody(error: "internal", message: "the relay could not complete the request"),
      status: .internalServerError)
  }
  if error.code.status >= 500 {
    logger.error("request failed", metadata: ["code": "\(error.code.raw)"])
  } else {
    logger.debug("request refused", metadata: ["code": "\(error.code.raw)"])
  }
  return json(
    RelayErrorBody(error: error.code.raw, message: error.message, serverTime: error.serverTime),
    status: HTTPResponse.Status(code: error.code.status))
}

private func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
  let encoder = JSONEncoder()
  encoder.outputFormatting = [.sortedKeys]
  let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
  var buffer = ByteBuffer()
  buffer.writeBytes(data)
  return Response(
    status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: buffer))
}

private func binary(_ bytes: [UInt8], headers extra: [String: String] = [:]) -> Response {
  var headers: HTTPFields = [.contentType: "application/octet-stream"]
  for (name, value) in extra {
    if let field = HTTPField.Name(name) { headers[field] = value }
  }
  var buffer = ByteBuffer()
  buffer.writeBytes(bytes)
  return Response(status: .ok, headers: headers, body: .init(byteBuffer: buffer))
}
