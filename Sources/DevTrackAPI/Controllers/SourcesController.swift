import DevTrackCore
import DevTrackHTTP
import DevTrackOutbound
import DevTrackStore
import Foundation
import Hummingbird

/// Webhook sources: where GitHub (`kind: github`) or any other system (`kind: custom`) posts a user's
/// activity. Secrets are shown once and rotate with a grace period; each source keeps a log of its
/// deliveries, refusals included.
struct SourcesController: Sendable {
    let sources: SourceRepository
    let secretBox: SecretBox
    /// Where senders reach ingest: the base of every source's URL.
    let publicIngestURL: String
    /// How long a rotated secret still verifies.
    let secretRotationGrace: Duration
    /// For `POST /api/v1/sources/{id}/test`: the hub's own ingest, at the operator's URL (not user-controlled).
    let selfClient: OutboundHTTPClient

    func addRoutes(to v1: RouterGroup<APIRequestContext>) {
        v1.post("/sources") { request, context in
            let user = try context.user
            let body = try await request.decode(as: NewSource.self, context: context)
            guard body.kind == "github" || body.kind == "custom" else {
                throw HubHTTPError.badRequest("kind must be \"github\" or \"custom\"", code: "invalid_kind")
            }
            let name = try validName(body.name ?? "")
            let mapping = try validMapping(kind: body.kind, preset: body.preset, mapping: body.mapping, authors: body.authors, current: nil)
            let secret = newSecret(kind: body.kind)
            let source = try await sources.createSource(
                userID: user.id, kind: body.kind, name: name, sealedSecret: secretBox.seal(secret), mapping: mapping)
            return try JSONResponse.make(SourceBody(source, url: sourceURL(source), secret: secret), status: .created)
        }
        v1.get("/sources") { request, context in
            let user = try context.user
            let sources = try await sources.sources(userID: user.id)
            return try JSONResponse.make(["sources": sources.map { SourceBody($0, url: sourceURL($0), secret: nil) }])
        }
        v1.get("/sources/{id}") { request, context in
            let source = try await ownSource(request, context)
            return try JSONResponse.make(SourceBody(source, url: sourceURL(source), secret: nil))
        }
        v1.patch("/sources/{id}") { request, context in
            let source = try await ownSource(request, context)
            let change = try await request.decode(as: SourceChange.self, context: context)
            let mapping = try validMapping(
                kind: source.kind, preset: change.preset, mapping: change.mapping, authors: change.authors, current: source.mapping)
            guard
                let updated = try await sources.updateSource(
                    userID: source.userID, id: source.id, name: try change.name.map(validName), enabled: change.enabled, mapping: mapping)
            else { throw HubHTTPError.notFound("no source \(source.id)") }
            return try JSONResponse.make(SourceBody(updated, url: sourceURL(updated), secret: nil))
        }
        v1.delete("/sources/{id}") { request, context in
            let source = try await ownSource(request, context)
            _ = try await sources.deleteSource(userID: source.userID, id: source.id)
            return Response(status: .noContent)
        }
        v1.post("/sources/{id}/rotate-secret") { request, context in
            let source = try await ownSource(request, context)
            let secret = newSecret(kind: source.kind)
            guard
                let rotated = try await sources.rotateSourceSecret(
                    userID: source.userID, sourceID: source.id, sealedSecret: secretBox.seal(secret), grace: secretRotationGrace)
            else { throw HubHTTPError.notFound("no source \(source.id)") }
            return try JSONResponse.make(SourceBody(rotated, url: sourceURL(rotated), secret: secret))
        }
        v1.get("/sources/{id}/deliveries") { request, context in
            let source = try await ownSource(request, context)
            let deliveries = try await sources.sourceDeliveries(sourceID: source.id, limit: try request.pageLimit())
            return try JSONResponse.make(["deliveries": deliveries.map(SourceDeliveryBody.init)])
        }
        v1.post("/sources/{id}/test") { request, context in
            let source = try await ownSource(request, context)
            guard source.kind == "custom" else {
                throw HubHTTPError(.conflict, code: "not_custom", "only custom sources can be sent a test delivery; GitHub sends its own ping")
            }
            return try JSONResponse.make(try await sendTestDelivery(to: source))
        }
    }

