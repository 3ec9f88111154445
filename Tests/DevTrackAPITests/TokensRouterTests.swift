import DevTrackCore
import DevTrackTestSupport
import Foundation
import HTTPTypes
import Testing

@testable import DevTrackAPI

/// `TokensController`: a user's API tokens (`/tokens`), and what revoking or expiring one does at once.
@Suite(.timeLimit(.minutes(2)))
struct TokensRouterTests {
    static let routes = [APIRoute(.get, "/api/v1/tokens"), APIRoute(.post, "/api/v1/tokens"), APIRoute(.delete, "/api/v1/tokens/{id}")]

    @Test func everyRouteRequiresAValidBearerToken() async throws {
        try await APIRouterTest.run { api in try await expectEveryRouteRequiresAToken(Self.routes, api) }
    }

    @Test func aNewTokenIsShownOnceWorksAtOnceAndIsListedWithoutItsSecret() async throws {
        try await APIRouterTest.run { api in
            let created = try await api.call(.post, "/api/v1/tokens", #"{"name": "  laptop script ", "expires_in_days": 30}"#)
            #expect(created.status == .created, "\(created)")
            let secret = try #require(created.value("token", as: String.self))
            #expect(secret.hasPrefix("dtk_"))
            #expect(created.value("name", as: String.self) == "laptop script", "the name is trimmed")
            #expect(created.value("expired", as: Bool.self) == false)
            let expiresAt = try #require(created.value("expires_at", as: String.self).flatMap(Timestamps.parse))
            #expect(abs(expiresAt.timeIntervalSinceNow - 30 * 86_400) < 60)

            let me = try await api.call(.get, "/api/v1/me", token: secret)
            #expect(me.status == .ok && me.value("login", as: String.self) == "Codertocat", "the new token signs in: \(me)")

            let list = try await api.call(.get, "/api/v1/tokens")
            let tokens = try #require(list.value("tokens", as: [[String: Any]].self))
            #expect(tokens.count == 2, "the test's own token and the new one: \(list)")
            #expect(tokens.allSatisfy { $0["token"] == nil }, "no secret in a list: \(list)")
            let listed = try #require(tokens.first { $0["id"] as? String == created.value("id", as: String.self) })
            #expect(listed["last_used_at"] is String, "its use was noted: \(listed)")

            let forever = try await api.call(.post, "/api/v1/tokens", #"{"name": "ci"}"#)
            #expect(forever.status == .created && forever.isNull("expires_at"), "\(forever)")
        }
    }

    @Test func aRevokedTokenIsRefusedFromTheNextRequestOn() async throws {
        try await APIRouterTest.run { api in
            let created = try await api.call(.post, "/api/v1/tokens", #"{"name": "gone soon"}"#)
            let (id, secret) = (try #require(created.value("id", as: String.self)), try #require(created.value("token", as: String.self)))
            #expect(try await api.call(.get, "/api/v1/me", token: secret).status == .ok)
            let revoked = try await api.call(.delete, "/api/v1/tokens/\(id)")
            #expect(revoked.status == .noContent, "\(revoked)")
            expectError(try await api.call(.get, "/api/v1/me", token: secret), .unauthorized, "invalid_token", "revoked")
            expectError(try await api.call(.delete, "/api/v1/tokens/\(id)"), .notFound, "not_found", "revoked twice")
            let list = try await api.call(.get, "/api/v1/tokens")
            #expect(list.value("tokens", as: [[String: Any]].self)?.contains { $0["id"] as? String == id } == false, "\(list)")
            #expect(try await api.call(.get, "/api/v1/me").status == .ok, "the other token still works")
        }
    }

    @Test func anExpiredTokenIsRefusedAndShownAsExpired() async throws {
        try await APIRouterTest.run { api in
            let (record, secret) = try await api.store.tokens.createToken(
                userID: api.user.id, name: "old", expiresAt: Date().addingTimeInterval(-1))
            expectError(try await api.call(.get, "/api/v1/me", token: secret), .unauthorized, "invalid_token", "expired")
            let list = try await api.call(.get, "/api/v1/tokens")
            let listed = list.value("tokens", as: [[String: Any]].self)?.first { $0["id"] as? String == record.id.uuidString.lowercased() }
            #expect(listed?["expired"] as? Bool == true, "\(list)")
        }
    }

    @Test func anotherUsersTokenCannotBeRevoked() async throws {
        try await APIRouterTest.run { api in
            let other = try await api.newUser("other")
            let theirs = try await api.call(.post, "/api/v1/tokens", #"{"name": "theirs"}"#, token: other.token)
            let id = try #require(theirs.value("id", as: String.self))
            try await expectNotFound(.delete, "/api/v1/tokens/{id}", othersID: id, in: api)
            #expect(try await api.call(.get, "/api/v1/me", token: other.token).status == .ok, "their token still works")
        }
    }

    @Test func aNewTokenIsRefusedNamingTheFieldThatIsWrong() async throws {
        try await APIRouterTest.run { api in
            for name in ["null", #""""#, #""   ""#, #""\#(String(repeating: "n", count: 101))""#, #""a\u0000""#, #""bell\u0007""#] {
                let request = #"{"name": \#(name)}"#
                expectBadRequest(try await api.call(.post, "/api/v1/tokens", request), "invalid_name", naming: "name", request)
            }
            expectBadRequest(try await api.call(.post, "/api/v1/tokens", "{}"), "invalid_name", naming: "name", "no name")
            for days in ["0", "-1", "3651", "99999999999"] {
                let request = #"{"name": "x", "expires_in_days": \#(days)}"#
                let response = try await api.call(.post, "/api/v1/tokens", request)
                #expect(response.status == .badRequest, "\(request): \(response)")
                #expect(response.errorMessage?.contains("expires_in_days") == true, "\(request): \(response)")
            }
            for (request, field) in [(#"{"name": 5}"#, "name"), (#"{"name": "x", "expires_in_days": "30"}"#, "expires_in_days")] {
                expectBadRequest(try await api.call(.post, "/api/v1/tokens", request), "invalid_body", naming: field, request)
            }
            try await expectMalformedBodiesRefused(.post, "/api/v1/tokens", api)
            try await expectBodyTooLarge(.post, "/api/v1/tokens", api)
            let list = try await api.call(.get, "/api/v1/tokens")
            #expect(list.value("tokens", as: [Any].self)?.count == 1, "nothing refused was stored: \(list)")
        }
    }

    @Test func aUserHasAtMostTheConfiguredNumberOfLiveTokens() async throws {
        try await APIRouterTest.run(configuration: APIRouterTest.configuration()) { api in
            // The router tests allow 5; the test's user holds one already.
            for index in 1...4 { #expect(try await api.call(.post, "/api/v1/tokens", #"{"name": "t\#(index)"}"#).status == .created) }
            let sixth = try await api.call(.post, "/api/v1/tokens", #"{"name": "one too many"}"#)
            expectError(sixth, .conflict, "token_limit_reached")
            let first = try #require(try await api.call(.get, "/api/v1/tokens").value("tokens.0.id", as: String.self))
            #expect(try await api.call(.delete, "/api/v1/tokens/\(first)").status == .noContent)
            #expect(try await api.call(.post, "/api/v1/tokens", #"{"name": "room again"}"#).status == .created)
        }
    }

    /// An open event stream of a token ends within the re-check interval (200 ms here) of its revocation.
    @Test func anOpenStreamEndsSoonAfterItsTokenIsRevoked() async throws {
        try await APIRouterTest.run { api in
            let created = try await api.call(.post, "/api/v1/tokens", #"{"name": "browser"}"#)
            let (id, secret) = (try #require(created.value("id", as: String.self)), try #require(created.value("token", as: String.self)))
            let stream = Task { try await api.call(.get, "/api/v1/stream", token: secret) }
            _ = try await eventually(within: 10, { api.live.subscriptions(of: api.user.id) }, until: { $0 == 1 })
            let revokedAt = ContinuousClock.now
            #expect(try await api.call(.delete, "/api/v1/tokens/\(id)").status == .noContent)
            let ended = try await withThrowingTaskGroup(of: APIResponse?.self) { group in
                group.addTask { try await stream.value }
                group.addTask {
                    try await Task.sleep(for: .seconds(10))
                    return nil
                }
                let first = try await group.next() ?? nil
                group.cancelAll()
                stream.cancel()
                return first
            }
            let response = try #require(ended, "the stream was still open 10 s after its token was revoked")
            #expect(ContinuousClock.now - revokedAt < .seconds(3))
            #expect(response.status == .ok && response.text.hasPrefix("retry: 3000"), "\(response)")
        }
    }
}
