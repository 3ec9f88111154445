import DevTrackCore
import DevTrackGitHub
import DevTrackLocalCluster
import DevTrackTestSupport
import Foundation
import Testing

/// The hub's GraphQL queries and the fake GitHub's answers to them, checked against GitHub's published schema
/// (Tests/Fixtures/github/schema.graphql) by scripts/check-github-graphql, and decoded as the sync decodes them: so
/// neither a query GitHub would refuse nor a fake answer GitHub could not give goes unnoticed.
@Suite(.timeLimit(.minutes(2)))
struct GitHubGraphQLContractTests {
    typealias GitHub = FakeGitHub

    static let from = Date(timeIntervalSince1970: 1_735_689_600)  // 2025-01-01T00:00:00Z
    static let to = from.addingTimeInterval(365 * 86_400 - 1)  // 2025-12-31T23:59:59Z
    static let window = from...to
    static func day(_ days: Double) -> Date { from.addingTimeInterval(days * 86_400) }
    static func sha(_ number: Int) -> String {
        let hex = String(number, radix: 16)
        return String(repeating: "c", count: 40 - hex.count) + hex
    }

    /// Three repositories (one private, without a language); commits in all three and some before the window; 130
    /// pull requests in the window (two pages; every third merged) and two before it; reviews and issues, one of each
    /// outside the window.
    static let history: GitHub.History = {
        let repositories = [
            GitHub.Repo(nameWithOwner: "octo/hub", language: "Swift"), GitHub.Repo(nameWithOwner: "octo/site", language: "TypeScript"),
            GitHub.Repo(nameWithOwner: "octo/notes", isPrivate: true),
        ]
        var commits: [GitHub.Commit] = (0..<7).map { GitHub.Commit(sha: sha($0), repo: "octo/hub", date: day(Double($0) * 20)) }
        commits += (7..<11).map { GitHub.Commit(sha: sha($0), repo: "octo/site", date: day(Double($0) * 3)) }
        commits += (11..<13).map { GitHub.Commit(sha: sha($0), repo: "octo/notes", date: day(200 + Double($0))) }
        commits += (13..<16).map { GitHub.Commit(sha: sha($0), repo: "octo/hub", date: day(-10 - Double($0))) }
        let pullRequests: [GitHub.PullRequest] = (0..<132).map { index in
            let created = index < 130 ? day(Double(index) * 2.5 + 0.25) : day(-Double(index))
            let merged: Date? = index.isMultiple(of: 3) ? created.addingTimeInterval(3_600) : nil
            let repo = index.isMultiple(of: 2) ? "octo/hub" : "octo/site"
            return GitHub.PullRequest(id: 2_000_000_000_000 + Int64(index), repo: repo, createdAt: created, mergedAt: merged)
        }
        let reviews: [GitHub.Review] = (0..<6).map {
            GitHub.Review(id: 3_000 + Int64($0), repo: "octo/site", submittedAt: $0 < 5 ? day(Double($0) * 30 + 1) : day(-1))
        }
        let issues: [GitHub.Issue] = (0..<4).map {
            GitHub.Issue(id: 4_000 + Int64($0), repo: "octo/notes", createdAt: $0 < 3 ? day(Double($0) * 40 + 2) : day(400))
        }
        return GitHub.History(repositories: repositories, commits: commits, pullRequests: pullRequests, reviews: reviews, issues: issues)
    }()

