import DevTrackCore
import DevTrackOutbound
import Foundation

/// Why a call to GitHub did not give what was asked for. `rateLimited` and `unavailable` pass by themselves;
/// `badCredentials` means the token is no longer good (revoked, expired, the app's access withdrawn).
public enum GitHubFailure: Error, Equatable, CustomStringConvertible, Sendable {
    /// No answer (unreachable, timed out) or a 5xx.
    case unavailable(String)
    /// 401: GitHub refuses the token.
    case badCredentials(String)
    /// The primary limit (`X-RateLimit-Remaining: 0`, until `X-RateLimit-Reset`) or a secondary limit
    /// (403/429 with `Retry-After`): wait until `until`.
    case rateLimited(until: Date, secondary: Bool)
    /// Any other refusal (4xx) with GitHub's message, or an answer the hub cannot read.
    case refused(status: Int, message: String)

    public var description: String {
        switch self {
        case .unavailable(let why): "GitHub is unavailable: \(why)"
        case .badCredentials(let message): "GitHub refused the token: \(message)"
        case .rateLimited(let until, let secondary):
            "GitHub's \(secondary ? "secondary" : "primary") rate limit until \(Timestamps.format(until))"
        case .refused(let status, let message): "GitHub answered \(status): \(message)"
        }
    }
}

/// GitHub's rate-limit headers of one answer (`X-RateLimit-Remaining`, `X-RateLimit-Reset`).
public struct GitHubRateLimit: Sendable, Equatable {
    public let remaining: Int
    public let resetAt: Date
}

/// An answer of GitHub's API: the body and what its headers say about paging and limits.
public struct GitHubAnswer: Sendable {
    public let status: Int
    public let body: [UInt8]
    public let rateLimit: GitHubRateLimit?
    /// `rel="next"` of the `Link` header (REST paging).
    public let nextPage: String?
    /// `X-OAuth-Scopes`: what the token may do.
    public let scopes: String?
}

/// The calls the hub makes to GitHub, against the configured web and API base URLs (github.com or GitHub
/// Enterprise; a fake on loopback in tests). Every answer is read for GitHub's documented errors and limits.
public struct GitHubClient: Sendable {
    public let webURL: String
    public let apiURL: String
    let http: OutboundHTTPClient

    /// The GitHub hosts are the operator's: they are allow-listed (no public-address check, http allowed for a
    /// fake on loopback). Answers are kept up to 8 MB (a year of contributions is well below).
    public init(webURL: String, apiURL: String, timeout: Duration = .seconds(20)) throws {
        self.webURL = Self.trimmed(webURL)
        self.apiURL = Self.trimmed(apiURL)
        let hosts = [webURL, apiURL].compactMap { URLComponents(string: $0)?.host?.lowercased() }
        self.http = try OutboundHTTPClient(allowList: Set(hosts), timeout: timeout, maxResponseBytes: 8 << 20)
    }

    static func trimmed(_ url: String) -> String {
        url.hasSuffix("/") ? String(url.dropLast()) : url
    }

    // MARK: OAuth (the web application flow)

    /// Where the browser is sent to ask the user's consent.
    public func authorizeURL(clientID: String, redirectURI: String, scopes: String, state: String, codeChallenge: String) -> String {
        var components = URLComponents(string: "\(webURL)/login/oauth/authorize")!
        components.queryItems = [
            URLQueryItem(name: "client_id", value: clientID), URLQueryItem(name: "redirect_uri", value: redirectURI),
            URLQueryItem(name: "scope", value: scopes), URLQueryItem(name: "state", value: state),
            URLQueryItem(name: "code_challenge", value: codeChallenge), URLQueryItem(name: "code_challenge_method", value: "S256"),
            URLQueryItem(name: "allow_signup", value: "true"),
        ]
        return components.string!
    }

    /// Exchanges the callback's code for a user token. GitHub answers 200 with `{"error": …}` for a bad or
    /// expired code, a wrong secret or verifier: that is `refused(status: 400, …)`.
    public func exchange(
        code: String, clientID: String, clientSecret: String, redirectURI: String, codeVerifier: String
    ) async throws(GitHubFailure) -> (token: String, scopes: String) {
        let form = [
            ("client_id", clientID), ("client_secret", clientSecret), ("code", code), ("redirect_uri", redirectURI),
            ("code_verifier", codeVerifier),
        ]
        .map { "\($0.0)=\(FormEncoding.escape($0.1))" }.joined(separator: "&")
        let answer = try await send(
            OutboundRequest(
                method: .POST, url: "\(webURL)/login/oauth/access_token",
                headers: [("Accept", "application/json"), ("Content-Type", "application/x-www-form-urlencoded")], body: Array(form.utf8)))
        struct TokenAnswer: Decodable {
            let accessToken: String?
            let scope: String?
            let error: String?
            let errorDescription: String?
            enum CodingKeys: String, CodingKey {
                case scope, error
                case accessToken = "access_token"
                case errorDescription = "error_description"
            }
        }
        guard let decoded = try? JSONDecoder().decode(TokenAnswer.self, from: Data(answer.body)) else {
            throw .refused(status: answer.status, message: "the token endpoint's answer is not the documented JSON")
        }
        if let error = decoded.error {
            throw .refused(status: 400, message: InputText.sanitized("\(error): \(decoded.errorDescription ?? "")", maxBytes: 300))
        }
        guard let token = decoded.accessToken, !token.isEmpty, InputText.problem(token, maxBytes: 1000) == nil else {
            throw .refused(status: answer.status, message: "the token endpoint's answer holds no access_token")
        }
        return (token, decoded.scope ?? "")
    }

