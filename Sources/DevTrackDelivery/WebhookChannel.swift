import DevTrackCore
import DevTrackOutbound
import DevTrackStore
import Foundation
import Logging

/// Users' outbound webhook endpoints. Each request carries the Standard Webhooks headers (`webhook-id`
/// is the delivery's id, the same on every retry; signed with the current secret and, during a rotation,
/// the previous one) and the original DevTrack's `X-Webhook-*` headers, so receivers written for either
/// verify it. Answers are read by `WebhookAnswer`.
public struct WebhookChannel: DeliveryChannel {
    public let name = "webhook"
    let outbox: OutboxRepository
    let webhookEndpoints: WebhookEndpointRepository
    let secretBox: SecretBox
    let runner: AttemptRunner

    public init(database: Database, secretBox: SecretBox, http: OutboundHTTPClient, logger: Logger, schedule: RetrySchedule = RetrySchedule()) {
        self.outbox = OutboxRepository(database)
        self.webhookEndpoints = WebhookEndpointRepository(database)
        self.secretBox = secretBox
        self.runner = AttemptRunner(database: database, http: http, schedule: schedule, logger: logger)
    }

    public func deliver(_ delivery: ClaimedDelivery, hold: @escaping @Sendable (DeliveryHold) -> Void) async {
        guard case .webhook(let url, let sealedSecrets) = delivery.target, let endpointID = UUID(uuidString: delivery.destination) else {
            await runner.giveUp(delivery, "the endpoint was deleted or disabled")
            return
        }
        let secrets = sealedSecrets.compactMap { try? secretBox.open($0) }
        guard let current = secrets.first else {
            await runner.giveUp(delivery, "the endpoint's secret cannot be opened with the configured encryption key")
            return
        }
        let body = Array(delivery.payload.utf8)
        let id = delivery.id.uuidString.lowercased()
        let headers =
            [("Content-Type", "application/json")]
            + StandardWebhooks.headers(
                id: id, timestamp: Int(Date().timeIntervalSince1970), body: body, keys: secrets.compactMap(StandardWebhooks.key(of:)))
            + LegacyWebhookHeaders.headers(event: delivery.eventType, deliveryID: id, body: body, secret: current)
        await runner.attempt(delivery, OutboundRequest(url: url, headers: headers, body: body), hold: hold) { response in
            switch WebhookAnswer.classify(status: response.status, headers: response.headers) {
            case .delivered:
                return (.delivered, nil, nil)
            case .rateLimited(let asked):
                let seconds = PeerSeconds.clamped(asked) ?? 60
                let until = Date().addingTimeInterval(seconds)
                try await outbox.postponeDeliveries(channel: name, destination: delivery.destination, until: until)
                return (
                    .retry(at: until, counts: false), "rate limited for \(seconds) s", .destination(.milliseconds(PeerSeconds.milliseconds(seconds)))
                )
            case .gone:
                try await webhookEndpoints.disableWebhookEndpoint(id: endpointID, reason: "the endpoint answered 410 Gone")
                return (.failed, "410 Gone: endpoint disabled", nil)
            case .transient(let reason):
                let (outcome, error) = runner.retryOrGiveUp(delivery, reason)
                return (outcome, error, .failing)
            case .rejected(let reason):
                return (.failed, reason, nil)
            }
        }
    }

    public var attemptTimeout: Duration { runner.http.timeout }
    public var schedule: RetrySchedule { runner.schedule }

    public func close() {
        runner.http.closeIdleConnections()
    }
}
