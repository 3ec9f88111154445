import DevTrackCore
import DevTrackGitHub
import DevTrackOutbound
import DevTrackTestSupport
import Foundation
import Testing

/// The fake GitHub through the hub's `GitHubClient`: the OAuth web flow with PKCE, `/user`, bad credentials, the
/// primary and secondary rate limits, the GraphQL refusals and the REST commits listing's paging.
@Suite(.timeLimit(.minutes(1)))
struct FakeGitHubTests {
    typealias GitHub = FakeGitHub

    static let callback = "http://127.0.0.1:9/auth/github/callback"
    /// RFC 7636's example verifier (appendix B).
    static let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    static let from = Date(timeIntervalSince1970: 1_735_689_600)  // 2025-01-01T00:00:00Z
    /// A browser: it does not follow redirects.
    let browser = try! OutboundHTTPClient(allowList: ["127.0.0.1"])

    func newGitHub(history: GitHub.History = GitHub.History()) -> (GitHub, token: String) {
        let github = GitHub(clientID: "Iv1.fake", clientSecret: "fake-secret")
        let token = github.addUser(id: 583_231, login: "octocat", history: history)
        github.consentingUser = 583_231
        return (github, token)
    }

    /// The browser's visit to the authorize page: the redirect's `Location`.
    func authorize(_ client: GitHubClient, clientID: String = "Iv1.fake", verifier: String = Self.verifier) async throws -> String {
        let url = client.authorizeURL(
            clientID: clientID, redirectURI: Self.callback, scopes: "read:user repo", state: "st4te",
            codeChallenge: Base64URL.pkceChallenge(of: verifier))
        let response = try await browser.post(OutboundRequest(method: .GET, url: url))
        #expect(response.status == 302, "\(String(decoding: response.body, as: UTF8.self))")
        return try #require(response.header("Location"))
    }

    func authorizationCode(_ client: GitHubClient) async throws -> String {
        let location = try await authorize(client)
        let items = URLComponents(string: location)?.queryItems ?? []
        #expect(location.hasPrefix(Self.callback + "?"))
        #expect(items.first { $0.name == "state" }?.value == "st4te")
        return try #require(items.first { $0.name == "code" }?.value)
    }

    func exchange(
        _ client: GitHubClient, _ code: String, secret: String = "fake-secret", redirectURI: String = Self.callback,
        verifier: String = Self.verifier
    ) async throws(GitHubFailure) -> (token: String, scopes: String) {
        try await client.exchange(code: code, clientID: "Iv1.fake", clientSecret: secret, redirectURI: redirectURI, codeVerifier: verifier)
    }

    /// The `GitHubFailure` of `call`, nil when it succeeds (closures' typed throws are not inferred yet).
    func failure<T>(_ call: () async throws -> T) async -> GitHubFailure? {
        do {
            _ = try await call()
            return nil
        } catch {
            return error as? GitHubFailure ?? .unavailable("not a GitHubFailure: \(error)")
        }
    }

    static let variables: [String: any Sendable] = ["from": Timestamps.format(from), "to": Timestamps.format(from.addingTimeInterval(86_400))]

    @Test func oauthWithPKCEIssuesTheUsersTokenForACodeUsedOnce() async throws {
        let (github, token) = newGitHub()
        #expect(token.wholeMatch(of: /gho_[A-Za-z0-9]{36}/) != nil)
        #expect(Base64URL.pkceChallenge(of: Self.verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "RFC 7636, appendix B")
        try await github.serving { base in
            let client = try GitHubClient(webURL: base, apiURL: base)
            let code = try await authorizationCode(client)
            #expect(code.wholeMatch(of: /[0-9a-f]{20}/) != nil)
            let issued = try await exchange(client, code)
            #expect(issued.token == token)
            #expect(issued.scopes == "read:user,repo")
            let profile = try await client.user(token: issued.token)
            #expect(profile == GitHubProfile(id: 583_231, login: "octocat"))
            let answer = try await client.get("/user", token: issued.token)
            #expect(answer.scopes == "read:user, repo")
            #expect(answer.rateLimit?.remaining == 4_998)
            let badCode = GitHubFailure.refused(status: 400, message: "bad_verification_code: The code passed is incorrect or expired.")
            #expect(await failure { try await exchange(client, code) } == badCode, "a code works once")
        }
        #expect(github.count(.oauth) == 3)
        #expect(github.count(.user) == 2)
        #expect(github.requests.first?.target.hasPrefix("/login/oauth/authorize?client_id=Iv1.fake&") == true)
        #expect(github.requests.map(\.method) == ["GET", "POST", "GET", "GET", "POST"])
        #expect(github.requests.map(\.status) == [302, 200, 200, 200, 200], "the token endpoint answers its errors with a 200")
    }

