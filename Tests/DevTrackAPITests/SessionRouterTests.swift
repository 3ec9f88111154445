import DevTrackAPI
import DevTrackCore
import DevTrackTestSupport
import Foundation
import HTTPTypes
import NIOCore
import PostgresNIO
import Testing

/// Browser sessions: the session cookie signs in on every `/api/v1` route, state-changing requests need the
/// CSRF token, signing out ends the session; and `/auth/github` says when no OAuth App is configured.
@Suite(.timeLimit(.minutes(2)))
struct SessionRouterTests {
    func cookie(_ session: String, csrf: String? = nil) -> HTTPFields {
        var headers: HTTPFields = [.cookie: "theme=dark; devtrack_session=\(session)"]
        if let csrf { headers[HTTPField.Name("X-CSRF-Token")!] = csrf }
        return headers
    }

    @Test func theSessionCookieSignsInAndChangesNeedTheCSRFToken() async throws {
        try await APIRouterTest.run { api in
            let (session, csrf) = try await api.store.sessions.createSession(userID: api.user.id, lifetime: .seconds(3600))
            let me = try await api.send(.get, "/api/v1/me", authorization: nil, headers: cookie(session))
            #expect(me.status == .ok && me.value("login", as: String.self) == "Codertocat", "\(me)")

            let body = ByteBuffer(string: #"{"name": "from the browser"}"#)
            for token in [nil, "", "wrong", csrf + "x", session] {
                let response = try await api.send(.post, "/api/v1/tokens", body: body, authorization: nil, headers: cookie(session, csrf: token))
                expectError(response, .forbidden, "csrf_token_invalid", "X-CSRF-Token: \(token ?? "(none)")")
            }
            let made = try await api.send(.post, "/api/v1/tokens", body: body, authorization: nil, headers: cookie(session, csrf: csrf))
            #expect(made.status == .created, "\(made)")
            #expect(try await api.call(.get, "/api/v1/tokens").value("tokens", as: [Any].self)?.count == 2, "one token was made, by the right call")
        }
    }

    @Test func anUnknownOrExpiredSessionIsRefused() async throws {
        try await APIRouterTest.run { api in
            let (expired, _) = try await api.store.sessions.createSession(userID: api.user.id, lifetime: .seconds(-1))
            for session in [expired, "dts_unknown", ""] {
                let response = try await api.send(.get, "/api/v1/me", authorization: nil, headers: cookie(session))
                expectError(response, .unauthorized, session.isEmpty ? "unauthorized" : "invalid_session", "session \(session)")
            }
        }
    }

    @Test func aBearerTokenNeedsNoCSRFTokenEvenBesideACookie() async throws {
        try await APIRouterTest.run { api in
            let (session, _) = try await api.store.sessions.createSession(userID: api.user.id, lifetime: .seconds(3600))
            let response = try await api.send(
                .post, "/api/v1/tokens", body: ByteBuffer(string: #"{"name": "script"}"#), authorization: "Bearer \(api.user.token)",
                headers: cookie(session))
            #expect(response.status == .created, "\(response)")
        }
    }

    @Test func signingOutEndsTheSessionAndClearsItsCookies() async throws {
        try await APIRouterTest.run { api in
            let (session, csrf) = try await api.store.sessions.createSession(userID: api.user.id, lifetime: .seconds(3600))
            expectError(
                try await api.send(.post, "/auth/logout", authorization: nil, headers: cookie(session)), .forbidden, "csrf_token_invalid",
                "no other site can sign the user out")
            #expect(try await api.send(.get, "/api/v1/me", authorization: nil, headers: cookie(session)).status == .ok, "still signed in")

            let out = try await api.send(.post, "/auth/logout", authorization: nil, headers: cookie(session, csrf: csrf))
            #expect(out.status == .noContent, "\(out)")
            let cleared = out.headers[values: .setCookie]
            #expect(cleared.contains { $0.hasPrefix("devtrack_session=;") && $0.contains("Max-Age=0") }, "\(cleared)")
            #expect(cleared.contains { $0.hasPrefix("devtrack_csrf=;") && $0.contains("Max-Age=0") }, "\(cleared)")
            expectError(
                try await api.send(.get, "/api/v1/me", authorization: nil, headers: cookie(session)), .unauthorized, "invalid_session", "ended")
            #expect(try await api.send(.post, "/auth/logout", authorization: nil).status == .noContent, "nothing to end is fine")
        }
    }

    /// The cookies of a `Set-Cookie` list by name: (value, attributes).
    func cookies(_ response: APIResponse) -> [String: (value: String, attributes: [String])] {
        var found: [String: (value: String, attributes: [String])] = [:]
        for header in response.headers[values: .setCookie] {
            let parts = header.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let pair = parts.first, let equals = pair.firstIndex(of: "=") else { continue }
            found[String(pair[..<equals])] = (String(pair[pair.index(after: equals)...]), Array(parts.dropFirst()))
        }
        return found
    }

    /// The redirect of a link that signs nobody in: to the sign-in page, which says why, and no cookie.
    func expectLinkRefused(_ response: APIResponse, _ comment: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(response.status == .seeOther, "\(comment) → \(response)", sourceLocation: sourceLocation)
        #expect(
            response.headers[.location] == "/sign-in?error=sign_in_link_invalid", "\(comment) → \(response.headers)", sourceLocation: sourceLocation)
        #expect(response.headers[values: .setCookie].isEmpty, "\(comment): no cookie → \(response.headers)", sourceLocation: sourceLocation)
        #expect(response.headers[.cacheControl] == "no-store", "\(comment)", sourceLocation: sourceLocation)
        #expect(response.body.isEmpty, "\(comment) → \(response)", sourceLocation: sourceLocation)
    }

    @Test func aSignInLinkStartsASessionOnce() async throws {
        try await APIRouterTest.run { api in
            let link = try await api.store.sessions.createSignInLink(userID: api.user.id, lifetime: .seconds(600))
            #expect(link.wholeMatch(of: /[A-Za-z0-9_-]{43}/) != nil, "32 random bytes, URL-safe base64: \(link)")
            // A wrong token is refused and does not use the link up.
            expectLinkRefused(try await api.send(.get, "/auth/link/\(link)x", authorization: nil), "the link and one more character")
            expectLinkRefused(try await api.send(.get, "/auth/link/\(link.dropLast())", authorization: nil), "the link without its last character")

            let response = try await api.send(.get, "/auth/link/\(link)", authorization: nil)
            #expect(response.status == .seeOther, "\(response)")
            #expect(response.headers[.location] == "/", "\(response.headers)")
            #expect(response.headers[.cacheControl] == "no-store", "\(response.headers)")
            #expect(response.headers[HTTPField.Name("Referrer-Policy")!] == "no-referrer", "\(response.headers)")
            #expect(response.headers[values: .setCookie].count == 2, "\(response.headers)")
            let set = cookies(response)
            let session = try #require(set["devtrack_session"], "\(response.headers)")
            #expect(session.value.wholeMatch(of: /dts_[0-9a-f]{64}/) != nil, "\(session.value)")
            #expect(session.attributes == ["Path=/", "Max-Age=3600", "SameSite=Lax", "HttpOnly"], "\(session.attributes)")
            let csrf = try #require(set["devtrack_csrf"], "\(response.headers)")
            #expect(csrf.value.wholeMatch(of: /[0-9a-f]{64}/) != nil, "\(csrf.value)")
            #expect(csrf.attributes == ["Path=/", "Max-Age=3600", "SameSite=Strict"], "readable by the pages: \(csrf.attributes)")

            // The session works like one from GitHub's callback: reads, and changes with its CSRF token.
            let me = try await api.send(.get, "/api/v1/me", authorization: nil, headers: cookie(session.value))
            #expect(me.status == .ok && me.value("login", as: String.self) == "Codertocat", "\(me)")
            let made = try await api.send(
                .post, "/api/v1/tokens", body: ByteBuffer(string: #"{"name": "from the link"}"#), authorization: nil,
                headers: cookie(session.value, csrf: csrf.value))
            #expect(made.status == .created, "\(made)")

            // Once only: the same link again signs nobody in, and the session it started stays.
            expectLinkRefused(try await api.send(.get, "/auth/link/\(link)", authorization: nil), "the link a second time")
            expectLinkRefused(
                try await api.send(.get, "/auth/link/\(link)", authorization: nil, headers: cookie(session.value)),
                "again, from the signed-in browser")
            #expect(try await api.send(.get, "/api/v1/me", authorization: nil, headers: cookie(session.value)).status == .ok)
        }
    }

    @Test func aSignInLinkSignsInItsOwnUser() async throws {
        try await APIRouterTest.run { api in
            let other = try await api.newUser("other")
            let theirs = try await api.store.sessions.createSignInLink(userID: other.id, lifetime: .seconds(600))
            let mine = try await api.store.sessions.createSignInLink(userID: api.user.id, lifetime: .seconds(600))
            for (link, login) in [(theirs, "other"), (mine, "Codertocat")] {
                let response = try await api.send(.get, "/auth/link/\(link)", authorization: nil)
                let session = try #require(cookies(response)["devtrack_session"], "\(response.headers)")
                let me = try await api.send(.get, "/api/v1/me", authorization: nil, headers: cookie(session.value))
                #expect(me.value("login", as: String.self) == login, "\(me)")
            }
        }
    }

    @Test func anExpiredUnknownOrMalformedSignInLinkSignsNobodyIn() async throws {
        try await APIRouterTest.run { api in
            let valid = try await api.store.sessions.createSignInLink(userID: api.user.id, lifetime: .seconds(600))
            let expired = try await api.store.sessions.createSignInLink(userID: api.user.id, lifetime: .seconds(600))
            try await api.store.client.query(
                "UPDATE sign_in_links SET expires_at = now() - interval '1 second' WHERE token_hash = \(Credentials.hash(expired))")
            expectLinkRefused(try await api.send(.get, "/auth/link/\(expired)", authorization: nil), "an expired link")
            let brief = try await api.store.sessions.createSignInLink(userID: api.user.id, lifetime: .seconds(1))
            try await Task.sleep(for: .milliseconds(1_100))
            expectLinkRefused(try await api.send(.get, "/auth/link/\(brief)", authorization: nil), "a link of one second, after it")

            for token in [
                "dts_unknown", String(repeating: "a", count: 300), String(repeating: "é", count: 150), String(repeating: "a", count: 201),
                "abc\u{1}def", "abc\u{7F}", "abc%00def", "abc%0Adef", "%7F", "%C2%85", "%2e%2e", "..%2F..%2Fapi%2Fv1%2Fme", "'%20OR%201%3D1--",
            ] {
                expectLinkRefused(try await api.send(.get, "/auth/link/\(token)", authorization: nil), "token \(token.debugDescription.prefix(40))")
            }
            // A token that is a session cookie, or the user's API token, is not a link.
            let (session, _) = try await api.store.sessions.createSession(userID: api.user.id, lifetime: .seconds(3600))
            for token in [session, api.user.token] {
                expectLinkRefused(try await api.send(.get, "/auth/link/\(token)", authorization: nil), "another credential")
            }
            // Nothing refused used up the user's live link.
            let response = try await api.send(.get, "/auth/link/\(valid)", authorization: nil)
            #expect(response.status == .seeOther && response.headers[.location] == "/", "\(response.headers)")
            #expect(cookies(response)["devtrack_session"] != nil, "\(response.headers)")
        }
    }

    /// Each start writes a one-time state before anyone is known: an address gets `api.sign_in_requests_per_minute`.
    @Test func startsOfASignInAreLimitedPerAddress() async throws {
        let app = GitHubOAuthApp(
            clientID: "Iv1.bench", clientSecret: "secret", webURL: "http://127.0.0.1:1", apiURL: "http://127.0.0.1:1", scopes: "read:user")
        let configuration = APIRouterTest.configuration(github: app)
        try await APIRouterTest.run(
            configuration: configuration, rateLimits: PublicRateLimits(profileRequests: 1, imageRequests: 60, signInRequests: 2)
        ) { api in
            // The window is fixed (a minute from the epoch): start well inside one.
            let into = Date().timeIntervalSince1970.truncatingRemainder(dividingBy: 60)
            if into > 50 { try await Task.sleep(for: .seconds(61 - into)) }
            for _ in 0..<2 {
                let started = try await api.send(.get, "/auth/github", authorization: nil)
                #expect(
                    started.status == .found && started.headers[.location]?.hasPrefix("http://127.0.0.1:1/login/oauth/authorize") == true,
                    "\(started)")
            }
            let refused = try await api.send(.get, "/auth/github?return_to=/settings", authorization: nil)
            expectError(refused, .tooManyRequests, "rate_limited", "third start")
            let retryAfter = try #require(refused.headers[.retryAfter].flatMap { Int($0) }, "\(refused.headers)")
            #expect((1...60).contains(retryAfter) && refused.headers[.setCookie] == nil, "\(refused.headers)")
            let profile = try await api.open("/api/v1/public/Codertocat")
            #expect(profile.status != .tooManyRequests, "sign-ins have an allowance of their own: \(profile)")
        }
    }

    @Test func signInSaysSoWhenNoOAuthAppIsConfigured() async throws {
        try await APIRouterTest.run { api in
            for path in ["/auth/github", "/auth/github/callback?code=x&state=y"] {
                let response = try await api.send(.get, path, authorization: nil)
                expectError(response, .serviceUnavailable, "sign_in_not_configured", path)
                #expect(response.errorMessage?.contains("DEVTRACK_GITHUB_CLIENT_ID") == true, "\(response)")
            }
        }
    }
}
