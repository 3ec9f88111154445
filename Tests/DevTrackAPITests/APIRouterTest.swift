import DevTrackAPI
import DevTrackCore
import DevTrackHTTP
import DevTrackStore
import DevTrackTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

/// The query API's router as `devtrack api` assembles it (`Roles.api`: JSON errors, `APIRoutes`, 405 for known
/// paths), served in process by HummingbirdTesting on a fresh PostgreSQL database, with a signed-in user.
/// `GET /api/v1/stream` is not exercised here (its `LiveEventsHub` is never run); it is covered end to end.
struct APIRouterTest: Sendable {
    let client: any TestClientProtocol
    let store: TestStore
    /// The live-event streams of `GET /api/v1/stream` (never run here: no PostgreSQL notifications reach it).
    let live: LiveEventsHub
    /// Who every call is made as, unless it names another token.
    let user: APIUser

    /// Where sources say ingest is. Nothing listens on port 1: a test send is refused at once, without leaving the machine.
    static let ingestURL = "http://127.0.0.1:1"

    static func configuration(
        allowHosts: Set<String> = [], maxWebhooksPerUser: Int = 5, github: GitHubOAuthApp? = nil, codingTimeout: Duration = .seconds(900)
    ) -> APIConfiguration {
        APIConfiguration(
            publicIngestURL: ingestURL, maxRangeDays: 366, secretRotationGrace: .seconds(24 * 3600), codingTimeout: codingTimeout,
            streakFreezesPerMonth: 2, outboundAllowHosts: allowHosts, profileURLTemplate: nil, maxWebhooksPerUser: maxWebhooksPerUser,
            maxTokensPerUser: 5, streamRecheckInterval: .milliseconds(200),
            signIn: SignInConfiguration(
                publicURL: "http://127.0.0.1:8081", sessionLifetime: .seconds(3600), stateLifetime: .seconds(600), github: github),
            publicCacheLifetime: .seconds(60))
    }

    static func run(
        configuration: APIConfiguration = configuration(), rateLimits: PublicRateLimits = PublicRateLimits(profileRequests: 60, imageRequests: 3_000),
        _ body: @escaping @Sendable (APIRouterTest) async throws -> Void
    ) async throws {
        try await TestDatabase.shared.withFreshStore { store, _ in
            let router = Router(context: APIRequestContext.self)
            router.middlewares.add(JSONErrorMiddleware())
            let live = LiveEventsHub(database: store.database, logger: Logger(label: "api-router-tests"))
            let limiter = PublicRateLimiter(
                limits: rateLimits, windows: RequestWindowRepository(store.database), logger: Logger(label: "api-router-tests"))
            try APIRoutes(
                database: store.database, secretBox: try SecretBox(base64Key: SecretBox.newBase64Key()), configuration: configuration,
                live: live, rateLimiter: limiter
            ).addRoutes(to: router)
            router.addMethodNotAllowed()
            let user = try await APIUser.create(in: store, login: "Codertocat", githubID: 21_031_067)
            try await Application(router: router).test(.router) { client in
                try await body(APIRouterTest(client: client, store: store, live: live, user: user))
            }
        }
    }

    /// Another user of the same hub, with a token of their own.
    func newUser(_ login: String, timezone: String = "UTC") async throws -> APIUser {
        try await APIUser.create(in: store, login: login, githubID: nil, timezone: timezone)
    }

    /// A call signed in as `token` (the test's user by default) with a JSON body.
    func call(_ method: HTTPRequest.Method, _ path: String, _ json: String? = nil, token: String? = nil) async throws -> APIResponse {
        try await send(method, path, body: json.map { ByteBuffer(string: $0) }, authorization: "Bearer \(token ?? user.token)")
    }

    /// A call with exactly this `Authorization` header (none when nil), body and further headers (a `Cookie`).
    func send(
        _ method: HTTPRequest.Method, _ path: String, body: ByteBuffer? = nil, authorization: String?, headers extra: HTTPFields = [:]
    ) async throws -> APIResponse {
        var headers = extra
        if let authorization { headers[.authorization] = authorization }
        if body != nil { headers[.contentType] = "application/json" }
        let response = try await client.execute(uri: path, method: method, headers: headers, body: body)
        return APIResponse(status: response.status, headers: response.headers, body: Data(buffer: response.body))
    }

    /// `GET path` without any credential, with `headers` (what a visitor's browser or GitHub's image proxy sends).
    func open(_ path: String, headers: HTTPFields = [:]) async throws -> APIResponse {
        try await send(.get, path, authorization: nil, headers: headers)
    }

    /// Today in UTC, the zone of the test's user.
    static var today: LocalDate { LocalDate(Date(), in: .gmt) }
}

struct APIUser: Sendable {
    let record: UserRecord
    let token: String
    var id: UUID { record.id }

