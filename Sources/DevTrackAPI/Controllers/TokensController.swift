import DevTrackCore
import DevTrackHTTP
import DevTrackStore
import Foundation
import Hummingbird

/// API tokens a user makes for scripts and plugins (`/api/v1/tokens`): the secret is shown once; a revoked or
/// expired token is refused from the next request on (and an open stream it holds ends within seconds).
struct TokensController: Sendable {
    let tokens: TokenRepository
    let maxTokensPerUser: Int
    static let maxLifetimeDays = 3650

    func addRoutes(to v1: RouterGroup<APIRequestContext>) {
        v1.get("/tokens") { request, context in
            let user = try context.user
            return try JSONResponse.make(["tokens": try await tokens.tokens(userID: user.id).map { TokenBody($0, secret: nil) }])
        }
        v1.post("/tokens") { request, context in
            let user = try context.user
            let body = try await request.decode(as: NewToken.self, context: context)
            let name = try FieldRules.requiredName(body.name)
            var expiresAt: Date?
            if let days = body.expiresInDays {
                guard (1...Self.maxLifetimeDays).contains(days) else {
                    throw HubHTTPError.badRequest("expires_in_days must be 1 to \(Self.maxLifetimeDays)", code: "invalid_expires_in_days")
                }
                expiresAt = Date().addingTimeInterval(Double(days) * 86_400)
            }
            do {
                let (record, secret) = try await tokens.createToken(userID: user.id, name: name, expiresAt: expiresAt, limit: maxTokensPerUser)
                return try JSONResponse.make(TokenBody(record, secret: secret), status: .created)
            } catch StoreError.conflict {
                throw HubHTTPError(
                    .conflict, code: "token_limit_reached", "a user may have at most \(maxTokensPerUser) live tokens; revoke one first")
            }
        }
        v1.delete("/tokens/{id}") { request, context in
            let user = try context.user
            let text = context.parameters.get("id") ?? ""
            guard let id = UUID(uuidString: text), try await tokens.revoke(userID: user.id, id: id) else {
                throw HubHTTPError.notFound("no token \(text)")
            }
            return Response(status: .noContent)
        }
    }
}

struct NewToken: Decodable {
    let name: String?
    let expiresInDays: Int?

    enum CodingKeys: String, CodingKey {
        case name
        case expiresInDays = "expires_in_days"
    }
}

struct TokenBody: Encodable {
    let id: String
    let name: String
    let createdAt: String
    let lastUsedAt: String?
    let expiresAt: String?
    let expired: Bool
    /// Only in the answer to the POST that made it.
    let token: String?

    init(_ record: TokenRecord, secret: String?, now: Date = Date()) {
        id = record.id.uuidString.lowercased()
        name = record.name
        createdAt = Timestamps.format(record.createdAt)
        lastUsedAt = record.lastUsedAt.map(Timestamps.format)
        expiresAt = record.expiresAt.map(Timestamps.format)
        expired = record.expiresAt.map { $0 <= now } ?? false
        token = secret
    }

    enum CodingKeys: String, CodingKey {
        case id, name, expired, token
        case createdAt = "created_at"
        case lastUsedAt = "last_used_at"
        case expiresAt = "expires_at"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(name, forKey: .name)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(lastUsedAt, forKey: .lastUsedAt)
        try container.encode(expiresAt, forKey: .expiresAt)
        try container.encode(expired, forKey: .expired)
        try container.encodeIfPresent(token, forKey: .token)
    }
}
