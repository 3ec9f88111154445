import DevTrackCore
import DevTrackGitHub
import DevTrackHTTP
import DevTrackStore
import Foundation
import HTTPTypes
import Hummingbird

/// Signing in with GitHub (an OAuth App's web flow, with PKCE) and out, outside `/api/v1`:
/// - `GET /auth/github` sends the browser to GitHub with a one-time `state` bound to this browser by a cookie;
///   `?link=true` (signed in by cookie) links a further GitHub account instead of signing in. Each start is counted
///   against the client's address (it writes the state before anyone is known).
/// - `GET /auth/github/callback` checks the state, exchanges the code, reads `/user`, finds or creates the user
///   by GitHub id, seals the token, starts a session (HttpOnly cookie + CSRF cookie) and redirects.
/// - `POST /auth/logout` ends the session.
/// - `GET /auth/link/{token}` signs in by a one-time link (made by the operator's CLI, or `devtrack dev`).
/// Every failure is a JSON error naming what went wrong, never a 500.
struct AuthController: Sendable {
    let sessions: SessionRepository
    /// Only for the authenticator's shape: the `/auth` routes take no bearer token.
    let tokens: TokenRepository
    let accounts: GitHubAccountRepository
    let secretBox: SecretBox
    let configuration: SignInConfiguration
    let github: GitHubClient?
    /// Counts each start of a sign-in against its client address (`api.sign_in_requests_per_minute`).
    let publicRoutes: PublicProfileController

    var secureCookies: Bool { configuration.secureCookies }
    var callbackURL: String { "\(configuration.publicURL)/auth/github/callback" }

    /// Who is signed in, by the session cookie alone (a state-changing request must carry the CSRF token).
    var browserSession: CredentialAuthenticator {
        CredentialAuthenticator(tokens: tokens, sessions: sessions, required: false, bearerTokens: false)
    }

    func addRoutes(to router: Router<APIRequestContext>) {
        router.get("/auth/github") { request, context in try await start(request, context: context) }
        router.get("/auth/github/callback") { request, context in try await callback(request) }
        router.group("/auth").add(middleware: browserSession).post("/logout") { request, context in
            try await logout(request, signedIn: context.identity)
        }
        router.get("/auth/link/{token}") { request, context in
            try await signInByLink(request, token: context.parameters.require("token"))
        }
    }

    private func app() throws -> (GitHubOAuthApp, GitHubClient) {
        guard let app = configuration.github, let github else {
            throw HubHTTPError(
                .serviceUnavailable, code: "sign_in_not_configured",
                "GitHub sign-in is not configured on this hub: the operator sets DEVTRACK_GITHUB_CLIENT_ID and DEVTRACK_GITHUB_CLIENT_SECRET")
        }
        return (app, github)
    }

    private func start(_ request: Request, context: APIRequestContext) async throws -> Response {
        let (app, github) = try app()
        try await publicRoutes.limit(request, context, .signIn)
        let query = request.uri.queryParameters
        let returnTo = try Self.validReturnTo(query.get("return_to"))
        var linkUserID: UUID?
        switch query.get("link") {
        case nil, "false": break
        case "true":
            // Only a link asks who is signed in: a plain sign-in reads no session (and works while PostgreSQL is slow).
            guard let signedIn = try await browserSession.authenticate(request: request, context: context) else {
                throw HubHTTPError.unauthorized("linking another GitHub account needs a signed-in browser session", code: "invalid_session")
            }
            linkUserID = signedIn.user.id
        default: throw HubHTTPError.badRequest("link must be true or false", code: "invalid_link")
        }
        let state = Credentials.newURLSafeToken()
        let verifier = Credentials.newURLSafeToken()
        let browser = Credentials.newURLSafeToken()
        try await sessions.startOAuth(
            stateHash: Credentials.hash(state),
            start: OAuthStart(
                browserHash: Credentials.hash(browser), verifierSealed: secretBox.seal(verifier), linkUserID: linkUserID, returnTo: returnTo),
            lifetime: configuration.stateLifetime)
        var headers = HTTPFields()
        headers[.location] = github.authorizeURL(
            clientID: app.clientID, redirectURI: callbackURL, scopes: app.scopes, state: state, codeChallenge: Base64URL.pkceChallenge(of: verifier))
        headers[.setCookie] = SessionCookies.set(
            SessionCookies.oauth, browser, maxAge: Int(configuration.stateLifetime.components.seconds), path: "/auth/github", secure: secureCookies)
        headers[.cacheControl] = "no-store"
        return Response(status: .found, headers: headers)
    }

