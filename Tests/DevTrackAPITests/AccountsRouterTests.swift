import DevTrackCore
import DevTrackTestSupport
import Foundation
import Testing

/// `AccountsController`: the GitHub accounts credited to a user (`/accounts`).
@Suite(.timeLimit(.minutes(2)))
struct AccountsRouterTests {
    static let routes = [
        APIRoute(.get, "/api/v1/accounts"), APIRoute(.delete, "/api/v1/accounts/{id}"), APIRoute(.get, "/api/v1/accounts/{id}/sync"),
    ]

    @Test func everyRouteRequiresAValidBearerToken() async throws {
        try await APIRouterTest.run { api in try await expectEveryRouteRequiresAToken(Self.routes, api) }
    }

    @Test func linkedAccountsAreListedAndOnlyLaterOnesCanBeUnlinked() async throws {
        try await APIRouterTest.run { api in
            let linked = try await api.store.githubAccounts.link(
                userID: api.user.id, GitHubProfile(id: 583_231, login: "octocat"), sealedToken: [1, 2, 3], scopes: "read:user")
            let list = try await api.call(.get, "/api/v1/accounts")
            let accounts = try #require(list.value("accounts", as: [[String: Any]].self), "\(list)")
            #expect(accounts.map { $0["login"] as? String } == ["Codertocat", "octocat"], "sign-up account first: \(list)")
            #expect(accounts.map { $0["primary"] as? Bool } == [true, false])
            #expect(accounts.map { $0["status"] as? String } == ["no_token", "active"], "the CLI-made account has no token: \(list)")
            #expect(accounts[1]["github_id"] as? Int == 583_231)
            #expect(accounts[1]["scopes"] as? [String] == ["read:user"])
            #expect(!list.text.contains("sealed") && !list.text.contains("token_"), "no token material: \(list)")

            let primary = try #require(accounts[0]["id"] as? String)
            let unsynced = try await api.call(.get, "/api/v1/accounts/\(primary)/sync")
            #expect(unsynced.value("state", as: String.self) == "no_token" && unsynced.isNull("covered"), "\(unsynced)")
            let due = try await api.call(.get, "/api/v1/accounts/\(linked.id.uuidString.lowercased())/sync")
            #expect(due.value("state", as: String.self) == "idle" && due.value("next_run_at", as: String.self) != nil, "due at once: \(due)")
            expectError(try await api.call(.delete, "/api/v1/accounts/\(primary)"), .conflict, "primary_account")
            #expect(try await api.call(.delete, "/api/v1/accounts/\(linked.id.uuidString.lowercased())").status == .noContent)
            #expect(try await api.call(.get, "/api/v1/accounts").value("accounts", as: [Any].self)?.count == 1)
        }
    }

    @Test func anotherUsersAccountIsNotFound() async throws {
        try await APIRouterTest.run { api in
            let other = try await api.newUser("other")
            let theirs = try await api.store.githubAccounts.link(
                userID: other.id, GitHubProfile(id: 9, login: "theirs"), sealedToken: [1], scopes: "")
            try await expectNotFound(.delete, "/api/v1/accounts/{id}", othersID: theirs.id.uuidString.lowercased(), in: api)
            try await expectNotFound(.get, "/api/v1/accounts/{id}/sync", othersID: theirs.id.uuidString.lowercased(), in: api)
            #expect(try await api.store.githubAccounts.accounts(userID: other.id).count == 1, "still theirs")
        }
    }
}