    static func create(in store: TestStore, login: String, githubID: Int64?, timezone: String = "UTC") async throws -> APIUser {
        let record = try await store.users.createUser(login: login, githubID: githubID, timezone: timezone)
        return APIUser(record: record, token: try await store.tokens.createToken(userID: record.id, name: "test").1)
    }
}

/// What a client sees: the status, the headers and the body (JSON, read on demand).
struct APIResponse: Sendable, CustomStringConvertible {
    let status: HTTPResponse.Status
    let headers: HTTPFields
    let body: Data

    var text: String { String(decoding: body, as: UTF8.self) }
    var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] }
    var error: [String: Any]? { json?["error"] as? [String: Any] }
    var errorCode: String? { error?["code"] as? String }
    var errorMessage: String? { error?["message"] as? String }
    var description: String { "\(status.code) \(text.prefix(600))" }

    /// `key`'s value as `T`, also when it is nested in objects (`"days.0.date"` reads arrays by index).
    func value<T>(_ path: String, as type: T.Type = T.self) -> T? {
        var current: Any? = json
        for part in path.split(separator: ".") {
            if let index = Int(part), let array = current as? [Any] {
                current = array.indices.contains(index) ? array[index] : nil
            } else {
                current = (current as? [String: Any])?[String(part)]
            }
        }
        return current as? T
    }

    /// Whether `key` is present with JSON `null`.
    func isNull(_ path: String) -> Bool {
        let parts = path.split(separator: ".")
        guard let last = parts.last else { return false }
        let parent = parts.count == 1 ? json : value(parts.dropLast().joined(separator: "."), as: [String: Any].self)
        return parent?[String(last)] is NSNull
    }

    /// The keys of the top-level object (or of the object at `path`).
    func keys(_ path: String? = nil) -> Set<String> {
        let object = path == nil ? json : value(path ?? "", as: [String: Any].self)
        return Set(object?.keys.map { $0 } ?? [])
    }
}

/// A route of the API, as a request line.
struct APIRoute: Sendable, CustomStringConvertible {
    let method: HTTPRequest.Method
    let path: String
    init(_ method: HTTPRequest.Method, _ path: String) {
        self.method = method
        self.path = path
    }
    var description: String { "\(method) \(path)" }
}

/// The documented error: `status`, `{"error": {"code": code, …}}`, and (when given) a message naming `field`.
func expectError(
    _ response: APIResponse, _ status: HTTPResponse.Status, _ code: String, naming field: String? = nil, _ comment: String = "",
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(response.status == status, "\(comment) → \(response)", sourceLocation: sourceLocation)
    #expect(response.errorCode == code, "\(comment) → \(response)", sourceLocation: sourceLocation)
    #expect(response.headers[.contentType]?.hasPrefix("application/json") == true, "\(comment)", sourceLocation: sourceLocation)
    if let field {
        #expect(
            response.errorMessage?.contains(field) == true, "\(comment): the message names \(field) → \(response)", sourceLocation: sourceLocation)
    }
}

/// A 400 with `code` whose message names `field`.
func expectBadRequest(
    _ response: APIResponse, _ code: String, naming field: String? = nil, _ comment: String = "", sourceLocation: SourceLocation = #_sourceLocation
) {
    expectError(response, .badRequest, code, naming: field, comment, sourceLocation: sourceLocation)
}

