import Crypto
import DevTrackCore
import DevTrackHTTP
import DevTrackStore
import Hummingbird
import HummingbirdAuth

/// Who is calling, for every route of the group it guards: `Authorization: Bearer <token>` (scripts, plugins,
/// other systems), else the browser's session cookie. A state-changing request authenticated by the cookie
/// must also carry the session's CSRF token in `X-CSRF-Token` (a page of another site can make the browser
/// send the cookie, but cannot read the token). Anything else is 401 (403 for the CSRF check) with the
/// documented body before a handler runs, and before any body is read. On public routes (`required` false) a
/// request without any credential goes on anonymously, and so does one with an ended session's cookie; a bearer token
/// that is presented is checked all the same.
struct CredentialAuthenticator: AuthenticatorMiddleware {
    typealias Context = APIRequestContext
    let tokens: TokenRepository
    let sessions: SessionRepository
    var required = true
    /// False for the browser's own routes (`/auth/…`): there only the session cookie counts, and an `Authorization`
    /// header is ignored.
    var bearerTokens = true

    func authenticate(request: Request, context: APIRequestContext) async throws -> Authenticated? {
        if bearerTokens, let header = request.headers[.authorization] {
            let parts = header.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "bearer" else {
                throw HubHTTPError.unauthorized("Authorization header must be 'Bearer <token>'")
            }
            guard let authenticated = try await tokens.authenticate(bearerToken: String(parts[1])) else {
                throw HubHTTPError.unauthorized("unknown, revoked or expired token", code: "invalid_token")
            }
            return authenticated
        }
        guard let cookie = request.cookies[SessionCookies.session]?.value, !cookie.isEmpty else {
            guard required else { return nil }
            throw HubHTTPError.unauthorized("missing Authorization: Bearer <token> header (or a session cookie)")
        }
        guard let authenticated = try await sessions.authenticate(sessionCookie: cookie),
            case .session(_, let csrfHash) = authenticated.credential
        else {
            // A browser keeps an ended session's cookie until it expires: on a public page that is a visitor, not a caller.
            guard required else { return nil }
            throw HubHTTPError.unauthorized("the session has ended or expired: sign in again", code: "invalid_session")
        }
        if ![.get, .head, .options].contains(request.method) {
            let presented = request.headers[SessionCookies.csrfHeader] ?? ""
            guard Credentials.sameHash(Credentials.hash(presented), csrfHash) else {
                throw HubHTTPError.forbidden(
                    "a request signed in by cookie must carry the devtrack_csrf cookie's value in X-CSRF-Token", code: "csrf_token_invalid")
            }
        }
        return authenticated
    }
}
