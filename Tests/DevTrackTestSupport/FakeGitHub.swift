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

    // MARK: The API's gate: token, secondary limit, primary limit

    /// Checks an API request as GitHub does, then answers it with `answer` and the rate-limit headers.
    func api(_ request: Request, _ kind: Kind, _ state: inout State, answer: (State, Account) -> Reply) -> Reply {
        let graphQL = kind == .graphql
        guard let token = Self.token(request), let id = state.tokens[token], let account = state.accounts[id] else {
            let message = Self.token(request) == nil ? "Requires authentication" : "Bad credentials"
            return graphQL
                ? .json(.unauthorized, ["message": message, "documentation_url": "https://docs.github.com/graphql"])
                : .json(.unauthorized, ["message": message, "documentation_url": "https://docs.github.com/rest", "status": "401"])
        }
        let resource = graphQL ? "graphql" : "core"
        let now = Date()
        let key = "\(resource) \(token)"
        var budget = state.budgets[key] ?? Budget(resetAt: now)
        if now >= budget.resetAt {
            let seconds = Double(state.resetAfter.components.seconds) + Double(state.resetAfter.components.attoseconds) / 1e18
            budget = Budget(resetAt: Date(timeIntervalSince1970: (now.timeIntervalSince1970 + seconds).rounded(.up)))
        }
        let requestID = [4, 4, 6, 6, 8].map { Self.randomHex(bytes: $0 / 2).uppercased() }.joined(separator: ":")
        let support = "If you reach out to GitHub Support for help, please include the request ID \(requestID)."
        func headers() -> [(String, String)] {
            [
                ("X-RateLimit-Limit", "\(state.limit)"), ("X-RateLimit-Remaining", "\(max(state.limit - budget.used, 0))"),
                ("X-RateLimit-Reset", "\(Int(budget.resetAt.timeIntervalSince1970))"), ("X-RateLimit-Used", "\(budget.used)"),
                ("X-RateLimit-Resource", resource), ("X-GitHub-Request-Id", requestID),
            ]
        }
        state.budgets[key] = budget
        if state.secondary.count > 0 {
            state.secondary.count -= 1
            let documentation =
                graphQL
                ? "https://docs.github.com/graphql/overview/rate-limits-and-node-limits-for-the-graphql-api#secondary-rate-limits"
                : "https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
            let message = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. \(support)"
            return .json(
                .forbidden, ["message": message, "documentation_url": documentation],
                headers: headers() + [("Retry-After", "\(state.secondary.retryAfter)")])
        }
        guard budget.used < state.limit else {
            let message = "API rate limit exceeded for user ID \(account.id)."
            // GraphQL's primary limit is a 200 with an error, REST's a 403 (both with X-RateLimit-Remaining: 0).
            if graphQL { return .json(.ok, ["errors": [["type": "RATE_LIMITED", "message": message]]], headers: headers()) }
            let documentation = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
            return .json(.forbidden, ["message": "\(message) \(support)", "documentation_url": documentation], headers: headers())
        }
        budget.used += 1
        state.budgets[key] = budget
        var reply = answer(state, account)
        reply.headers += headers()
        return reply
    }

    /// `Authorization: Bearer …` or `token …`.
    static func token(_ request: Request) -> String? {
        guard let value = request.headers[.authorization] else { return nil }
        let parts = value.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, ["bearer", "token"].contains(parts[0].lowercased()) else { return nil }
        return String(parts[1])
    }

    // MARK: REST

    static func simpleUser(_ account: Account, base: String) -> [String: Any] {
        [
            "login": account.login, "id": account.id, "node_id": Data("04:User\(account.id)".utf8).base64EncodedString(),
            "avatar_url": "https://avatars.githubusercontent.com/u/\(account.id)?v=4", "gravatar_id": "",
            "url": "\(base)/users/\(account.login)", "html_url": "\(base)/\(account.login)", "type": "User", "site_admin": false,
        ]
    }

    /// `GET /user`, with the token's scopes in `X-OAuth-Scopes`.
    static func profile(_ account: Account, base: String) -> Reply {
        let more: [String: Any] = [
            "name": NSNull(), "company": NSNull(), "blog": "", "location": NSNull(), "email": NSNull(), "bio": NSNull(),
            "public_repos": account.history.repositories.count { !$0.isPrivate }, "followers": 0, "following": 0,
            "created_at": "2011-01-25T18:44:36Z", "updated_at": "2024-06-01T12:00:00Z",
        ]
        let body = simpleUser(account, base: base).merging(more) { first, _ in first }
        return .json(.ok, body, headers: [("X-OAuth-Scopes", account.scopes.joined(separator: ", "))])
    }

    /// `GET /repos/{owner}/{repo}/commits?author&since&until&per_page&page`: newest first, paged with a `Link` header.
    static func commits(_ state: State, repo name: String, request: Request, viewer: Account) -> Reply {
        let documentation = "https://docs.github.com/rest/commits/commits#list-commits"
        let accounts = state.accounts.values.sorted { $0.id < $1.id }
        let named = { (other: String) in other.lowercased() == name.lowercased() }
        let repo =
            accounts.lazy.flatMap(\.history.repositories).first { named($0.nameWithOwner) }
            ?? accounts.lazy.flatMap(\.history.commits).first { named($0.repo) }.map { Repo(nameWithOwner: $0.repo) }
        guard let repo, !repo.isPrivate || viewer.history.repositories.contains(where: { named($0.nameWithOwner) }) else {
            return .json(.notFound, ["message": "Not Found", "documentation_url": documentation, "status": "404"])
        }
        if repo.isEmpty {
            return .json(.conflict, ["message": "Git Repository is empty.", "documentation_url": documentation, "status": "409"])
        }
        let query = request.uri.queryParameters
        var bounds: [String: Date] = [:]
        for bound in ["since", "until"] {
            guard let text = query[bound[...]] else { continue }
            guard let date = parseDate(String(text)) else {
                return .json(.unprocessableContent, ["message": "Validation Failed", "documentation_url": documentation, "status": "422"])
            }
            bounds[bound] = date
        }
        let author = query["author"].map { $0.lowercased() }
        var items: [(Account, Commit)] = []
        for account in accounts where author == nil || account.login.lowercased() == author {
            for commit in account.history.commits where named(commit.repo) {
                if let since = bounds["since"], commit.date < since { continue }
                if let until = bounds["until"], commit.date > until { continue }
                items.append((account, commit))
            }
        }
        items.sort { ($0.1.date, $0.1.sha) > ($1.1.date, $1.1.sha) }
        let perPage = query["per_page"].flatMap { Int($0) }.map { min(max($0, 1), 100) } ?? 30
        let page = max(query["page"].flatMap { Int($0) } ?? 1, 1)
        let lastPage = max((items.count + perPage - 1) / perPage, 1)
        let base = state.baseURL
        let body = items.dropFirst((page - 1) * perPage).prefix(perPage).map { account, commit -> [String: Any] in
            let url = "\(base)/repos/\(repo.nameWithOwner)/commits/\(commit.sha)"
            let signature = ["name": account.login, "email": "\(account.id)+\(account.login)@users.noreply.github.com", "date": format(commit.date)]
            let details: [String: Any] = [
                "author": signature, "committer": signature, "message": "Change \(commit.sha.prefix(7))", "comment_count": 0,
                "url": "\(base)/repos/\(repo.nameWithOwner)/git/commits/\(commit.sha)",
                "verification": ["verified": false, "reason": "unsigned", "signature": NSNull(), "payload": NSNull(), "verified_at": NSNull()],
            ]
            return [
                "sha": commit.sha, "node_id": Data("06:Commit\(repo.nameWithOwner):\(commit.sha)".utf8).base64EncodedString(),
                "commit": details, "url": url, "html_url": "\(base)/\(repo.nameWithOwner)/commit/\(commit.sha)", "comments_url": "\(url)/comments",
                "author": simpleUser(account, base: base), "committer": simpleUser(account, base: base), "parents": [Any](),
            ]
        }
        // The request's own query with another page, in GitHub's order of relations.
        let kept = (request.uri.query ?? "").split(separator: "&").filter { !$0.hasPrefix("page=") }
        func link(_ page: Int, _ relation: String) -> String {
            "<\(base)/repos/\(repo.nameWithOwner)/commits?\((kept + ["page=\(page)"]).joined(separator: "&"))>; rel=\"\(relation)\""
        }
        var links: [String] = []
        if page > 1 { links.append(link(page - 1, "prev")) }
        if page < lastPage { links += [link(page + 1, "next"), link(lastPage, "last")] }
        if page > 1 { links.append(link(1, "first")) }
        return .json(.ok, body, headers: links.isEmpty ? [] : [("Link", links.joined(separator: ", "))])
    }

    // MARK: GraphQL

    /// The hub's operations, by name.
    enum Operation: String {
        case commitRepositories = "CommitRepositories"
        case pullRequests = "PullRequestContributions"
        case reviews = "ReviewContributions"
        case issues = "IssueContributions"
    }

    /// Answers one of the hub's queries with exactly the fields it asks for, from the window's contributions.
    static func graphQL(_ body: [UInt8], history: History) -> Reply {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any], let query = object["query"] as? String else {
            return .json(.badRequest, ["message": "Problems parsing JSON", "documentation_url": "https://docs.github.com/graphql"])
        }
        let variables = object["variables"] as? [String: Any] ?? [:]
        guard let name = query.firstMatch(of: /query\s+(\w+)/)?.1, let operation = Operation(rawValue: String(name)) else {
            return .json(.ok, ["errors": [["message": "unknown operation (the fake answers only the hub's queries)"]]])
        }
        for variable in ["from", "to"] where (variables[variable] as? String).flatMap(parseDate) == nil {
            return .json(.ok, ["errors": [["message": "Variable $\(variable) of type DateTime! was provided invalid value"]]])
        }
        let from = parseDate(variables["from"] as! String)!
        let to = parseDate(variables["to"] as! String)!
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        // GitHub does not document where the year ends; a calendar year, leap day included, is accepted.
        guard to <= calendar.date(byAdding: .year, value: 1, to: from)! else {
            return error(
                "The total time spanned by 'from' and 'to' must not exceed 1 year", path: ["viewer", "contributionsCollection"], query: query)
        }
        let within = { (date: Date) in date >= from && date <= to }
        let repositories = Dictionary(history.repositories.map { ($0.nameWithOwner, $0) }) { first, _ in first }
        func repository(_ name: String) -> [String: Any] {
            let repo = repositories[name] ?? Repo(nameWithOwner: name)
            return ["nameWithOwner": name, "isPrivate": repo.isPrivate, "primaryLanguage": repo.language.map { ["name": $0] as Any } ?? NSNull()]
        }
        let field: String
        let nodes: [[String: Any]]
        switch operation {
        case .commitRepositories:
            let counts = Dictionary(grouping: history.commits.filter { within($0.date) }, by: \.repo).mapValues(\.count)
            let ranked = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(100)
            let list: [[String: Any]] = ranked.map { ["repository": repository($0.key), "contributions": ["totalCount": $0.value]] }
            return .json(.ok, ["data": ["viewer": ["contributionsCollection": ["commitContributionsByRepository": list]]]])
        case .pullRequests:
            field = "pullRequestContributions"
            nodes = history.pullRequests.filter { within($0.createdAt) }.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }.map {
                let pullRequest: [String: Any] = [
                    "fullDatabaseId": String($0.id), "title": "Pull request \($0.id)", "url": "https://github.com/\($0.repo)/pull/\($0.id)",
                    "createdAt": format($0.createdAt), "merged": $0.mergedAt != nil,
                    "mergedAt": $0.mergedAt.map { format($0) as Any } ?? NSNull(), "repository": repository($0.repo),
                ]
                return ["pullRequest": pullRequest]
            }
        case .reviews:
            field = "pullRequestReviewContributions"
            nodes = history.reviews.filter { within($0.submittedAt) }.sorted { ($0.submittedAt, $0.id) < ($1.submittedAt, $1.id) }.map {
                let review: [String: Any] = [
                    "fullDatabaseId": String($0.id), "url": "https://github.com/\($0.repo)/pull/1#pullrequestreview-\($0.id)",
                    "submittedAt": format($0.submittedAt), "createdAt": format($0.submittedAt), "pullRequest": ["title": "Reviewed change"],
                ]
                return ["pullRequestReview": review, "repository": repository($0.repo)]
            }
        case .issues:
            field = "issueContributions"
            nodes = history.issues.filter { within($0.createdAt) }.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }.map {
                let issue: [String: Any] = [
                    "fullDatabaseId": String($0.id), "title": "Issue \($0.id)", "url": "https://github.com/\($0.repo)/issues/\($0.id)",
                    "createdAt": format($0.createdAt), "repository": repository($0.repo),
                ]
                return ["issue": issue]
            }
        }
        // Pages of 100 (what the hub's queries ask); a cursor is the position after its page, base64 like GitHub's.
        var start = 0
        if let after = variables["after"] as? String {
            guard let decoded = Data(base64Encoded: after).map({ String(decoding: $0, as: UTF8.self) }), decoded.hasPrefix("cursor:v2:"),
                let offset = Int(decoded.dropFirst(10)), offset >= 0
            else {
                return error("`\(after)` does not appear to be a valid cursor.", path: ["viewer", "contributionsCollection", field], query: query)
            }
            start = offset
        }
        let page = Array(nodes.dropFirst(start).prefix(100))
        let end = start + page.count
        let pageInfo: [String: Any] = [
            "hasNextPage": end < nodes.count, "endCursor": page.isEmpty ? NSNull() : Data("cursor:v2:\(end)".utf8).base64EncodedString() as Any,
        ]
        return .json(.ok, ["data": ["viewer": ["contributionsCollection": [field: ["pageInfo": pageInfo, "nodes": page]]]]])
    }

    /// A GraphQL error on `path` (its last field located in `query`), with `data: null` as the non-null `viewer` gives.
    static func error(_ message: String, path: [String], query: String) -> Reply {
        var location: [String: Int] = [:]
        if let found = query.range(of: path.last!) {
            let before = query[..<found.lowerBound]
            let lineStart = before.lastIndex(of: "\n").map { query.index(after: $0) } ?? query.startIndex
            location = ["line": before.count { $0 == "\n" } + 1, "column": query.distance(from: lineStart, to: found.lowerBound) + 1]
        }
        return .json(.ok, ["data": NSNull(), "errors": [["message": message, "path": path, "locations": location.isEmpty ? [] : [location]]]])
    }

    // MARK: Formats

    /// GitHub's timestamps: `2024-03-10T18:29:59Z`.
    static func format(_ date: Date) -> String { date.formatted(.iso8601) }

    /// ISO 8601, with or without fractional seconds.
    static func parseDate(_ text: String) -> Date? {
        (try? Date.ISO8601FormatStyle().parse(text)) ?? (try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text))
    }

    static func randomHex(bytes: Int) -> String {
        (0..<bytes).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
    }

    static func newToken() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        return "gho_" + String((0..<36).map { _ in alphabet.randomElement()! })
    }

    static func formEscaped(_ value: String) -> String {
        var allowed = CharacterSet.alphanumerics.intersection(CharacterSet(charactersIn: Unicode.Scalar(0)...Unicode.Scalar(127)))
        allowed.insert(charactersIn: "-._~ ")
        return value.addingPercentEncoding(withAllowedCharacters: allowed)!.replacingOccurrences(of: " ", with: "+")
    }
}
