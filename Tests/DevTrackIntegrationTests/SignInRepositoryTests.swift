import DevTrackCore
import DevTrackStore
import DevTrackTestSupport
import Foundation
import PostgresNIO
import Testing

/// Linked GitHub accounts, sessions, sign-in states and the sync's leases on real PostgreSQL.
@Suite(.timeLimit(.minutes(2)))
struct SignInRepositoryTests {
    @Test func signingInFindsTheUserByGitHubIDAndFollowsRenames() async throws {
        try await TestDatabase.shared.withFreshStore { store, _ in
            let cli = try await store.users.createUser(login: "octocat", githubID: 583_231, timezone: "Europe/Berlin")
            let (same, created) = try await store.githubAccounts.signIn(
                GitHubProfile(id: 583_231, login: "octocat"), sealedToken: [1], scopes: "read:user")
            #expect(same.id == cli.id && !created, "a user the CLI made with that GitHub id is the same user")
            #expect(same.timezone == "Europe/Berlin")

            let (renamed, _) = try await store.githubAccounts.signIn(GitHubProfile(id: 583_231, login: "octo-renamed"), sealedToken: [2], scopes: "")
            #expect(renamed.id == cli.id && renamed.login == "octo-renamed", "the login follows a rename on GitHub")
            #expect(try await store.githubAccounts.accounts(userID: cli.id).map(\.login) == ["octo-renamed"])

            let (fresh, isNew) = try await store.githubAccounts.signIn(GitHubProfile(id: 1, login: "newcomer"), sealedToken: [3], scopes: "")
            #expect(isNew && fresh.login == "newcomer" && fresh.githubID == 1 && fresh.timezone == "UTC")
        }
    }

    @Test func aLoginHeldByAnotherUserGetsTheGitHubIDAppended() async throws {
        try await TestDatabase.shared.withFreshStore { store, _ in
            let holder = try await store.users.createUser(login: "Mona", githubID: nil, timezone: "UTC")
            let (user, created) = try await store.githubAccounts.signIn(GitHubProfile(id: 77, login: "mona"), sealedToken: [1], scopes: "")
            #expect(created && user.id != holder.id && user.login == "mona-77", "\(user)")
            // A later rename to a free login is followed.
            let (renamed, _) = try await store.githubAccounts.signIn(GitHubProfile(id: 77, login: "mona2"), sealedToken: [1], scopes: "")
            #expect(renamed.login == "mona2")
        }
    }

    @Test func concurrentFirstSignInsOfOneAccountMakeOneUser() async throws {
        try await TestDatabase.shared.withFreshStore { store, _ in
            let ids = try await withThrowingTaskGroup(of: UUID.self) { group in
                for _ in 0..<6 {
                    group.addTask {
                        try await store.githubAccounts.signIn(GitHubProfile(id: 42, login: "racer"), sealedToken: [1], scopes: "").user.id
                    }
                }
                return try await group.reduce(into: Set<UUID>()) { $0.insert($1) }
            }
            #expect(ids.count == 1)
        }
    }