    private func callback(_ request: Request) async throws -> Response {
        let (app, github) = try app()
        let query = request.uri.queryParameters
        if let error = query.get("error") {
            let description = query.get("error_description").map { ": \(InputText.sanitized($0, maxBytes: 300))" } ?? ""
            let code = error == "access_denied" ? "sign_in_denied" : "sign_in_failed"
            throw HubHTTPError.badRequest("GitHub did not sign you in (\(InputText.sanitized(error, maxBytes: 100))\(description))", code: code)
        }
        guard let state = query.get("state"), InputText.problem(state, maxBytes: 200) == nil, !state.isEmpty else {
            throw HubHTTPError.badRequest("the callback has no state: start again at /auth/github", code: "invalid_state")
        }
        guard let code = query.get("code"), InputText.problem(code, maxBytes: 200) == nil, !code.isEmpty else {
            throw HubHTTPError.badRequest("the callback has no code: start again at /auth/github", code: "missing_code")
        }
        guard let started = try await sessions.consumeOAuth(stateHash: Credentials.hash(state)) else {
            throw HubHTTPError.badRequest(
                "this sign-in is unknown, expired or already used: start again at /auth/github", code: "invalid_state")
        }
        guard let browser = request.cookies[SessionCookies.oauth]?.value,
            Credentials.sameHash(Credentials.hash(browser), started.browserHash)
        else {
            throw HubHTTPError.badRequest(
                "this sign-in was started in another browser (or its cookie is gone): start again at /auth/github", code: "state_mismatch")
        }
        guard let verifier = try? secretBox.open(started.verifierSealed) else {
            throw HubHTTPError.badRequest(
                "this sign-in can no longer be read (the hub's key changed): start again at /auth/github", code: "invalid_state")
        }
        let token: String
        let profile: GitHubProfile
        var scopes: String
        do {
            (token, scopes) = try await github.exchange(
                code: code, clientID: app.clientID, clientSecret: app.clientSecret, redirectURI: callbackURL, codeVerifier: verifier)
            profile = try await github.user(token: token)
        } catch {
            throw Self.httpError(error)
        }
        scopes = InputText.sanitized(scopes, maxBytes: 500)
        var headers = HTTPFields()
        headers[.location] = started.returnTo
        headers[.cacheControl] = "no-store"
        headers.append(HTTPField(name: .setCookie, value: SessionCookies.clear(SessionCookies.oauth, path: "/auth/github", secure: secureCookies)))
        if let linkUserID = started.linkUserID {
            do {
                _ = try await accounts.link(userID: linkUserID, profile, sealedToken: secretBox.seal(token), scopes: scopes)
            } catch StoreError.conflict(let what) {
                throw HubHTTPError(.conflict, code: "account_linked_elsewhere", what)
            }
        } else {
            let user: UserRecord
            do {
                user = try await accounts.signIn(profile, sealedToken: secretBox.seal(token), scopes: scopes).user
            } catch StoreError.conflict {
                throw HubHTTPError(
                    .conflict, code: "login_unavailable",
                    "both \(profile.login) and \(profile.login)-\(profile.id) are other users' logins on this hub: ask the operator")
            }
            try await startSession(userID: user.id, headers: &headers)
        }
        return Response(status: .seeOther, headers: headers)
    }

    /// A one-time link (`devtrack users sign-in-link`, the `devtrack dev` banner) starts a session and opens the
    /// dashboard. Always a redirect, as a person clicked it: to `/` signed in, or to the sign-in page naming why not.
    private func signInByLink(_ request: Request, token: String) async throws -> Response {
        var headers: HTTPFields = [.cacheControl: "no-store", Self.referrerPolicy: "no-referrer"]
        guard InputText.problem(token, maxBytes: 200) == nil, let userID = try await sessions.consumeSignInLink(token: token) else {
            headers[.location] = "/sign-in?error=sign_in_link_invalid"
            return Response(status: .seeOther, headers: headers)
        }
        try await startSession(userID: userID, headers: &headers)
        headers[.location] = "/"
        return Response(status: .seeOther, headers: headers)
    }

