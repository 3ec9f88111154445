import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Synchronization

/// A fake GitHub on loopback, answering what the hub asks as GitHub documents it (bodies, statuses, headers, errors,
/// rate limits): the OAuth web flow with PKCE, `GET /user`, the `ContributionQueries` at `/graphql` and the REST
/// commits listing. One base URL plays both the web (github.com) and the API (api.github.com).
public final class FakeGitHub: Sendable {
    /// A repository. `isEmpty`: the commits listing answers 409, as GitHub does for a repository without commits.
    public struct Repo: Sendable {
        public var nameWithOwner: String
        public var isPrivate: Bool
        public var language: String?
        public var isEmpty: Bool

        public init(nameWithOwner: String, isPrivate: Bool = false, language: String? = nil, isEmpty: Bool = false) {
            self.nameWithOwner = nameWithOwner
            self.isPrivate = isPrivate
            self.language = language
            self.isEmpty = isEmpty
        }
    }

    /// A commit the user authored; `sha` is 40 hex digits.
    public struct Commit: Sendable {
        public var sha: String
        public var repo: String
        public var date: Date

        public init(sha: String, repo: String, date: Date) {
            self.sha = sha
            self.repo = repo
            self.date = date
        }
    }

    /// A pull request the user opened (its contribution is at `createdAt`); merged when `mergedAt` is set.
    public struct PullRequest: Sendable {
        public var id: Int64
        public var repo: String
        public var createdAt: Date
        public var mergedAt: Date?

        public init(id: Int64, repo: String, createdAt: Date, mergedAt: Date? = nil) {
            self.id = id
            self.repo = repo
            self.createdAt = createdAt
            self.mergedAt = mergedAt
        }
    }

    /// A review the user submitted.
    public struct Review: Sendable {
        public var id: Int64
        public var repo: String
        public var submittedAt: Date

        public init(id: Int64, repo: String, submittedAt: Date) {
            self.id = id
            self.repo = repo
            self.submittedAt = submittedAt
        }
    }

    /// An issue the user opened.
    public struct Issue: Sendable {
        public var id: Int64
        public var repo: String
        public var createdAt: Date

        public init(id: Int64, repo: String, createdAt: Date) {
            self.id = id
            self.repo = repo
            self.createdAt = createdAt
        }
    }

    /// What a user did, which the GraphQL contributions and the commits listing answer from. Items of a repository
    /// missing from `repositories` count as a public one without a language; a private repository's commits are
    /// listed only to the users whose `repositories` hold it.
    public struct History: Sendable {
        public var repositories: [Repo]
        public var commits: [Commit]
        public var pullRequests: [PullRequest]
        public var reviews: [Review]
        public var issues: [Issue]

        public init(
            repositories: [Repo] = [], commits: [Commit] = [], pullRequests: [PullRequest] = [], reviews: [Review] = [], issues: [Issue] = []
        ) {
            self.repositories = repositories
            self.commits = commits
            self.pullRequests = pullRequests
            self.reviews = reviews
            self.issues = issues
        }
    }

    /// What a request was, for the counters.
    public enum Kind: String, Sendable {
        case oauth, user, graphql, rest
    }

    /// One request as it arrived (`target` is the path and query) and the status it was answered.
    public struct Received: Sendable {
        public let kind: Kind
        public let method: String
        public let target: String
        public let status: Int
        public let at: Date
    }

    public let clientID: String
    public let clientSecret: String
    let state = Mutex(State())

    public init(clientID: String, clientSecret: String) {
        self.clientID = clientID
        self.clientSecret = clientSecret
    }

    /// Adds a user and gives the token OAuth issues for them (`gho_` and 36 alphanumerics), usable at once; after a
    /// `revoke`, the next OAuth exchange issues a new one.
    @discardableResult
    public func addUser(id: Int64, login: String, history: History = History()) -> String {
        let token = Self.newToken()
        state.withLock {
            $0.accounts[id] = Account(id: id, login: login, history: history, token: token)
            $0.tokens[token] = id
        }
        return token
    }

    /// Adds to a user's history, as later activity (repositories already there stay as they are).
    public func appendHistory(login: String, _ more: History) {
        state.withLock { state in
            guard let id = state.accounts.values.first(where: { $0.login == login })?.id else { return }
            let known = Set(state.accounts[id]!.history.repositories.map(\.nameWithOwner))
            state.accounts[id]!.history.repositories += more.repositories.filter { !known.contains($0.nameWithOwner) }
            state.accounts[id]!.history.commits += more.commits
            state.accounts[id]!.history.pullRequests += more.pullRequests
            state.accounts[id]!.history.reviews += more.reviews
            state.accounts[id]!.history.issues += more.issues
        }
    }

    /// A user changes their login (the id stays), as GitHub allows.
    public func rename(id: Int64, to login: String) {
        state.withLock { $0.accounts[id]?.login = login }
    }