    private func ownSource(_ request: Request, _ context: APIRequestContext) async throws -> SourceRecord {
        let user = try context.user
        let text = context.parameters.get("id") ?? ""
        guard let id = UUID(uuidString: text), let source = try await sources.source(userID: user.id, id: id) else {
            throw HubHTTPError.notFound("no source \(text)")
        }
        return source
    }

    /// A custom source's mapping: a preset by name, or one written out; nil for the native format.
    /// The mapping a request sets, checked; nil when it sets none. `authors` alone changes the `current` mapping's.
    private func validMapping(
        kind: String, preset: String?, mapping: EventMapping?, authors: [String]?, current: EventMapping?
    ) throws -> EventMapping? {
        switch (preset, mapping) {
        case (nil, nil):
            guard let authors else { return nil }
            guard var current else {
                throw HubHTTPError.badRequest("authors go with a preset or a mapping (custom sources only)", code: "invalid_mapping")
            }
            current.authors = authors
            do {
                try current.validate()
            } catch {
                throw HubHTTPError.badRequest(error.description, code: "invalid_mapping")
            }
            return current
        case (_?, _?):
            throw HubHTTPError.badRequest("give a preset or a mapping, not both", code: "invalid_mapping")
        case (let name?, nil):
            guard kind == "custom", var preset = EventMapping.presets[name] else {
                throw HubHTTPError.badRequest(
                    "preset must be one of \(EventMapping.presets.keys.sorted().joined(separator: ", ")) (custom sources only)",
                    code: "invalid_mapping")
            }
            preset.authors = authors
            do {
                try preset.validate()  // the authors given with it are checked like any mapping's
            } catch {
                throw HubHTTPError.badRequest(error.description, code: "invalid_mapping")
            }
            return preset
        case (nil, var mapping?):
            if let authors { mapping.authors = authors }
            guard kind == "custom" else { throw HubHTTPError.badRequest("only custom sources have a mapping", code: "invalid_mapping") }
            do {
                try mapping.validate()
            } catch {
                throw HubHTTPError.badRequest(error.description, code: "invalid_mapping")
            }
            return mapping
        }
    }

    private func validName(_ name: String) throws -> String {
        guard name.count <= 100 else { throw HubHTTPError.badRequest("name must be at most 100 characters", code: "invalid_name") }
        if let problem = InputText.problem(name, maxBytes: 400) { throw HubHTTPError.badRequest("name \(problem)", code: "invalid_name") }
        return name
    }

    /// Custom sources verify Standard Webhooks signatures, whose secrets are `whsec_` + base64.
    private func newSecret(kind: String) -> String {
        kind == "custom" ? StandardWebhooks.newSecret() : Credentials.newWebhookSecret()
    }

    func sourceURL(_ source: SourceRecord) -> String {
        "\(publicIngestURL)/webhooks/\(source.kind)/\(source.id.uuidString.lowercased())"
    }