    /// Starts a session: the HttpOnly session cookie and the CSRF cookie the hub's pages read.
    private func startSession(userID: UUID, headers: inout HTTPFields) async throws {
        let (cookie, csrf) = try await sessions.createSession(userID: userID, lifetime: configuration.sessionLifetime)
        let maxAge = Int(configuration.sessionLifetime.components.seconds)
        headers.append(HTTPField(name: .setCookie, value: SessionCookies.set(SessionCookies.session, cookie, maxAge: maxAge, secure: secureCookies)))
        headers.append(
            HTTPField(
                name: .setCookie,
                value: SessionCookies.set(SessionCookies.csrf, csrf, maxAge: maxAge, httpOnly: false, sameSite: "Strict", secure: secureCookies)))
    }

    /// The link's token is in its path: no page it leads to passes it on.
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!

    /// Ends the browser's session. Without a live session there is nothing to end (204 all the same); with one, the CSRF
    /// token must have come along (checked by `CredentialAuthenticator`), so that no other site can sign the user out.
    private func logout(_ request: Request, signedIn: Authenticated?) async throws -> Response {
        if signedIn != nil, let cookie = request.cookies[SessionCookies.session]?.value {
            try await sessions.endSession(cookie: cookie)
        }
        var headers = HTTPFields()
        headers.append(HTTPField(name: .setCookie, value: SessionCookies.clear(SessionCookies.session, secure: secureCookies)))
        headers.append(
            HTTPField(name: .setCookie, value: SessionCookies.clear(SessionCookies.csrf, httpOnly: false, sameSite: "Strict", secure: secureCookies)))
        return Response(status: .noContent, headers: headers)
    }

    /// Only a path of this hub (`/…`, not `//host` or `/\host`, which browsers read as another site).
    static func validReturnTo(_ text: String?) throws -> String {
        guard let text else { return "/" }
        guard text.hasPrefix("/"), !text.hasPrefix("//"), !text.contains("\\"), InputText.problem(text, maxBytes: 500) == nil,
            let parsed = URLComponents(string: text), parsed.host == nil, parsed.scheme == nil
        else {
            throw HubHTTPError.badRequest("return_to must be a path of this hub, such as /settings", code: "invalid_return_to")
        }
        return text
    }

    static func httpError(_ failure: GitHubFailure) -> HubHTTPError {
        switch failure {
        case .unavailable(let why):
            HubHTTPError(.badGateway, code: "github_unavailable", "GitHub did not answer the sign-in: \(why); try again shortly")
        case .badCredentials(let message):
            HubHTTPError(.badGateway, code: "github_refused_token", "GitHub refused the new token: \(message)")
        case .rateLimited(let until, _):
            HubHTTPError(
                .serviceUnavailable, code: "github_rate_limited", "GitHub's rate limit: try again after \(Timestamps.format(until))",
                headers: [.retryAfter: String(max(1, Int(until.timeIntervalSinceNow.rounded(.up))))])
        case .refused(400, let message):
            HubHTTPError.badRequest("GitHub refused the sign-in code: \(message); start again at /auth/github", code: "github_refused_code")
        case .refused(let status, let message):
            HubHTTPError(.badGateway, code: "github_error", "GitHub answered \(status) during sign-in: \(message)")
        }
    }
}

/// How sign-in works on this hub (from `api.*` and `github.*` of the configuration).
public struct SignInConfiguration: Sendable {
    /// The API's public base URL (`api.public_url`): GitHub's callback goes there, and its scheme decides
    /// whether cookies are marked Secure.
    public var publicURL: String
    public var sessionLifetime: Duration
    /// How long a started sign-in may take (the `state`'s lifetime).
    public var stateLifetime: Duration
    /// Nil when no OAuth App is configured: `/auth/github` then says so.
    public var github: GitHubOAuthApp?

    public init(publicURL: String, sessionLifetime: Duration, stateLifetime: Duration, github: GitHubOAuthApp?) {
        self.publicURL = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
        self.sessionLifetime = sessionLifetime
        self.stateLifetime = stateLifetime
        self.github = github
    }

    /// Cookies are marked Secure when the hub is served over https (a loopback development hub uses http).
    var secureCookies: Bool { publicURL.lowercased().hasPrefix("https://") }
}

/// The operator's GitHub OAuth App and where GitHub is.
public struct GitHubOAuthApp: Sendable {
    public var clientID: String
    public var clientSecret: String
    public var webURL: String
    public var apiURL: String
    public var scopes: String

    public init(clientID: String, clientSecret: String, webURL: String, apiURL: String, scopes: String) {
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.webURL = webURL
        self.apiURL = apiURL
        self.scopes = scopes
    }
}
