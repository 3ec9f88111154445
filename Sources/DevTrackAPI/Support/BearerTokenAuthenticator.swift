import DevTrackHTTP
import DevTrackStore
import Hummingbird
import HummingbirdAuth

/// `Authorization: Bearer <token>` → the token's user in the context, for every route of the group it
/// guards; anything else is 401 with the documented body before a handler runs (and before any body is read).
struct BearerTokenAuthenticator: AuthenticatorMiddleware {
    typealias Context = APIRequestContext
    let users: UserRepository

    func authenticate(request: Request, context: APIRequestContext) async throws -> UserRecord? {
        guard let header = request.headers[.authorization] else {
            throw HubHTTPError.unauthorized("missing Authorization: Bearer <token> header")
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw HubHTTPError.unauthorized("Authorization header must be 'Bearer <token>'")
        }
        guard let user = try await users.user(bearerToken: String(parts[1])) else {
            throw HubHTTPError.unauthorized("unknown or revoked token", code: "invalid_token")
        }
        return user
    }
}