    @Test func oauthRefusesAWrongVerifierSecretRedirectClientOrConsent() async throws {
        let (github, _) = newGitHub()
        try await github.serving { base in
            let client = try GitHubClient(webURL: base, apiURL: base)
            let badCode = GitHubFailure.refused(status: 400, message: "bad_verification_code: The code passed is incorrect or expired.")
            let code = try await authorizationCode(client)
            #expect(await failure { try await exchange(client, code, verifier: "another-verifier-of-forty-three-characters-") } == badCode)
            #expect(await failure { try await exchange(client, code) } == badCode, "the code is gone after a failed verifier")

            let (second, third) = (try await authorizationCode(client), try await authorizationCode(client))
            let credentials = "incorrect_client_credentials: The client_id and/or client_secret passed are incorrect."
            #expect(await failure { try await exchange(client, second, secret: "wrong") } == .refused(status: 400, message: credentials))
            let mismatch = "redirect_uri_mismatch: The redirect_uri MUST match the registered callback URL for this application."
            #expect(
                await failure { try await exchange(client, third, redirectURI: "http://127.0.0.1:9/elsewhere") }
                    == .refused(status: 400, message: mismatch))

            let url = client.authorizeURL(clientID: "Iv1.other", redirectURI: Self.callback, scopes: "read:user", state: "s", codeChallenge: "c")
            #expect(try await browser.post(OutboundRequest(method: .GET, url: url)).status == 404)

            github.denyConsent = true
            let denied = try await authorize(client)
            #expect(denied.hasPrefix("\(Self.callback)?error=access_denied&error_description=The+user+has+denied+your+application+access.&"))
            #expect(denied.hasSuffix("&state=st4te"))
        }
    }

    @Test func unknownAndRevokedTokensAreBadCredentials() async throws {
        let (github, token) = newGitHub()
        try await github.serving { base in
            let client = try GitHubClient(webURL: base, apiURL: base)
            let unknown = "gho_" + String(repeating: "x", count: 36)
            #expect(await failure { try await client.user(token: unknown) } == .badCredentials("Bad credentials"))
            _ = try await client.user(token: token)
            github.revoke(token: token)
            #expect(await failure { try await client.user(token: token) } == .badCredentials("Bad credentials"))
            #expect(
                await failure { try await client.graphQL(query: ContributionQueries.issues, variables: Self.variables, token: token) }
                    == .badCredentials("Bad credentials"))
            let renewed = try await exchange(client, try await authorizationCode(client)).token
            #expect(renewed != token, "after a revocation, OAuth issues a new token")
            github.rename(id: 583_231, to: "octocat-renamed")
            #expect(try await client.user(token: renewed).login == "octocat-renamed")
        }
    }

    @Test func thePrimaryLimitRefusesUntilItsResetThenRefills() async throws {
        let (github, token) = newGitHub()
        github.setPrimaryLimit(perToken: 2, resetAfter: .seconds(3_600))
        try await github.serving { base in
            let client = try GitHubClient(webURL: base, apiURL: base)
            #expect(try await client.get("/user", token: token).rateLimit?.remaining == 1)
            let last = try #require(try await client.get("/user", token: token).rateLimit)
            #expect(last.remaining == 0)
            #expect(await failure { try await client.user(token: token) } == .rateLimited(until: last.resetAt, secondary: false))

            // As GitHub answers it: 403, GitHub's message, the headers.
            let refused = try await browser.post(OutboundRequest(method: .GET, url: "\(base)/user", headers: [("Authorization", "token \(token)")]))
            #expect(refused.status == 403)
            #expect(String(decoding: refused.body, as: UTF8.self).contains(#""message":"API rate limit exceeded for user ID 583231. "#))
            #expect(refused.header("X-RateLimit-Remaining") == "0" && refused.header("X-RateLimit-Used") == "2")
            #expect(refused.header("X-RateLimit-Resource") == "core" && refused.header("X-RateLimit-Limit") == "2")
            #expect(refused.header("X-RateLimit-Reset") == String(Int(last.resetAt.timeIntervalSince1970)))

            // GraphQL has its own budget, and says so with a 200 and a RATE_LIMITED error.
            let query = ContributionQueries.issues
            #expect(try await client.graphQL(query: query, variables: Self.variables, token: token).rateLimit?.remaining == 1)
            let graphQLLast = try #require(try await client.graphQL(query: query, variables: Self.variables, token: token).rateLimit)
            #expect(
                await failure { try await client.graphQL(query: query, variables: Self.variables, token: token) }
                    == .rateLimited(until: graphQLLast.resetAt, secondary: false))

            #expect(github.requests.map(\.status) == [200, 200, 403, 403, 200, 200, 200])

            // A budget of one for 3 s (the reset is the next whole second after that): spent, refused, refilled.
            github.setPrimaryLimit(perToken: 1, resetAfter: .seconds(3))
            let spent = try #require(try await client.get("/user", token: token).rateLimit)
            #expect(await failure { try await client.user(token: token) } == .rateLimited(until: spent.resetAt, secondary: false))
            try await Task.sleep(for: .seconds(spent.resetAt.timeIntervalSinceNow + 0.2))
            let refilled = try #require(try await client.get("/user", token: token).rateLimit)
            #expect(refilled.remaining == 0 && refilled.resetAt > spent.resetAt, "refilled once the reset passed")
        }
    }

    @Test func aSecondaryLimitAsksToRetryAfterItsSeconds() async throws {
        let (github, token) = newGitHub()
        github.failNextWithSecondaryLimit(count: 2, retryAfterSeconds: 30)
        try await github.serving { base in
            let client = try GitHubClient(webURL: base, apiURL: base)
            let started = Date()
            for refusal in [
                await failure { try await client.user(token: token) },
                await failure { try await client.graphQL(query: ContributionQueries.issues, variables: Self.variables, token: token) },
            ] {
                guard case .rateLimited(let until, secondary: true) = refusal else {
                    Issue.record("expected a secondary limit, got \(String(describing: refusal))")
                    continue
                }
                #expect(abs(until.timeIntervalSince(started) - 30) < 5)
            }
            #expect(try await client.user(token: token).login == "octocat")
        }
    }

    @Test func graphQLRefusesWindowsOverAYearAndUnknownOperationsAndSeesNewHistory() async throws {
        let (github, token) = newGitHub()
        try await github.serving { base in
            let client = try GitHubClient(webURL: base, apiURL: base)
            let long: [String: any Sendable] = ["from": "2024-01-01T00:00:00Z", "to": "2025-01-01T00:00:01Z"]
            let refusal = await failure { try await client.graphQL(query: ContributionQueries.issues, variables: long, token: token) }
            #expect(refusal == .refused(status: 200, message: "GraphQL: The total time spanned by 'from' and 'to' must not exceed 1 year"))
            let leapYear: [String: any Sendable] = ["from": "2024-01-01T00:00:00Z", "to": "2025-01-01T00:00:00Z"]
            _ = try await client.graphQL(query: ContributionQueries.issues, variables: leapYear, token: token)

            let unknown = await failure { try await client.graphQL(query: "query Other { viewer { login } }", variables: [:], token: token) }
            #expect(unknown == .refused(status: 200, message: "GraphQL: unknown operation (the fake answers only the hub's queries)"))

            let query = ContributionQueries.issues
            #expect(
                try ContributionAnswers.issues(try await client.graphQL(query: query, variables: Self.variables, token: token).body).nodes.isEmpty)
            github.appendHistory(login: "octocat", GitHub.History(issues: [GitHub.Issue(id: 7, repo: "octo/hub", createdAt: Self.from)]))
            let issues = try ContributionAnswers.issues(try await client.graphQL(query: query, variables: Self.variables, token: token).body)
            #expect(issues.nodes.map(\.issue.fullDatabaseId) == ["7"])
            #expect(issues.nodes.first?.issue.createdAt == "2025-01-01T00:00:00Z")
        }
        #expect(github.count(.graphql) == 5)
    }

    @Test func restCommitsArePagedNewestFirstWithLinkHeaders() async throws {
        func sha(_ number: Int) -> String {
            let hex = String(number, radix: 16)
            return String(repeating: "d", count: 40 - hex.count) + hex
        }
        let mine = (0..<75).map { GitHub.Commit(sha: sha($0), repo: "octo/hub", date: Self.from.addingTimeInterval(Double($0) * 3_600)) }
        let history = GitHub.History(
            repositories: [GitHub.Repo(nameWithOwner: "octo/hub"), GitHub.Repo(nameWithOwner: "octo/empty", isEmpty: true)],
            commits: mine + [GitHub.Commit(sha: sha(99), repo: "octo/hub", date: Self.from.addingTimeInterval(-1))])
        let (github, token) = newGitHub(history: history)
        github.addUser(
            id: 2, login: "hubot",
            history: GitHub.History(
                repositories: [GitHub.Repo(nameWithOwner: "hubot/secret", isPrivate: true)],
                commits: [GitHub.Commit(sha: sha(100), repo: "octo/hub", date: Self.from.addingTimeInterval(60))]))
        try await github.serving { base in
            let client = try GitHubClient(webURL: base, apiURL: base)
            let since = Timestamps.format(Self.from)
            let listing = "/repos/octo/hub/commits?author=OCTOCAT&since=\(since)&until=2025-12-31T23:59:59Z&per_page=30"
            var next: String? = listing
            var pages: [[GitHubCommitItem]] = []
            while let page = next {
                let answer = try await client.get(page, token: token)
                pages.append(try JSONDecoder().decode([GitHubCommitItem].self, from: Data(answer.body)))
                next = answer.nextPage
                #expect(next == nil || next == "\(base)\(listing)&page=\(pages.count + 1)", "the same query, the next page")
            }
            #expect(pages.map(\.count) == [30, 30, 15])
            #expect(pages.flatMap { $0.map(\.sha) } == mine.reversed().map(\.sha), "newest first, the author's only, within since/until")
            #expect(pages[0][0].commit.author?.date == "2025-01-04T02:00:00Z")

            let everyone = try await client.get("/repos/octo/hub/commits?per_page=100", token: token)
            #expect(try JSONDecoder().decode([GitHubCommitItem].self, from: Data(everyone.body)).count == 77)
            #expect(everyone.nextPage == nil)
            #expect(await failure { try await client.get("/repos/octo/none/commits", token: token) } == .refused(status: 404, message: "Not Found"))
            #expect(
                await failure { try await client.get("/repos/hubot/secret/commits", token: token) } == .refused(status: 404, message: "Not Found"))
            #expect(
                await failure { try await client.get("/repos/octo/empty/commits", token: token) }
                    == .refused(status: 409, message: "Git Repository is empty."))

            github.rename(id: 583_231, to: "octo-renamed")
            let renamed = try await client.get("/repos/octo/hub/commits?author=octo-renamed&since=\(since)", token: token)
            #expect(try JSONDecoder().decode([GitHubCommitItem].self, from: Data(renamed.body)).count == 30)
            #expect(renamed.nextPage?.hasSuffix("&page=2") == true)
        }
        #expect(github.count(.rest) == 8)
    }
}