    @Test func everyQueryAndTheFakesAnswersMatchGitHubsSchema() async throws {
        let github = FakeGitHub(clientID: "Iv1.contract", clientSecret: "contract-secret")
        let token = github.addUser(id: 583_231, login: "octocat", history: Self.history)
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        // Every query, every page, as the sync sends them; each page's files are written for the check.
        let pages = try await github.serving { base -> [String: [[UInt8]]] in
            let client = try GitHubClient(webURL: base, apiURL: base)
            var pages: [String: [[UInt8]]] = [:]
            for (name, query) in ContributionQueries.all.sorted(by: { $0.key < $1.key }) {
                var after: String?
                repeat {
                    var variables: [String: any Sendable] = ["from": Timestamps.format(Self.from), "to": Timestamps.format(Self.to)]
                    if let after { variables["after"] = after }
                    let answer = try await client.graphQL(query: query, variables: variables, token: token)
                    pages[name, default: []].append(answer.body)
                    try Self.write(in: directory, "\(name)-\(pages[name]!.count)", query: query, variables: variables, answer: answer.body)
                    after = try Self.nextCursor(name, answer.body)
                } while after != nil
            }
            return pages
        }
        #expect(Set(pages.keys) == Set(ContributionQueries.all.keys))

        let repositories = try ContributionAnswers.commitRepositories(try #require(pages["CommitRepositories"]?.first))
        let commitCounts = Dictionary(grouping: Self.history.commits.filter { Self.window.contains($0.date) }, by: \.repo).mapValues(\.count)
        #expect(Dictionary(uniqueKeysWithValues: repositories.map { ($0.repository.nameWithOwner, $0.contributions.totalCount) }) == commitCounts)
        let notes = try #require(repositories.first { $0.repository.nameWithOwner == "octo/notes" })
        #expect(notes.repository.isPrivate && notes.repository.primaryLanguage == nil)
        #expect(repositories.first { $0.repository.nameWithOwner == "octo/hub" }?.repository.primaryLanguage?.name == "Swift")

        let pullRequestPages = try #require(pages["PullRequestContributions"])
        let pullRequests = try pullRequestPages.flatMap { try ContributionAnswers.pullRequests($0).nodes.map(\.pullRequest) }
        let expected = Self.history.pullRequests.filter { Self.window.contains($0.createdAt) }
        #expect(expected.count > 100 && pullRequestPages.count == 2)
        #expect(pullRequests.compactMap(\.fullDatabaseId) == expected.map { String($0.id) })
        #expect(pullRequests.count(where: \.merged) == expected.count { $0.mergedAt != nil })
        #expect(pullRequests.allSatisfy { $0.merged == ($0.mergedAt != nil) })
        #expect(pullRequests.map(\.createdAt) == expected.map { $0.createdAt.formatted(.iso8601) }, "ascending, GitHub's format")

        let reviews = try #require(pages["ReviewContributions"]).flatMap { try ContributionAnswers.reviews($0).nodes }
        #expect(reviews.map { $0.pullRequestReview.fullDatabaseId } == [3_000, 3_001, 3_002, 3_003, 3_004].map { "\($0)" })
        #expect(reviews.allSatisfy { $0.repository.nameWithOwner == "octo/site" })
        let issues = try #require(pages["IssueContributions"]).flatMap { try ContributionAnswers.issues($0).nodes }
        #expect(issues.map(\.issue.fullDatabaseId) == ["4000", "4001", "4002"])

        let (status, output) = await Self.check(directory)
        #expect(status == 0, "the schema check failed:\n\(output)")
        #expect(output.split(separator: "\n").count == pages.values.map(\.count).reduce(0, +), "one line per page:\n\(output)")
    }

    @Test func theCheckFailsOnAnswersGitHubCouldNotGive() async throws {
        let github = FakeGitHub(clientID: "Iv1.contract", clientSecret: "contract-secret")
        let token = github.addUser(id: 583_231, login: "octocat", history: Self.history)
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let variables: [String: any Sendable] = ["from": Timestamps.format(Self.from), "to": Timestamps.format(Self.to)]
        let query = ContributionQueries.pullRequests
        let answer = try await github.serving { base in
            try await GitHubClient(webURL: base, apiURL: base).graphQL(query: query, variables: variables, token: token).body
        }
        let text = String(decoding: answer, as: UTF8.self)
        #expect(text.contains(#""merged":true"#))
        let broken = [
            "good": text, "merged-null": text.replacingOccurrences(of: #""merged":true"#, with: #""merged":null"#),
            "not-asked": text.replacingOccurrences(of: #""merged":"#, with: #""body":"Fix it","merged":"#),
            "id-as-number": text.replacingOccurrences(of: #""fullDatabaseId":"2000000000000""#, with: #""fullDatabaseId":2000000000000"#),
        ]
        for (name, body) in broken {
            try Self.write(in: directory, name, query: query, variables: variables, answer: Array(body.utf8))
        }
        let (status, output) = await Self.check(directory)
        #expect(status == 1, "\(output)")
        let lines = Dictionary(
            uniqueKeysWithValues: output.split(separator: "\n").map { line in
                let parts = line.split(separator: ":", maxSplits: 1)
                return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
            })
        #expect(lines["good"] == " ok", "\(output)")
        #expect(lines["merged-null"]?.contains("Cannot return null for non-nullable field PullRequest.merged") == true, "\(output)")
        #expect(lines["not-asked"]?.contains("pullRequest.body was not asked for") == true, "\(output)")
        #expect(lines["id-as-number"]?.contains("BigInt cannot represent 2000000000000") == true, "\(output)")
    }

    // MARK: Helpers

    /// The cursor of the page after this one, if any, read as the sync reads it.
    static func nextCursor(_ name: String, _ body: [UInt8]) throws -> String? {
        func next<Node>(_ page: ContributionPage<Node>) -> String? { page.pageInfo.hasNextPage ? page.pageInfo.endCursor : nil }
        switch name {
        case "PullRequestContributions": return next(try ContributionAnswers.pullRequests(body))
        case "ReviewContributions": return next(try ContributionAnswers.reviews(body))
        case "IssueContributions": return next(try ContributionAnswers.issues(body))
        default: return nil
        }
    }

    static func temporaryDirectory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("devtrack-graphql-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    /// NAME.graphql, NAME.variables.json and NAME.answer.json, as scripts/check-github-graphql reads them.
    static func write(in directory: URL, _ name: String, query: String, variables: [String: any Sendable], answer: [UInt8]) throws {
        try Data(query.utf8).write(to: directory.appendingPathComponent("\(name).graphql"))
        try JSONSerialization.data(withJSONObject: variables).write(to: directory.appendingPathComponent("\(name).variables.json"))
        try Data(answer).write(to: directory.appendingPathComponent("\(name).answer.json"))
    }

    /// Runs scripts/check-github-graphql on `directory` against the vendored schema: its exit status and output.
    /// Awaited without blocking a thread of the cooperative pool (the fakes of other tests run there).
    static func check(_ directory: URL) async -> (status: Int32, output: String) {
        let root = URL(fileURLWithPath: RepositoryPaths.root)
        let outcome = await ChildProcess.run(
            root.appendingPathComponent("scripts/check-github-graphql").path,
            [root.appendingPathComponent("Tests/Fixtures/github/schema.graphql").path, directory.path])
        return (outcome.status, outcome.output)
    }
}