    /// The token stops working: every API call with it answers 401, as after the user revoked the app.
    public func revoke(token: String) {
        state.withLock { state in
            guard let id = state.tokens.removeValue(forKey: token) else { return }
            state.accounts[id]?.token = nil
        }
    }

    /// The user who approves at the authorize page (none: the page asks to sign in).
    public var consentingUser: Int64? {
        get { state.withLock { $0.consentingUser } }
        set { state.withLock { $0.consentingUser = newValue } }
    }

    /// The user denies the app at the authorize page (GitHub redirects with `error=access_denied`).
    public var denyConsent: Bool {
        get { state.withLock { $0.denyConsent } }
        set { state.withLock { $0.denyConsent = newValue } }
    }

    /// GitHub's primary limit (5,000 an hour by default): every API request spends one of the token's budget, which
    /// is separate for `core` (REST) and `graphql`, as on GitHub; it refills once `resetAfter` from its first use passed.
    public func setPrimaryLimit(perToken limit: Int, resetAfter: Duration) {
        state.withLock {
            $0.limit = limit
            $0.resetAfter = resetAfter
            $0.budgets = [:]
        }
    }

    /// The next `count` API requests hit a secondary limit: 403 with `Retry-After` and GitHub's message.
    public func failNextWithSecondaryLimit(count: Int, retryAfterSeconds: Int) {
        state.withLock { $0.secondary = (count, retryAfterSeconds) }
    }

    /// The requests that arrived, in order.
    public var requests: [Received] { state.withLock { $0.received } }

    /// How many requests of `kind` arrived.
    public func count(_ kind: Kind) -> Int { requests.count { $0.kind == kind } }

    /// Runs the server for `body` and gives it the base URL (web and API alike).
    public func serving<T: Sendable>(_ body: @Sendable (String) async throws -> T) async throws -> T {
        let router = Router()
        router.get("/login/oauth/authorize") { request, _ in self.recorded(.oauth, request) { self.authorize(request, &$0) } }
        router.post("/login/oauth/access_token") { request, _ -> Reply in
            var request = request
            let body = Array(try await request.collectBody(upTo: 1 << 16).readableBytesView)
            let fields = Self.fields(of: body, json: request.headers[.contentType]?.contains("json") == true)
            return self.recorded(.oauth, request) { self.exchange(fields: fields, &$0) }
        }
        router.get("/user") { request, _ in
            self.recorded(.user, request) { self.api(request, .user, &$0) { state, account in Self.profile(account, base: state.baseURL) } }
        }
        router.post("/graphql") { request, _ -> Reply in
            var request = request
            let body = Array(try await request.collectBody(upTo: 1 << 20).readableBytesView)
            return self.recorded(.graphql, request) {
                self.api(request, .graphql, &$0) { _, account in Self.graphQL(body, history: account.history) }
            }
        }
        router.get("/repos/{owner}/{repo}/commits") { request, context -> Reply in
            let name = "\(context.parameters.get("owner") ?? "")/\(context.parameters.get("repo") ?? "")"
            return self.recorded(.rest, request) {
                self.api(request, .rest, &$0) { state, account in Self.commits(state, repo: name, request: request, viewer: account) }
            }
        }
        return try await serveOnLoopback(router, label: "fake-github") { base in
            state.withLock { $0.baseURL = base }
            return try await body(base)
        }
    }

    // MARK: State

    struct Account {
        var id: Int64
        var login: String
        var history: History
        var token: String?
        var scopes: [String] = []
    }

    /// An authorization code's grant, until it is exchanged.
    struct Grant {
        let userID: Int64
        let challenge: String?
        let redirectURI: String
        let scopes: [String]
    }

    struct Budget {
        var used = 0
        var resetAt: Date
    }

    struct State {
        var accounts: [Int64: Account] = [:]
        var tokens: [String: Int64] = [:]
        var grants: [String: Grant] = [:]
        var consentingUser: Int64?
        var denyConsent = false
        var limit = 5000
        var resetAfter = Duration.seconds(3600)
        var budgets: [String: Budget] = [:]
        var secondary = (count: 0, retryAfter: 60)
        var received: [Received] = []
        var baseURL = ""

    }

    /// An answer (JSON unless said otherwise).
    struct Reply: ResponseGenerator, Sendable {
        var status: HTTPResponse.Status
        var headers: [(String, String)]
        var body: [UInt8]

        static func json(_ status: HTTPResponse.Status, _ object: Any, headers: [(String, String)] = []) -> Reply {
            let body = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
            return Reply(status: status, headers: [("Content-Type", "application/json; charset=utf-8")] + headers, body: Array(body))
        }

        static func html(_ status: HTTPResponse.Status, _ text: String) -> Reply {
            Reply(status: status, headers: [("Content-Type", "text/html; charset=utf-8")], body: Array(text.utf8))
        }

