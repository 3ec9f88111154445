import DevTrackCore
import DevTrackHTTP
import DevTrackStore
import Foundation
import HTTPTypes
import Hummingbird
import Kafka

/// Accepts deliveries to users' custom webhook sources (`POST /webhooks/custom/{sourceID}`): any system
/// — GitLab, a CI server, a deploy script — posting events in the hub's native format or in their own
/// shape read by the source's mapping. Verifies the Standard Webhooks signature (or, for senders that only
/// have it, `X-Hub-Signature-256`, or GitLab's `X-Gitlab-Token`), checks native events (a mapped source's
/// payloads are read by the worker), and answers 202 only once Kafka has the body on `devtrack.custom.events`. A delivery sent again
/// with the same `webhook-id` is accepted again and adds no fact (facts are named by it). Refusals of a
/// known source are written to its delivery log (what the sender got wrong, never the secret).
public struct CustomWebhookIngest: Sendable {
    let producer: RawEventProducer
    let database: Database
    /// For the delivery log of refused deliveries.
    let deliveryLog: SourceRepository
    let sources: SourceSecretCache
    let maxBodyBytes: Int
    let maxInlineBytes: Int
    let clock: @Sendable () -> Date

    /// How far `webhook-timestamp` may be from the hub's clock (the specification's five minutes).
    public static let timestampTolerance = 300
    /// Custom deliveries are events, not repositories' histories: 1 MB is plenty.
    public static let defaultMaxBodyBytes = 1 << 20

    public init(
        producer: KafkaProducer, database: Database, secretBox: SecretBox, configuration: IngestConfiguration,
        maxBodyBytes: Int = CustomWebhookIngest.defaultMaxBodyBytes, backlog: KafkaBacklog? = nil,
        clock: @escaping @Sendable () -> Date = Date.init
    ) {
        self.producer = RawEventProducer(producer: producer, backlog: backlog)
        self.database = database
        self.deliveryLog = SourceRepository(database)
        self.sources = SourceSecretCache(database: database, secretBox: secretBox, ttl: configuration.sourceCacheTTL)
        self.maxBodyBytes = maxBodyBytes
        self.maxInlineBytes = configuration.maxInlineBytes
        self.clock = clock
    }

    public func addRoutes(to router: Router<some RequestContext>) {
        router.post("/webhooks/custom/{sourceID}") { request, context in
            try await accept(request, context: context)
        }
    }

    func accept(_ request: Request, context: some RequestContext) async throws -> Response {
        let text = context.parameters.get("sourceID") ?? ""
        guard let sourceID = UUID(uuidString: text), let source = try await sources.credentials(for: sourceID), source.kind == "custom" else {
            throw HubHTTPError.notFound("no custom webhook source \(text)")
        }
        let receivedAt = clock()
        // Logged on refusal: a Content-Length is the sender's claim, kept within the log's int4 column.
        var bytes = request.headers.value(of: .contentLength).flatMap(Int.init).map { min(max($0, 0), Int(Int32.max)) }
        do {
            guard source.enabled else {
                throw HubHTTPError(.gone, code: "source_disabled", "webhook source \(sourceID) is disabled")
            }
            if let length = bytes, length > maxBodyBytes { throw tooLarge }
            var buffer: ByteBuffer
            do {
                buffer = try await request.body.collect(upTo: maxBodyBytes)
            } catch {
                throw tooLarge
            }
            let body = buffer.readBytes(length: buffer.readableBytes) ?? []
            bytes = body.count
            let (deliveryID, scheme) = try verify(request.headers, body: body, secrets: source.secrets)
            // A mapped source's payloads are read by the worker (what the mapping cannot read goes to the DLQ and
            // the source's log); native ones are checked here, so the sender learns at once what is wrong.
            if !source.mapped {
                do {
                    _ = try CustomEvent.parse(body)
                } catch {
                    throw HubHTTPError.badRequest(error.description, code: "invalid_body")
                }
            }
            let (value, refHeaders) = try await LargePayloads(largePayloads: LargePayloadRepository(database), maxInlineBytes: maxInlineBytes)
                .message(for: body, topic: Topics.customEvents, deliveryID: deliveryID, logger: context.logger)
            let message = KafkaOutgoingMessage(
                topic: Topics.customEvents, key: Array(sourceID.uuidString.lowercased().utf8), value: value,
                headers: [
                    KafkaHeader(RawEventHeaders.webhookID, deliveryID),
                    KafkaHeader(RawEventHeaders.sourceID, sourceID.uuidString.lowercased()),
                    KafkaHeader(RawEventHeaders.receivedAt, Timestamps.format(receivedAt)),
                    KafkaHeader(RawEventHeaders.contentType, request.headers.value(of: .contentType) ?? "application/json"),
                    KafkaHeader(RawEventHeaders.signature, scheme),
                ] + refHeaders)
            try await producer.send(message, what: "custom delivery \(deliveryID)", logger: context.logger)
            return JSONResponse.accepted(deliveryID: deliveryID)
        } catch let refusal as HubHTTPError {
            // Logged for the source's owner; a failure to log does not change the answer.
            // Each refusal is its own row (a refused replay must not overwrite the delivery it replays).
            let claimed =
                request.headers.value(of: .webhookID).map { " (webhook-id \(InputText.sanitized($0, maxBytes: DeliveryIDs.maxBytes)))" } ?? ""
            let outcome = DeliveryOutcome(
                source: sourceID.uuidString.lowercased(), deliveryID: "refused:\(UUID().uuidString.lowercased())",
                event: "custom", status: .refused, facts: 0, error: refusal.message + claimed, receivedAt: receivedAt, bytes: bytes,
                signature: refusal.code)
            do {
                // Bounded: the sender gets its answer in time even when PostgreSQL is away.
                let deliveryLog = self.deliveryLog
                try await Deadline.run(.seconds(1)) {
                    try await deliveryLog.recordInboundDeliveries([outcome])
                }
            } catch {
                context.logger.warning("cannot log a refused custom delivery: \(error)")
            }
            throw refusal
        }
    }

