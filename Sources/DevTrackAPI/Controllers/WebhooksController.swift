import DevTrackCore
import DevTrackHTTP
import DevTrackOutbound
import DevTrackStore
import Foundation
import Hummingbird

/// Outbound webhooks (`/api/v1/webhooks`): a user's endpoints, their signing secrets (shown once, rotated
/// with an overlap), a test delivery, the delivery log and re-sending a delivery as it was.
struct WebhooksController: Sendable {
    let webhookEndpoints: WebhookEndpointRepository
    let secretBox: SecretBox
    let maxWebhooksPerUser: Int
    /// How long a rotated secret still verifies (both are sent meanwhile).
    let secretRotationGrace: Duration
    /// Hosts a webhook may point at although they resolve to a private address (tests, a local receiver).
    let outboundAllowHosts: Set<String>

    func addRoutes(to v1: RouterGroup<APIRequestContext>) {
        v1.post("/webhooks") { request, context in
            let user = try context.user
            let body = try await request.decode(as: NewWebhook.self, context: context)
            let (name, url, events) = (try FieldRules.requiredName(body.name), try validURL(body.url), try validEvents(body.events))
            let secret = StandardWebhooks.newSecret()
            guard
                let endpoint = try await webhookEndpoints.createWebhookEndpoint(
                    userID: user.id, name: name, url: url, events: events, sealedSecret: secretBox.seal(secret),
                    limit: maxWebhooksPerUser)
            else {
                throw HubHTTPError(
                    .conflict, code: "webhook_limit_reached",
                    "a user may have at most \(maxWebhooksPerUser) webhook endpoints; delete one first")
            }
            return try JSONResponse.make(WebhookBody(endpoint, secret: secret), status: .created)
        }
        v1.get("/webhooks") { request, context in
            let user = try context.user
            return try JSONResponse.make([
                "webhooks": try await webhookEndpoints.webhookEndpoints(userID: user.id).map { WebhookBody($0, secret: nil) }
            ])
        }
        v1.get("/webhooks/{id}") { request, context in
            let user = try context.user
            return try JSONResponse.make(WebhookBody(try await endpoint(user, context), secret: nil))
        }
        v1.patch("/webhooks/{id}") { request, context in
            let user = try context.user
            let existing = try await endpoint(user, context)
            let body = try await request.decode(as: WebhookPatch.self, context: context)
            let change = WebhookEndpointChange(
                name: try body.name.map(FieldRules.requiredName), url: try body.url.map(validURL), events: try body.events.map(validEvents),
                enabled: body.enabled)
            guard let updated = try await webhookEndpoints.updateWebhookEndpoint(userID: user.id, id: existing.id, change) else {
                throw HubHTTPError.notFound("no webhook \(existing.id.uuidString.lowercased())")
            }
            return try JSONResponse.make(WebhookBody(updated, secret: nil))
        }
        v1.delete("/webhooks/{id}") { request, context in
            let user = try context.user
            let existing = try await endpoint(user, context)
            _ = try await webhookEndpoints.deleteWebhookEndpoint(userID: user.id, id: existing.id)
            return Response(status: .noContent)
        }
        v1.post("/webhooks/{id}/rotate-secret") { request, context in
            let user = try context.user
            let existing = try await endpoint(user, context)
            let secret = StandardWebhooks.newSecret()
            guard
                let rotated = try await webhookEndpoints.rotateWebhookSecret(
                    userID: user.id, id: existing.id, sealedSecret: secretBox.seal(secret), grace: secretRotationGrace)
            else { throw HubHTTPError.notFound("no webhook \(existing.id.uuidString.lowercased())") }
            return try JSONResponse.make(WebhookBody(rotated, secret: secret))
        }
        v1.post("/webhooks/{id}/test") { request, context in
            let user = try context.user
            let existing = try await endpoint(user, context)
            let envelope = WebhookEnvelope(
                event: "test", timestamp: Timestamps.format(Date()),
                data: ["message": "A test delivery from DevTrack", "endpoint_id": existing.id.uuidString.lowercased()])
            let id = try await webhookEndpoints.queueTestWebhookDelivery(userID: user.id, endpointID: existing.id, payload: envelope.json())
            return try JSONResponse.make(["delivery_id": id?.uuidString.lowercased() ?? "", "status": "pending"], status: .accepted)
        }
        v1.get("/webhooks/{id}/deliveries") { request, context in
            let user = try context.user
            let existing = try await endpoint(user, context)
            let limit = try request.pageLimit()
            let deliveries = try await webhookEndpoints.webhookDeliveries(userID: user.id, endpointID: existing.id, limit: limit)
            return try JSONResponse.make(["deliveries": deliveries.map(DeliveryBody.init)])
        }
        v1.post("/webhooks/{id}/deliveries/{deliveryId}/retry") { request, context in
            let user = try context.user
            let existing = try await endpoint(user, context)
            let text = context.parameters.get("deliveryId") ?? ""
            guard let deliveryID = UUID(uuidString: text),
                try await webhookEndpoints.retryWebhookDelivery(userID: user.id, endpointID: existing.id, deliveryID: deliveryID)
            else { throw HubHTTPError.notFound("no delivery \(text) on this webhook") }
            return try JSONResponse.make(["delivery_id": deliveryID.uuidString.lowercased(), "status": "pending"], status: .accepted)
        }
    }

