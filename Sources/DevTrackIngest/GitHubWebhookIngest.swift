import DevTrackCore
import DevTrackHTTP
import DevTrackStore
import Foundation
import HTTPTypes
import Hummingbird
import Kafka
import Logging
import Metrics
import NIOCore

public struct IngestConfiguration: Sendable {
    /// The operator's GitHub App webhook secret for `POST /webhooks/github`; nil disables that endpoint.
    public var hubWebhookSecret: String?
    /// GitHub caps deliveries at 25 MB.
    public var maxBodyBytes: Int
    public var githubTopic: String
    /// How long a source's secrets are cached before they are read again (rotation takes effect within it).
    public var sourceCacheTTL: Duration
    /// Bodies larger than this are kept in PostgreSQL and referenced from the Kafka message: a broker takes
    /// at most 1 MB per message by default.
    public var maxInlineBytes: Int

    public init(
        hubWebhookSecret: String?, maxBodyBytes: Int, githubTopic: String = Topics.githubEvents, sourceCacheTTL: Duration,
        maxInlineBytes: Int = 900_000
    ) {
        self.hubWebhookSecret = hubWebhookSecret
        self.maxBodyBytes = maxBodyBytes
        self.githubTopic = githubTopic
        self.sourceCacheTTL = sourceCacheTTL
        self.maxInlineBytes = maxInlineBytes
    }
}

/// Accepts GitHub webhook deliveries: verifies the signature over the raw body, and answers 202 only once
/// Kafka has acknowledged the body (so a 2xx is never lost); 503 when Kafka cannot take it.
public struct GitHubWebhookIngest: Sendable {
    let producer: RawEventProducer
    let database: Database
    let sources: SourceSecretCache
    let configuration: IngestConfiguration

    public init(
        producer: KafkaProducer, database: Database, secretBox: SecretBox, configuration: IngestConfiguration, backlog: KafkaBacklog? = nil
    ) {
        self.producer = RawEventProducer(producer: producer, backlog: backlog)
        self.database = database
        self.sources = SourceSecretCache(database: database, secretBox: secretBox, ttl: configuration.sourceCacheTTL)
        self.configuration = configuration
    }

    /// The handler that answers `POST /webhooks/github` before the router (`GitHubDeliveryFastPath`), one per connection;
    /// nil when the hub-wide endpoint is not configured.
    func fastPath(serverName: String, logger: Logger, metrics: any MetricsFactory) -> (@Sendable () -> any ChannelHandler)? {
        guard let secret = configuration.hubWebhookSecret else { return nil }
        let route = GitHubDeliveryFastPath.Route(
            secrets: [Array(secret.utf8)], checks: GitHubDeliveryChecks(maxBodyBytes: configuration.maxBodyBytes),
            maxInlineBytes: configuration.maxInlineBytes, topic: configuration.githubTopic, producer: producer.producer,
            backlog: producer.backlog, metrics: FastPathMetrics(factory: metrics), serverName: serverName, logger: logger)
        return { GitHubDeliveryFastPath(route: route) }
    }

    public func addRoutes(to router: Router<some RequestContext>) {
        router.post("/webhooks/github") { request, context in
            guard let secret = configuration.hubWebhookSecret else {
                throw HubHTTPError.notFound("the hub-wide GitHub App endpoint is not configured on this hub")
            }
            return try await accept(request, context: context, secrets: [Array(secret.utf8)], sourceID: nil)
        }
        router.post("/webhooks/github/{sourceID}") { request, context in
            let text = context.parameters.get("sourceID") ?? ""
            guard let sourceID = UUID(uuidString: text), let source = try await sources.credentials(for: sourceID),
                source.kind == "github"
            else {
                throw HubHTTPError.notFound("no GitHub webhook source \(text)")
            }
            guard source.enabled else {
                throw HubHTTPError(.gone, code: "source_disabled", "webhook source \(sourceID) is disabled")
            }
            return try await accept(request, context: context, secrets: source.secrets, sourceID: sourceID)
        }
    }

    func accept(_ request: Request, context: some RequestContext, secrets: [[UInt8]], sourceID: UUID?) async throws -> Response {
        let checked = try GitHubDeliveryChecks(maxBodyBytes: configuration.maxBodyBytes).headers(request.headers)
        var body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: configuration.maxBodyBytes)
        } catch {
            throw GitHubDeliveryChecks(maxBodyBytes: configuration.maxBodyBytes).tooLarge
        }
        let bytes = body.readBytes(length: body.readableBytes) ?? []
        let delivery = try checked.body(bytes, secrets: secrets, sourceID: sourceID, receivedAt: Date())
        guard delivery.event != "ping" else {
            return try JSONResponse.make(["status": "pong", "delivery_id": delivery.deliveryID])
        }
        let (value, refHeaders) = try await LargePayloads(
            largePayloads: LargePayloadRepository(database), maxInlineBytes: configuration.maxInlineBytes
        )
        .message(for: bytes, topic: configuration.githubTopic, deliveryID: delivery.deliveryID, logger: context.logger)
        let message = KafkaOutgoingMessage(
            topic: configuration.githubTopic, key: delivery.key, value: value, headers: delivery.headers + refHeaders)
        try await producer.send(message, what: "delivery \(delivery.deliveryID)", logger: context.logger)
        return JSONResponse.accepted(deliveryID: delivery.deliveryID)
    }
}

