import DevTrackCore
import DevTrackTestSupport
import Foundation
import HTTPTypes
import NIOCore
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
