import Foundation
import Testing

@testable import DevTrackCore
@testable import DevTrackGitHub

/// The sync's pure parts: its windows, its steps, the facts it makes of GitHub's answers, and GitHub's headers.
struct GitHubSyncLogicTests {
    let now = Timestamps.parse("2026-12-01T12:00:00Z")!
    let user = UUID()

    @Test func theFirstRunReadsTheBackfillAndLaterOnesOverlapWhatIsCovered() {
        let first = SyncProgress.start(coveredTo: nil, now: now, backfillDays: 365, overlapDays: 14)
        #expect(first.windowFrom == now.addingTimeInterval(-365 * 86_400) && first.windowTo == now && first.step == .repositories)
        let later = SyncProgress.start(coveredTo: now.addingTimeInterval(-3600), now: now, backfillDays: 365, overlapDays: 14)
        #expect(later.windowFrom == now.addingTimeInterval(-3600 - 14 * 86_400))
        let stale = SyncProgress.start(coveredTo: now.addingTimeInterval(-800 * 86_400), now: now, backfillDays: 365, overlapDays: 14)
        #expect(stale.windowFrom == now.addingTimeInterval(-365 * 86_400), "never more than GraphQL's year")
        let tooLong = SyncProgress.start(coveredTo: nil, now: now, backfillDays: 5000, overlapDays: 14)
        #expect(tooLong.windowFrom == now.addingTimeInterval(-365 * 86_400))
    }

    @Test func stepsFollowEachOtherAndEachRepositoryIsReadToItsLastPage() {
        var progress = SyncProgress.start(coveredTo: nil, now: now, backfillDays: 30, overlapDays: 1)
        progress.repositories = [
            .init(nameWithOwner: "octo/one", language: "Swift", commits: 3), .init(nameWithOwner: "octo/two", language: nil, commits: 1),
        ]
        var seen: [String] = []
        let pages: [String?] = [nil, "p2", nil, nil, "c1", nil, nil, nil]
        for next in pages {
            seen.append(progress.step == .commits ? "commits:\(progress.repositoryIndex)" : progress.step.rawValue)
            progress.finishPage(next: next)
        }
        #expect(
            seen == [
                "repositories", "commits:0", "commits:0", "commits:1", "pull_requests", "pull_requests", "reviews", "issues",
            ])
        #expect(progress.step == .done)