/// The checks of a GitHub delivery, without I/O, shared by the route above and `GitHubDeliveryFastPath`: its headers first
/// (before any of the body is read), then its signature, content type and payload.
struct GitHubDeliveryChecks: Sendable {
    let maxBodyBytes: Int

    /// The headers that passed, for the checks of the body.
    struct CheckedHeaders: Sendable {
        let event: String
        let deliveryID: String
        let contentType: String
        let headers: HTTPFields
    }

    /// A delivery that passed every check: its Kafka key and headers (the body goes as the value, or by reference).
    struct Delivery: Sendable {
        let event: String
        let deliveryID: String
        let key: [UInt8]
        let headers: [KafkaHeader]
    }

    func headers(_ headers: HTTPFields) throws(HubHTTPError) -> CheckedHeaders {
        if let length = headers.value(of: .contentLength).flatMap(Int.init), length > maxBodyBytes {
            throw tooLarge
        }
        guard let event = headers.value(of: .gitHubEvent), !event.isEmpty else {
            throw HubHTTPError.badRequest("missing X-GitHub-Event header", code: "missing_header")
        }
        guard let deliveryID = headers.value(of: .gitHubDelivery), !deliveryID.isEmpty else {
            throw HubHTTPError.badRequest("missing X-GitHub-Delivery header", code: "missing_header")
        }
        if let problem = DeliveryIDs.problem(deliveryID) {
            throw HubHTTPError.badRequest("X-GitHub-Delivery \(problem)", code: "invalid_header")
        }
        if let problem = InputText.problem(event, maxBytes: 100) {
            throw HubHTTPError.badRequest("X-GitHub-Event \(problem)", code: "invalid_header")
        }
        return CheckedHeaders(
            event: event, deliveryID: deliveryID, contentType: headers.value(of: .contentType) ?? "application/json", headers: headers)
    }

    var tooLarge: HubHTTPError {
        HubHTTPError(.contentTooLarge, code: "payload_too_large", "body is larger than \(maxBodyBytes) bytes")
    }
}

extension GitHubDeliveryChecks.CheckedHeaders {
    func body(_ bytes: [UInt8], secrets: [[UInt8]], sourceID: UUID?, receivedAt: Date) throws(HubHTTPError) -> GitHubDeliveryChecks.Delivery {
        switch GitHubSignature.verify(body: bytes, header: headers.value(of: .hubSignature256), secrets: secrets) {
        case .valid: break
        case .missing: throw HubHTTPError.unauthorized("missing X-Hub-Signature-256 header", code: "signature_missing")
        case .malformed(let reason): throw HubHTTPError.unauthorized(reason, code: "signature_malformed")
        case .mismatch: throw HubHTTPError.unauthorized("X-Hub-Signature-256 does not match the body", code: "signature_mismatch")
        }
        let payload: [UInt8]
        if contentType.hasPrefix("application/x-www-form-urlencoded") {
            guard let field = FormEncoding.field("payload", in: bytes) else {
                throw HubHTTPError.badRequest("form-encoded body has no payload field", code: "invalid_body")
            }
            payload = field
        } else if contentType.hasPrefix("application/json") {
            payload = bytes
        } else {
            throw HubHTTPError(
                .unsupportedMediaType, code: "unsupported_media_type",
                "content type must be application/json or application/x-www-form-urlencoded")
        }
        let senderID: Int64?
        do {
            senderID = try JSONPeek.integer(at: ["sender", "id"], in: payload)
        } catch {
            throw HubHTTPError.badRequest("body is not a JSON webhook payload: \(error)", code: "invalid_body")
        }
        let key = senderID.map { String($0) } ?? sourceID?.uuidString.lowercased() ?? deliveryID
        return GitHubDeliveryChecks.Delivery(
            event: event, deliveryID: deliveryID, key: Array(key.utf8),
            headers: [
                KafkaHeader(RawEventHeaders.event, event),
                KafkaHeader(RawEventHeaders.deliveryID, deliveryID),
                KafkaHeader(RawEventHeaders.sourceID, sourceID?.uuidString.lowercased() ?? ""),
                KafkaHeader(RawEventHeaders.receivedAt, Timestamps.format(receivedAt)),
                KafkaHeader(RawEventHeaders.contentType, contentType),
            ])
    }
}

extension HTTPField.Name {
    static let gitHubEvent = Self("X-GitHub-Event")!
    static let gitHubDelivery = Self("X-GitHub-Delivery")!
    static let hubSignature256 = Self("X-Hub-Signature-256")!
}