    /// Signs a sample event (type `devtrack.test`: verified, carried and logged like any other, never counted)
    /// with the source's secret and posts it to the source's own URL, through ingest, Kafka and the worker.
    private func sendTestDelivery(to source: SourceRecord) async throws -> SourceTestBody {
        guard let credentials = try await sources.sourceCredentials(id: source.id), let sealed = credentials.sealedSecrets.first,
            let key = StandardWebhooks.key(of: try secretBox.open(sealed))
        else {
            throw HubHTTPError(.conflict, code: "secret_unreadable", "the source's secret cannot be opened with the configured encryption key")
        }
        let id = "test_\(UUID().uuidString.lowercased())"
        let body = Array(#"{"type":"\#(CustomEvent.testType)","occurred_at":"\#(Timestamps.format(Date()))","id":"\#(id)"}"#.utf8)
        let headers =
            [("Content-Type", "application/json")]
            + StandardWebhooks.headers(id: id, timestamp: Int(Date().timeIntervalSince1970), body: body, keys: [key])
        let started = ContinuousClock.now
        do {
            let response = try await selfClient.post(OutboundRequest(url: sourceURL(source), headers: headers, body: body))
            return SourceTestBody(
                deliveryID: id, statusCode: response.status, latencyMs: (ContinuousClock.now - started).wholeMilliseconds,
                response: String(decoding: response.body, as: UTF8.self), error: nil)
        } catch {
            return SourceTestBody(deliveryID: id, statusCode: nil, latencyMs: nil, response: nil, error: error.description)
        }
    }
}

struct NewSource: Decodable {
    let kind: String
    let name: String?
    let preset: String?
    let mapping: EventMapping?
    /// The owner's identities for a preset (who the mapping's `author` must be).
    let authors: [String]?
}

struct SourceChange: Decodable {
    let name: String?
    let enabled: Bool?
    let preset: String?
    let mapping: EventMapping?
    let authors: [String]?
}

struct SourceBody: Encodable {
    let id: String
    let kind: String
    let name: String
    let url: String
    let enabled: Bool
    let secret: String?
    let createdAt: String
    let rotatedAt: String?
    let mapping: EventMapping?
    enum CodingKeys: String, CodingKey {
        case id, kind, name, url, enabled, secret, mapping
        case createdAt = "created_at"
        case rotatedAt = "rotated_at"
    }
    init(_ source: SourceRecord, url: String, secret: String?) {
        id = source.id.uuidString.lowercased()
        kind = source.kind
        name = source.name
        self.url = url
        enabled = source.enabled
        self.secret = secret
        createdAt = Timestamps.format(source.createdAt)
        rotatedAt = source.rotatedAt.map(Timestamps.format)
        mapping = source.mapping
    }
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(kind, forKey: .kind)
        try container.encode(name, forKey: .name)
        try container.encode(url, forKey: .url)
        try container.encode(enabled, forKey: .enabled)
        try container.encodeIfPresent(secret, forKey: .secret)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(rotatedAt, forKey: .rotatedAt)
        try container.encode(mapping, forKey: .mapping)
    }
}

struct SourceDeliveryBody: Encodable {
    let deliveryID: String
    let status: String
    let facts: Int
    let error: String?
    let receivedAt: String
    let bytes: Int?
    let signature: String?
    enum CodingKeys: String, CodingKey {
        case status, facts, error, bytes, signature
        case deliveryID = "delivery_id"
        case receivedAt = "received_at"
    }
    init(_ delivery: SourceDeliveryRecord) {
        deliveryID = delivery.deliveryID
        status = delivery.status
        facts = delivery.facts
        error = delivery.error
        receivedAt = Timestamps.format(delivery.receivedAt)
        bytes = delivery.bytes
        signature = delivery.signature
    }
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(deliveryID, forKey: .deliveryID)
        try container.encode(status, forKey: .status)
        try container.encode(facts, forKey: .facts)
        try container.encode(error, forKey: .error)
        try container.encode(receivedAt, forKey: .receivedAt)
        try container.encode(bytes, forKey: .bytes)
        try container.encode(signature, forKey: .signature)
    }
}

struct SourceTestBody: Encodable {
    let deliveryID: String
    let statusCode: Int?
    let latencyMs: Int?
    /// Ingest's answer.
    let response: String?
    let error: String?
    enum CodingKeys: String, CodingKey {
        case response, error
        case deliveryID = "delivery_id"
        case statusCode = "status_code"
        case latencyMs = "latency_ms"
    }
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(deliveryID, forKey: .deliveryID)
        try container.encode(statusCode, forKey: .statusCode)
        try container.encode(latencyMs, forKey: .latencyMs)
        try container.encode(response, forKey: .response)
        try container.encode(error, forKey: .error)
    }
}