    /// The delivery's id once its signature checks out: Standard Webhooks when `webhook-signature` is
    /// sent (the id is the signed `webhook-id`), else `X-Hub-Signature-256` (HMAC-SHA256 of the body under the
    /// secret's text; the id is the body's SHA-256, which the signature covers, so a re-sent body adds nothing).
    private func verify(_ headers: HTTPFields, body: [UInt8], secrets: [[UInt8]]) throws -> (id: String, scheme: String) {
        if let signatures = headers.value(of: .webhookSignature) {
            let keys = secrets.compactMap { StandardWebhooks.key(of: String(decoding: $0, as: UTF8.self)) }
            let id = headers.value(of: .webhookID)
            switch StandardWebhooks.verify(
                id: id, timestamp: headers.value(of: .webhookTimestamp), signatures: signatures, body: body, keys: keys, now: clock(),
                tolerance: Self.timestampTolerance)
            {
            case .valid:
                return (id ?? "", "standard-webhooks")
            case .missing(let reason):
                throw HubHTTPError.unauthorized(reason, code: "signature_missing")
            case .malformed(let reason):
                throw HubHTTPError.unauthorized(reason, code: "signature_malformed")
            case .stale(let off):
                throw HubHTTPError.unauthorized(
                    "webhook-timestamp is \(off.magnitude) s \(off > 0 ? "old" : "in the future"); more than \(Self.timestampTolerance) s "
                        + "from the hub's clock is refused (a replay, or a clock that is off)",
                    code: "timestamp_stale")
            case .mismatch:
                throw HubHTTPError.unauthorized("webhook-signature does not match the message under the source's secret", code: "signature_mismatch")
            }
        }
        if let token = headers.value(of: .gitLabToken) {
            // GitLab does not sign: it sends the secret itself. Compared in constant time with each secret.
            guard secrets.contains(where: { ConstantTime.equal($0, Array(token.utf8)) }) else {
                throw HubHTTPError.unauthorized("X-Gitlab-Token is not the source's secret", code: "signature_mismatch")
            }
            let id = headers.value(of: .gitLabEventUUID) ?? headers.value(of: .webhookID) ?? "sha256:" + Hex.sha256(body)
            if let problem = DeliveryIDs.problem(id) {
                throw HubHTTPError.badRequest("the delivery id (X-Gitlab-Event-UUID or webhook-id) \(problem)", code: "invalid_header")
            }
            return (id, "gitlab-token")
        }
        switch GitHubSignature.verify(body: body, header: headers.value(of: .hubSignature256), secrets: secrets) {
        case .valid:
            // The signature covers the body only: an id taken from an unsigned header would let the same signed
            // body be counted again under another id. So the delivery is named by what is signed.
            return ("sha256:" + Hex.sha256(body), "hmac-sha256")
        case .missing:
            throw HubHTTPError.unauthorized(
                "unsigned: send webhook-id, webhook-timestamp and webhook-signature (Standard Webhooks), X-Hub-Signature-256, or X-Gitlab-Token",
                code: "signature_missing")
        case .malformed(let reason): throw HubHTTPError.unauthorized(reason, code: "signature_malformed")
        case .mismatch: throw HubHTTPError.unauthorized("X-Hub-Signature-256 does not match the body", code: "signature_mismatch")
        }
    }

    private var tooLarge: HubHTTPError {
        HubHTTPError(.contentTooLarge, code: "payload_too_large", "body is larger than \(maxBodyBytes) bytes")
    }
}

extension HTTPField.Name {
    static let webhookID = Self("webhook-id")!
    static let webhookTimestamp = Self("webhook-timestamp")!
    static let webhookSignature = Self("webhook-signature")!
    static let gitLabToken = Self("X-Gitlab-Token")!
    static let gitLabEventUUID = Self("X-Gitlab-Event-UUID")!
}