    private func endpoint(_ user: UserRecord, _ context: APIRequestContext) async throws -> WebhookEndpointRecord {
        let text = context.parameters.get("id") ?? ""
        guard let id = UUID(uuidString: text), let endpoint = try await webhookEndpoints.webhookEndpoint(userID: user.id, id: id) else {
            throw HubHTTPError.notFound("no webhook \(text)")
        }
        return endpoint
    }

    /// https (or an allow-listed host), absolute, no credentials; an address literal must be public. Names
    /// are checked again, with every address they resolve to, at each delivery.
    private func validURL(_ url: String?) throws -> String {
        if let url, let problem = InputText.problem(url, maxBytes: 2048) { throw HubHTTPError.badRequest("url \(problem)", code: "invalid_url") }
        guard let text = url, let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            let host = components.host?.lowercased(), !host.isEmpty, components.user == nil, components.password == nil
        else { throw HubHTTPError.badRequest("url must be an absolute https URL", code: "invalid_url") }
        let allowed = outboundAllowHosts.contains(host)
        guard scheme == "https" || (scheme == "http" && allowed) else {
            throw HubHTTPError.badRequest("url must use https", code: "invalid_url")
        }
        if !allowed, let reason = OutboundHTTPClient.refusal(ofLiteral: host) {
            throw HubHTTPError.badRequest("url points at a \(reason) address, which the hub does not call", code: "invalid_url")
        }
        return text
    }

    private func validEvents(_ events: [String]?) throws -> [String] {
        guard let events, !events.isEmpty else {
            throw HubHTTPError.badRequest(
                "events must name at least one of \(WebhookEnvelope.events.joined(separator: ", "))", code: "invalid_events")
        }
        if let unknown = events.first(where: { !WebhookEnvelope.events.contains($0) }) {
            throw HubHTTPError.badRequest(
                "events: '\(unknown)' is not one of \(WebhookEnvelope.events.joined(separator: ", "))", code: "invalid_events")
        }
        return Array(Set(events)).sorted()
    }
}

struct NewWebhook: Decodable {
    let name: String?
    let url: String?
    let events: [String]?
}

struct WebhookPatch: Decodable {
    let name: String?
    let url: String?
    let events: [String]?
    let enabled: Bool?
}

struct WebhookBody: Encodable {
    let id: String
    let name: String
    let url: String
    let events: [String]
    let enabled: Bool
    let disabledReason: String?
    let createdAt: String
    let updatedAt: String
    /// Only when created or rotated.
    let secret: String?

    init(_ endpoint: WebhookEndpointRecord, secret: String?) {
        id = endpoint.id.uuidString.lowercased()
        name = endpoint.name
        url = endpoint.url
        events = endpoint.events
        enabled = endpoint.enabled
        disabledReason = endpoint.disabledReason
        createdAt = Timestamps.format(endpoint.createdAt)
        updatedAt = Timestamps.format(endpoint.updatedAt)
        self.secret = secret
    }

    enum CodingKeys: String, CodingKey {
        case id, name, url, events, enabled, secret
        case disabledReason = "disabled_reason"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(name, forKey: .name)
        try container.encode(url, forKey: .url)
        try container.encode(events, forKey: .events)
        try container.encode(enabled, forKey: .enabled)
        try container.encode(disabledReason, forKey: .disabledReason)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(updatedAt, forKey: .updatedAt)
        try container.encodeIfPresent(secret, forKey: .secret)
    }
}

struct DeliveryBody: Encodable {
    struct Attempt: Encodable {
        let attempt: Int
        let at: String
        let statusCode: Int?
        let latencyMs: Int
        let error: String?

        enum CodingKeys: String, CodingKey {
            case attempt, at, error
            case statusCode = "status_code"
            case latencyMs = "latency_ms"
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(attempt, forKey: .attempt)
            try container.encode(at, forKey: .at)
            try container.encode(statusCode, forKey: .statusCode)
            try container.encode(latencyMs, forKey: .latencyMs)
            try container.encode(error, forKey: .error)
        }
    }

    let id: String
    let event: String
    let status: String
    let attemptCount: Int
    let responseCode: Int?
    let latencyMs: Int?
    let error: String?
    let payload: WebhookEnvelope?
    let createdAt: String
    let attempts: [Attempt]

    init(_ record: WebhookDeliveryRecord) {
        id = record.entry.id.uuidString.lowercased()
        event = record.entry.eventType
        status = record.entry.status
        attemptCount = record.entry.attempts
        responseCode = record.attempts.last?.statusCode
        latencyMs = record.attempts.last?.latencyMs
        error = record.entry.lastError
        payload = try? JSONDecoder().decode(WebhookEnvelope.self, from: Data(record.entry.payload.utf8))
        createdAt = Timestamps.format(record.createdAt)
        attempts = record.attempts.map {
            Attempt(attempt: $0.attempt, at: Timestamps.format($0.attemptedAt), statusCode: $0.statusCode, latencyMs: $0.latencyMs, error: $0.error)
        }
    }

    enum CodingKeys: String, CodingKey {
        case id, event, status, error, payload, attempts
        case attemptCount = "attempt_count"
        case responseCode = "response_code"
        case latencyMs = "latency_ms"
        case createdAt = "created_at"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(event, forKey: .event)
        try container.encode(status, forKey: .status)
        try container.encode(attemptCount, forKey: .attemptCount)
        try container.encode(responseCode, forKey: .responseCode)
        try container.encode(latencyMs, forKey: .latencyMs)
        try container.encode(error, forKey: .error)
        try container.encode(payload, forKey: .payload)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(attempts, forKey: .attempts)
    }
}