        var empty = SyncProgress.start(coveredTo: nil, now: now, backfillDays: 30, overlapDays: 1)
        empty.finishPage(next: nil)
        #expect(empty.step == .pullRequests, "no repositories: no commits to list")
    }

    @Test func theCommitsPathEscapesWhatGoesIntoTheQuery() throws {
        var progress = SyncProgress.start(coveredTo: nil, now: now, backfillDays: 1, overlapDays: 1)
        progress.repositories = [.init(nameWithOwner: "octo/hello world", language: nil, commits: 1)]
        progress.finishPage(next: nil)
        let path = try #require(progress.commitsPath(login: "a&b=c"))
        #expect(path.hasPrefix("/repos/octo/hello%20world/commits?author=a%26b%3Dc&since=2026-11-30T12%3A00%3A00"))
        #expect(path.hasSuffix("&per_page=100"))
    }

    @Test func progressSurvivesItsJSON() {
        var progress = SyncProgress.start(coveredTo: nil, now: now, backfillDays: 30, overlapDays: 1)
        progress.repositories = [.init(nameWithOwner: "octo/one", language: "Swift", commits: 3)]
        progress.finishPage(next: nil)
        progress.nextPage = "https://api.github.com/repositories/1/commits?page=2"
        progress.requests = 7
        #expect(SyncProgress.from(json: progress.json()) == progress)
        #expect(SyncProgress.from(json: "{\"step\": \"nonsense\"}") == nil)
    }

    @Test func factsHaveTheWebhooksNaturalIds() throws {
        let repo = GitHubRepositoryRef(nameWithOwner: "octo/hub", isPrivate: false, primaryLanguage: .init(name: "Swift"))
        let prs = try JSONDecoder().decode(
            [ContributionAnswers.PullRequestNode].self,
            from: Data(
                """
                [{"pullRequest": {"fullDatabaseId": "279147437", "createdAt": "2026-05-15T14:00:00Z", "merged": true,
                  "mergedAt": "2026-05-16T09:00:00Z", "repository": {"nameWithOwner": "octo/hub", "isPrivate": false, "primaryLanguage": null}}},
                 {"pullRequest": {"fullDatabaseId": "5", "createdAt": "2026-05-17T14:00:00Z", "merged": false, "mergedAt": null,
                  "repository": {"nameWithOwner": "octo/hub", "isPrivate": true, "primaryLanguage": {"name": "Go"}}}},
                 {"pullRequest": {"fullDatabaseId": null, "createdAt": "2026-05-17T14:00:00Z", "merged": false, "mergedAt": null,
                  "repository": {"nameWithOwner": "octo/hub", "isPrivate": true, "primaryLanguage": null}}}]
                """.utf8))
        let facts = SyncFacts.pullRequests(prs, userID: user, now: now)
        #expect(facts.map(\.id) == ["pr_opened:279147437", "pr_merged:279147437", "pr_opened:5"])
        #expect(facts.map(\.kind) == [.prOpened, .prMerged, .prOpened])
        #expect(facts[1].occurredAt == Timestamps.parse("2026-05-16T09:00:00Z"))
        #expect(facts.allSatisfy { $0.userID == user && $0.source == SyncFacts.source })

        let commits = try JSONDecoder().decode(
            [GitHubCommitItem].self,
            from: Data(
                """
                [{"sha": "6113728F27AE82C7B1A177C8D03F9E96E0ADF246", "commit": {"author": {"date": "2026-03-02T10:00:00Z"}, "committer": null}},
                 {"sha": "not-a-sha", "commit": {"author": {"date": "2026-03-02T10:00:00Z"}, "committer": null}},
                 {"sha": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c", "commit": {"author": {"date": "2099-01-01T00:00:00Z"}, "committer": null}}]
                """.utf8))
        let commitFacts = SyncFacts.commits(
            commits, repository: .init(nameWithOwner: repo.nameWithOwner, language: "Swift", commits: 3), userID: user, now: now)
        #expect(commitFacts.map(\.id) == ["commit:6113728f27ae82c7b1a177c8d03f9e96e0adf246"], "a bad SHA and a time in the future are left out")
        #expect(commitFacts.first?.language == "Swift" && commitFacts.first?.repo == "octo/hub")
    }

    @Test func theNextPageIsReadFromGitHubsLinkHeader() {
        let link =
            #"<https://api.github.com/repositories/1/commits?page=2>; rel="next", <https://api.github.com/repositories/1/commits?page=9>; rel="last""#
        #expect(GitHubLinks.next(link) == "https://api.github.com/repositories/1/commits?page=2")
        #expect(GitHubLinks.next(#"<https://api.github.com/x?page=1>; rel="prev", <https://api.github.com/x?page=1>; rel="first""#) == nil)
        #expect(GitHubLinks.next(nil) == nil)
        #expect(GitHubLinks.next("garbage") == nil)
        let empty = #"<>; rel="next", <https://api.github.com/x?page=9>; rel="next""#
        #expect(GitHubLinks.next(empty) == "https://api.github.com/x?page=9", "an empty target is no page")
    }

    @Test func theAuthorizeURLCarriesStateAndTheS256Challenge() throws {
        let client = try GitHubClient(webURL: "https://github.example.com/", apiURL: "https://github.example.com/api/v3")
        let url = try #require(
            URLComponents(
                string: client.authorizeURL(clientID: "Iv1.abc", redirectURI: "https://hub/cb", scopes: "read:user", state: "s t", codeChallenge: "c")
            ))
        #expect(url.host == "github.example.com" && url.path == "/login/oauth/authorize")
        let items = Dictionary(uniqueKeysWithValues: (url.queryItems ?? []).map { ($0.name, $0.value ?? "") })
        #expect(items["state"] == "s t" && items["code_challenge_method"] == "S256" && items["redirect_uri"] == "https://hub/cb")
        #expect(client.graphQLURL == "https://github.example.com/api/graphql", "GitHub Enterprise serves GraphQL beside /api/v3")
        // RFC 7636 appendix B's example.
        #expect(Base64URL.pkceChallenge(of: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
    }
}
