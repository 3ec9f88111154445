import DevTrackCore
import DevTrackTestSupport
import Foundation
import HTTPTypes
import Testing

/// `MeController`'s `DELETE /me`: only with the login typed again, and then the account and its credentials are gone.
@Suite(.timeLimit(.minutes(2)))
struct MeRouterTests {
    @Test func deletingNeedsAValidTokenAndTheLoginTypedAgain() async throws {
        try await APIRouterTest.run { api in
            try await expectEveryRouteRequiresAToken([APIRoute(.delete, "/api/v1/me")], api)
            for body in [#"{}"#, #"{"confirm_login": ""}"#, #"{"confirm_login": "Codertocat2"}"#, #"{"confirm_login": 7}"#] {
                let refused = try await api.call(.delete, "/api/v1/me", body)
                #expect(refused.status == .badRequest, "\(body): \(refused)")
            }
            expectError(
                try await api.call(.delete, "/api/v1/me", #"{"confirm_login": "someone"}"#), .badRequest, "confirmation_mismatch",
                naming: "confirm_login")
            expectError(try await api.call(.delete, "/api/v1/me", "not json"), .badRequest, "invalid_body")
            #expect(try await api.call(.get, "/api/v1/me").status == .ok, "still there")
        }
    }

    @Test func aDeletedAccountsTokensAndSessionStopAtOnceAndItsCookiesAreCleared() async throws {
        try await APIRouterTest.run { api in
            let other = try await api.newUser("stays")
            let session = try await api.store.sessions.createSession(userID: api.user.id, lifetime: .seconds(600))
            let deleted = try await api.call(.delete, "/api/v1/me", #"{"confirm_login": "CODERTOCAT"}"#)
            #expect(deleted.status == .ok, "the login's case does not matter: \(deleted)")
            #expect(deleted.value("login", as: String.self) == "Codertocat")
            #expect(deleted.value("user_id", as: String.self) == api.user.id.uuidString.lowercased())
            let cleared = deleted.headers[values: .setCookie]
            #expect(cleared.count == 2 && cleared.allSatisfy { $0.contains("Max-Age=0") }, "\(cleared)")
            expectError(try await api.call(.get, "/api/v1/me"), .unauthorized, "invalid_token", "the token went with the account")
            let cookie: HTTPFields = [.cookie: "devtrack_session=\(session.cookie)"]
            #expect(try await api.send(.get, "/api/v1/me", authorization: nil, headers: cookie).status == .unauthorized, "and the session")
            #expect(try await api.call(.get, "/api/v1/me", token: other.token).status == .ok, "another user is untouched")
        }
    }
}