        /// 302 to `uri` with `parameters` added to its query, form-encoded as GitHub does.
        static func redirect(_ uri: String, _ parameters: [(String, String)]) -> Reply {
            let query = parameters.map { "\($0.0)=\(formEscaped($0.1))" }.joined(separator: "&")
            return Reply(status: .found, headers: [("Location", uri + (uri.contains("?") ? "&" : "?") + query)], body: [])
        }

        func response(from request: Request, context: some RequestContext) throws -> Response {
            var fields = HTTPFields()
            for (name, value) in headers { fields[HTTPField.Name(name)!] = value }
            return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }
    }

    /// Answers under the lock, and records the request with its status.
    func recorded(_ kind: Kind, _ request: Request, _ answer: (inout State) -> Reply) -> Reply {
        state.withLock { state in
            let reply = answer(&state)
            let target = request.uri.string
            state.received.append(Received(kind: kind, method: request.method.rawValue, target: target, status: Int(reply.status.code), at: Date()))
            return reply
        }
    }

    // MARK: OAuth

    func authorize(_ request: Request, _ state: inout State) -> Reply {
        let query = request.uri.queryParameters
        func parameter(_ name: String) -> String? { query[name[...]].map { String($0) } }
        guard parameter("client_id") == clientID else {
            return .html(.notFound, "<!DOCTYPE html><html><head><title>Page not found · GitHub</title></head><body>Not Found</body></html>")
        }
        guard let redirectURI = parameter("redirect_uri") else {
            return .html(.badRequest, "<!DOCTYPE html><html><body>The fake has no registered callback URL: pass redirect_uri.</body></html>")
        }
        let echoed = parameter("state").map { [("state", $0)] } ?? []
        if state.denyConsent {
            return .redirect(
                redirectURI,
                [
                    ("error", "access_denied"), ("error_description", "The user has denied your application access."),
                    ("error_uri", "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-authorization-request-errors/#access-denied"),
                ] + echoed)
        }
        guard let userID = state.consentingUser, state.accounts[userID] != nil else {
            return .html(.ok, "<!DOCTYPE html><html><head><title>Sign in to GitHub · GitHub</title></head><body>Sign in</body></html>")
        }
        let code = Self.randomHex(bytes: 10)
        let scopes = (parameter("scope") ?? "").split(whereSeparator: { " ,+".contains($0) }).map(String.init)
        state.grants[code] = Grant(
            userID: userID, challenge: parameter("code_challenge"), redirectURI: redirectURI, scopes: scopes)
        return .redirect(redirectURI, [("code", code)] + echoed)
    }

    /// `POST /login/oauth/access_token`: always 200, errors as `{"error": …}`. A code is gone once presented with the
    /// app's credentials, whether the exchange succeeds or not.
    func exchange(fields: [String: String], _ state: inout State) -> Reply {
        func refusal(_ error: String, _ description: String, _ anchor: String) -> Reply {
            let uri = "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#\(anchor)"
            return .json(.ok, ["error": error, "error_description": description, "error_uri": uri])
        }
        guard fields["client_id"] == clientID, fields["client_secret"] == clientSecret else {
            return refusal(
                "incorrect_client_credentials", "The client_id and/or client_secret passed are incorrect.", "incorrect-client-credentials")
        }
        let badCode = refusal("bad_verification_code", "The code passed is incorrect or expired.", "bad-verification-code")
        guard let code = fields["code"], let grant = state.grants.removeValue(forKey: code), var account = state.accounts[grant.userID] else {
            return badCode
        }
        if let redirectURI = fields["redirect_uri"], redirectURI != grant.redirectURI {
            let description = "The redirect_uri MUST match the registered callback URL for this application."
            return refusal("redirect_uri_mismatch", description, "redirect-uri-mismatch2")
        }
        if let challenge = grant.challenge, fields["code_verifier"].map(Self.pkceChallenge) != challenge { return badCode }
        let token = account.token ?? Self.newToken()
        account.token = token
        account.scopes = grant.scopes
        state.accounts[account.id] = account
        state.tokens[token] = account.id
        return .json(.ok, ["access_token": token, "token_type": "bearer", "scope": grant.scopes.joined(separator: ",")])
    }

    /// The token endpoint's fields, form-encoded or JSON.
    static func fields(of body: [UInt8], json: Bool) -> [String: String] {
        if json {
            let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]
            return object?.compactMapValues { $0 as? String } ?? [:]
        }
        var fields: [String: String] = [:]
        for pair in String(decoding: body, as: UTF8.self).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map {
                $0.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
            }
            fields[parts[0]] = parts.count > 1 ? parts[1] : ""
        }
        return fields
    }

    /// PKCE's S256: base64url, unpadded, of the verifier's SHA-256.
    static func pkceChallenge(of verifier: String) -> String {
        Data(SHA256.hash(data: Data(verifier.utf8))).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}