    @Test func anAccountLinksToOneUserOnlyAndCreditsThatUser() async throws {
        try await TestDatabase.shared.withFreshStore { store, _ in
            let user = try await store.users.createUser(login: "dev", githubID: 10, timezone: "UTC")
            let other = try await store.users.createUser(login: "other", githubID: 20, timezone: "UTC")
            let work = try await store.githubAccounts.link(userID: user.id, GitHubProfile(id: 11, login: "dev-at-work"), sealedToken: [1], scopes: "")
            #expect(!work.isPrimary && work.hasToken && work.status == .active)
            for (linker, taken) in [(other.id, GitHubProfile(id: 11, login: "dev-at-work")), (user.id, GitHubProfile(id: 20, login: "other"))] {
                await #expect(throws: StoreError.self, "\(taken.login) is someone else's") {
                    _ = try await store.githubAccounts.link(userID: linker, taken, sealedToken: [1], scopes: "")
                }
            }
            let byID = try await store.githubAccounts.identities(githubIDs: [11], logins: [])
            #expect(Set(byID.map(\.userID)) == [user.id])
            let byLogin = try await store.githubAccounts.identities(githubIDs: [], logins: ["DEV-AT-WORK"])
            #expect(Set(byLogin.map(\.userID)) == [user.id], "a commit's author login credits the linked user")
            let owners = try await store.githubAccounts.identities(ofUsers: [user.id])
            #expect(Set(owners[user.id]?.compactMap(\.githubID) ?? []) == [10, 11])

            #expect(try await store.githubAccounts.unlink(userID: user.id, id: work.id) == .unlinked)
            #expect(try await store.githubAccounts.identities(githubIDs: [11], logins: []).isEmpty)
            let primary = try #require(try await store.githubAccounts.accounts(userID: user.id).first)
            #expect(try await store.githubAccounts.unlink(userID: user.id, id: primary.id) == .primary)
            #expect(try await store.githubAccounts.unlink(userID: other.id, id: primary.id) == .notFound)
        }
    }

    @Test func aSignInStateIsUsedOnceAndOnlyBeforeItExpires() async throws {
        try await TestDatabase.shared.withFreshStore { store, _ in
            let start = OAuthStart(browserHash: "b", verifierSealed: [9, 9], linkUserID: nil, returnTo: "/settings")
            try await store.sessions.startOAuth(stateHash: "s1", start: start, lifetime: .seconds(600))
            #expect(try await store.sessions.consumeOAuth(stateHash: "s1") == start)
            #expect(try await store.sessions.consumeOAuth(stateHash: "s1") == nil, "replayed")
            try await store.sessions.startOAuth(stateHash: "s2", start: start, lifetime: .seconds(-1))
            #expect(try await store.sessions.consumeOAuth(stateHash: "s2") == nil, "expired")
            // Expired rows are cleared by the next start.
            try await store.sessions.startOAuth(stateHash: "s3", start: start, lifetime: .seconds(600))
            let left = try await store.client.query("SELECT count(*) FROM oauth_states WHERE expires_at < now()")
            for try await count in left.decode(Int.self) { #expect(count == 0) }
        }
    }

    @Test func oneAccountIsClaimedByOneSyncProcessAtATime() async throws {
        try await TestDatabase.shared.withFreshStore { store, _ in
            let user = try await store.users.createUser(login: "dev", githubID: nil, timezone: "UTC")
            let account = try await store.githubAccounts.link(userID: user.id, GitHubProfile(id: 5, login: "dev"), sealedToken: [1], scopes: "")
            let claims = try await withThrowingTaskGroup(of: SyncClaim?.self) { group in
                for index in 0..<5 { group.addTask { try await store.githubSync.claimDue(owner: "p\(index)", lease: .seconds(60)) } }
                return try await group.reduce(into: [SyncClaim]()) { if let claim = $1 { $0.append(claim) } }
            }
            #expect(claims.map(\.accountID) == [account.id], "one process got it")
            #expect(try await store.githubSync.claimDue(owner: "late", lease: .seconds(60)) == nil, "leased")
            #expect(
                try await store.githubSync.saveProgress(
                    accountID: account.id, owner: "late", progress: "{}", requests: 1, facts: 1, lease: .seconds(60)) == false)

            // A lease that ran out (its process died) is taken over, with the progress it saved.
            try await store.client.query("UPDATE github_sync_state SET lease_until = now() - interval '1 second', progress = '{\"x\":1}'")
            let resumed = try #require(try await store.githubSync.claimDue(owner: "next", lease: .seconds(60)))
            #expect(resumed.progress?.contains("\"x\"") == true)

            try await store.githubSync.pause(
                accountID: account.id, owner: "next", progress: nil, nextRunAt: Date().addingTimeInterval(3600), error: "limited", requests: 2,
                facts: 3)
            #expect(try await store.githubSync.claimDue(owner: "next", lease: .seconds(60)) == nil, "not due before the reset")
            let status = try #require(try await store.githubSync.status(accountID: account.id))
            #expect(status.lastError == "limited" && status.requests == 2 && status.facts == 3 && !status.running)
        }
    }
}