/// Every route refuses a request without a usable bearer token with 401 before its handler (or the body) is
/// read: no header, another scheme, a scheme with no token (`unauthorized`), an unknown token (`invalid_token`).
func expectEveryRouteRequiresAToken(_ routes: [APIRoute], _ api: APIRouterTest, sourceLocation: SourceLocation = #_sourceLocation) async throws {
    let body = ByteBuffer(string: #"{"name": "x"}"#)
    for route in routes {
        let path = route.path.replacingOccurrences(of: "{id}", with: UUID().uuidString.lowercased())
        for (authorization, code) in [
            (nil, "unauthorized"), ("Basic \(Data("user:\(api.user.token)".utf8).base64EncodedString())", "unauthorized"),
            ("Token \(api.user.token)", "unauthorized"), ("Bearer", "unauthorized"), (api.user.token, "unauthorized"),
            ("Bearer dtk_not-a-token", "invalid_token"), ("Bearer \(api.user.token)x", "invalid_token"),
        ] as [(String?, String)] {
            let response = try await api.send(route.method, path, body: body, authorization: authorization)
            expectError(response, .unauthorized, code, "\(route) with Authorization: \(authorization ?? "(none)")", sourceLocation: sourceLocation)
        }
        // A body over the 1 MB limit is not read first: the token is checked before anything else.
        let large = try await api.send(route.method, path, body: ByteBuffer(repeating: UInt8(ascii: " "), count: 1 << 21), authorization: nil)
        expectError(large, .unauthorized, "unauthorized", "\(route) without a token and with a 2 MB body", sourceLocation: sourceLocation)
    }
}

/// `path` (with `{id}`) is a 404 `not_found` for another user's resource, an unknown id and ids that are not UUIDs.
func expectNotFound(
    _ method: HTTPRequest.Method, _ path: String, othersID: String, body json: String? = nil, in api: APIRouterTest,
    sourceLocation: SourceLocation = #_sourceLocation
) async throws {
    for id in [othersID, othersID.uppercased(), UUID().uuidString.lowercased(), "not-a-uuid", "42", "%27%20OR%201%3D1"] {
        let response = try await api.call(method, path.replacingOccurrences(of: "{id}", with: id), json)
        expectError(response, .notFound, "not_found", "\(method) \(path) with id \(id)", sourceLocation: sourceLocation)
    }
}

/// A body over 1 MiB is 413 `payload_too_large` (the body is valid JSON apart from its size); one of exactly 1 MiB is read.
func expectBodyTooLarge(
    _ method: HTTPRequest.Method, _ path: String, _ api: APIRouterTest, sourceLocation: SourceLocation = #_sourceLocation
) async throws {
    func body(bytes: Int) -> ByteBuffer {
        let (prefix, suffix) = (#"{"name": ""#, #""}"#)
        return ByteBuffer(string: prefix + String(repeating: "a", count: bytes - prefix.utf8.count - suffix.utf8.count) + suffix)
    }
    let authorization = "Bearer \(api.user.token)"
    let over = try await api.send(method, path, body: body(bytes: (1 << 20) + 1), authorization: authorization)
    expectError(over, .contentTooLarge, "payload_too_large", "\(method) \(path) with a body of 1 MiB + 1 byte", sourceLocation: sourceLocation)
    let exact = try await api.send(method, path, body: body(bytes: 1 << 20), authorization: authorization)
    #expect(exact.status != .contentTooLarge && exact.status != .internalServerError, "1 MiB exactly → \(exact)", sourceLocation: sourceLocation)
}

/// Bodies that are not a JSON object, or not JSON at all: 400 `invalid_body`.
func expectMalformedBodiesRefused(
    _ method: HTTPRequest.Method, _ path: String, _ api: APIRouterTest, sourceLocation: SourceLocation = #_sourceLocation
) async throws {
    for body in ["", "not json", "{", #"{"name" "x"}"#, "{'name': 'x'}", "[]", "[{}]", "42", #""text""#, "null"] {
        let response = try await api.call(method, path, body)
        expectBadRequest(response, "invalid_body", "\(method) \(path) with body \(body)", sourceLocation: sourceLocation)
        #expect(response.errorMessage?.hasPrefix("invalid JSON body") == true, "\(response)", sourceLocation: sourceLocation)
    }
}

/// The query parameters of a date range (`from`, `to`): every refusal the API documents, and its limits.
func expectDateRangeValidated(_ path: String, _ api: APIRouterTest, sourceLocation: SourceLocation = #_sourceLocation) async throws {
    let today = APIRouterTest.today
    for (query, field) in [
        ("from=2024-13-01", "from"), ("from=2024-02-30", "from"), ("to=2024-1-1", "to"), ("from=", "from"), ("to=today", "to"),
        ("from=0000-01-01", "from"), ("from=0001-01-01", "from"), ("from=1969-12-31&to=1970-01-01", "from"), ("to=0000-12-31", "to"),
        ("to=10000-01-01", "to"), ("from=2024-01-01T00:00:00Z", "from"), ("from=2024-01-01%27--", "from"), ("to=%00", "to"),
    ] {
        let response = try await api.call(.get, "\(path)?\(query)")
        expectBadRequest(response, "invalid_date", naming: field, "GET \(path)?\(query)", sourceLocation: sourceLocation)
    }
    for (query, field) in [
        ("from=2024-03-02&to=2024-03-01", "from"), ("from=2024-01-01&to=2025-01-01", "366"), ("from=1970-01-01&to=9999-12-31", "366"),
        ("from=\(today.adding(days: -366))", "366"),
    ] {
        let response = try await api.call(.get, "\(path)?\(query)")
        expectBadRequest(response, "invalid_range", naming: field, "GET \(path)?\(query)", sourceLocation: sourceLocation)
    }
    // The limits themselves are served: one day, 366 days, the first and the last years.
    for query in [
        "from=2024-03-01&to=2024-03-01", "from=2024-01-01&to=2024-12-31", "from=1970-01-01&to=1970-01-31", "from=9999-01-01&to=9999-12-31",
        "to=2001-01-01", "from=\(today.adding(days: -365))",
    ] {
        let response = try await api.call(.get, "\(path)?\(query)")
        #expect(response.status == .ok, "GET \(path)?\(query) → \(response)", sourceLocation: sourceLocation)
    }
}