    /// `GET /user`: who the token belongs to.
    public func user(token: String) async throws(GitHubFailure) -> GitHubProfile {
        let answer = try await send(OutboundRequest(method: .GET, url: "\(apiURL)/user", headers: Self.apiHeaders(token: token)))
        struct User: Decodable {
            let id: Int64
            let login: String
        }
        guard let user = try? JSONDecoder().decode(User.self, from: Data(answer.body)), user.id > 0,
            InputText.problem(user.login, maxBytes: 100) == nil, !user.login.isEmpty
        else {
            throw .refused(status: answer.status, message: "GET /user did not answer a user with an id and a login")
        }
        return GitHubProfile(id: user.id, login: user.login)
    }

    // MARK: The API

    static func apiHeaders(token: String) -> [(String, String)] {
        [("Authorization", "Bearer \(token)"), ("Accept", "application/vnd.github+json"), ("X-GitHub-Api-Version", "2022-11-28")]
    }

    /// `POST /graphql` with `query` and `variables`; GraphQL errors in a 200 are `refused` with their messages.
    public func graphQL(query: String, variables: [String: any Sendable], token: String) async throws(GitHubFailure) -> GitHubAnswer {
        let body: Data
        do {
            body = try JSONSerialization.data(withJSONObject: ["query": query, "variables": variables])
        } catch {
            throw .refused(status: 0, message: "cannot encode the query's variables: \(error)")
        }
        let answer = try await send(
            OutboundRequest(
                method: .POST, url: graphQLURL, headers: Self.apiHeaders(token: token) + [("Content-Type", "application/json")],
                body: Array(body)))
        if let object = try? JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any],
            let errors = object["errors"] as? [[String: Any]], !errors.isEmpty
        {
            // GitHub has written the primary limit as `RATE_LIMITED`, and lately as `RATE_LIMIT` with code
            // `graphql_rate_limit`; either way `X-RateLimit-Remaining` is 0.
            let kinds = errors.flatMap { [$0["type"] as? String, $0["code"] as? String].compactMap { $0 } }
            if kinds.contains(where: { ["RATE_LIMITED", "RATE_LIMIT", "graphql_rate_limit"].contains($0) }) || answer.rateLimit?.remaining == 0 {
                throw .rateLimited(until: answer.rateLimit?.resetAt ?? Date().addingTimeInterval(60), secondary: false)
            }
            let messages = errors.compactMap { $0["message"] as? String }.joined(separator: "; ")
            throw .refused(status: answer.status, message: InputText.sanitized("GraphQL: \(messages)", maxBytes: 500))
        }
        return answer
    }

    /// GitHub Enterprise serves GraphQL at `/api/graphql` beside `/api/v3`; github.com at `/graphql`.
    var graphQLURL: String {
        apiURL.hasSuffix("/api/v3") ? String(apiURL.dropLast(2)) + "graphql" : "\(apiURL)/graphql"
    }

    /// `GET` of an API path (`/repos/…`) or of a full `Link` URL GitHub gave.
    public func get(_ pathOrURL: String, token: String) async throws(GitHubFailure) -> GitHubAnswer {
        let url = pathOrURL.hasPrefix("/") ? "\(apiURL)\(pathOrURL)" : pathOrURL
        guard url.hasPrefix(apiURL + "/") else { throw .refused(status: 0, message: "a next page outside the API: \(url)") }
        return try await send(OutboundRequest(method: .GET, url: url, headers: Self.apiHeaders(token: token)))
    }

    /// One request, its answer classified by GitHub's documented statuses and headers.
    func send(_ request: OutboundRequest) async throws(GitHubFailure) -> GitHubAnswer {
        let response: OutboundResponse
        do {
            response = try await http.post(request)
        } catch {
            throw .unavailable(error.description)
        }
        let answer = GitHubAnswer(
            status: response.status, body: response.body, rateLimit: Self.rateLimit(response), nextPage: GitHubLinks.next(response.header("Link")),
            scopes: response.header("X-OAuth-Scopes"))
        if response.truncated { throw .refused(status: response.status, message: "the answer is larger than the hub reads") }
        switch response.status {
        case 200..<300:
            return answer
        case 401:
            throw .badCredentials(Self.message(response))
        case 403, 429:
            if let retryAfter = response.header("Retry-After").flatMap(Int.init) {
                throw .rateLimited(until: Date().addingTimeInterval(Double(min(max(retryAfter, 1), 3600))), secondary: true)
            }
            if let limit = answer.rateLimit, limit.remaining == 0 { throw .rateLimited(until: limit.resetAt, secondary: false) }
            if Self.message(response).lowercased().contains("secondary rate limit") {
                throw .rateLimited(until: Date().addingTimeInterval(60), secondary: true)
            }
            throw .refused(status: response.status, message: Self.message(response))
        case 500...:
            throw .unavailable("\(response.status): \(Self.message(response))")
        default:
            throw .refused(status: response.status, message: Self.message(response))
        }
    }

    static func rateLimit(_ response: OutboundResponse) -> GitHubRateLimit? {
        guard let remaining = response.header("X-RateLimit-Remaining").flatMap(Int.init),
            let reset = response.header("X-RateLimit-Reset").flatMap(Int64.init), (0...4_102_444_800).contains(reset)
        else { return nil }
        return GitHubRateLimit(remaining: remaining, resetAt: Date(timeIntervalSince1970: Double(reset)))
    }

    /// GitHub's `{"message": …}`, or the start of whatever came.
    static func message(_ response: OutboundResponse) -> String {
        struct Message: Decodable { let message: String }
        if let decoded = try? JSONDecoder().decode(Message.self, from: Data(response.body)) {
            return InputText.sanitized(decoded.message, maxBytes: 300)
        }
        return InputText.sanitized(String(decoding: response.body.prefix(300), as: UTF8.self), maxBytes: 300)
    }
}
