import Foundation

/// Where one sync run of a GitHub account stands, saved after every page so that a restart, a rate limit or
/// GitHub being away resumes at the page that was next. The run reads its window step by step: the repositories
/// committed to, each one's commits (REST, for their SHAs), then pull requests, reviews and issues (GraphQL).
public struct SyncProgress: Codable, Sendable, Equatable {
    public enum Step: String, Codable, Sendable, CaseIterable {
        case repositories
        case commits
        case pullRequests = "pull_requests"
        case reviews
        case issues
        case done
    }

    public struct Repository: Codable, Sendable, Equatable {
        public let nameWithOwner: String
        public let language: String?
        public let commits: Int
        /// Nil in progress saved before the hub kept it.
        public let isPrivate: Bool?

        public init(nameWithOwner: String, language: String?, commits: Int, isPrivate: Bool? = nil) {
            self.nameWithOwner = nameWithOwner
            self.language = language
            self.commits = commits
            self.isPrivate = isPrivate
        }
    }

    public var windowFrom: Date
    public var windowTo: Date
    public var step: Step
    /// Filled by the `repositories` step: where the user committed in the window.
    public var repositories: [Repository] = []
    /// The repository whose commits are read in the `commits` step.
    public var repositoryIndex = 0
    /// The next page of the step: a REST `Link` URL or a GraphQL `endCursor`; nil for the step's first page.
    public var nextPage: String?
    /// GitHub requests and facts of this run so far (what the status shows).
    public var requests = 0
    public var facts = 0

    /// `contributionsCollection` spans at most a year.
    public static let maxWindowDays = 365

    /// A new run: the last `backfillDays` on the first run; afterwards from `overlapDays` before what is covered
    /// (a pull request opened before the window but merged since is listed only with its window), never
    /// further back than a year.
    public static func start(coveredTo: Date?, now: Date, backfillDays: Int, overlapDays: Int) -> SyncProgress {
        let earliest = now.addingTimeInterval(-Double(min(backfillDays, maxWindowDays)) * 86_400)
        let from = coveredTo.map { max($0.addingTimeInterval(-Double(overlapDays) * 86_400), earliest) } ?? earliest
        return SyncProgress(windowFrom: min(from, now), windowTo: now, step: .repositories)
    }

    /// Moves to the next step (or repository) once the current one has no further page.
    public mutating func finishPage(next: String?) {
        nextPage = next
        guard next == nil else { return }
        switch step {
        case .repositories: step = repositories.isEmpty ? .pullRequests : .commits
        case .commits:
            repositoryIndex += 1
            if repositoryIndex >= repositories.count { step = .pullRequests }
        case .pullRequests: step = .reviews
        case .reviews: step = .issues
        case .issues, .done: step = .done
        }
    }

    /// GraphQL's variables for this window (and page).
    public var graphQLVariables: [String: any Sendable] {
        var variables: [String: any Sendable] = ["from": Timestamps.format(windowFrom), "to": Timestamps.format(windowTo)]
        if let nextPage { variables["after"] = nextPage }
        return variables
    }

    /// The REST path of the current repository's first commits page (later pages come from `Link`).
    public func commitsPath(login: String) -> String? {
        guard step == .commits, repositories.indices.contains(repositoryIndex) else { return nil }
        let query = [
            ("author", login), ("since", Timestamps.format(windowFrom)), ("until", Timestamps.format(windowTo)), ("per_page", "100"),
        ]
        .map { "\($0.0)=\(FormEncoding.escape($0.1))" }.joined(separator: "&")
        let path = repositories[repositoryIndex].nameWithOwner.split(separator: "/").map { FormEncoding.escape(String($0)) }.joined(separator: "/")
        return "/repos/\(path)/commits?\(query)"
    }

    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = .sortedKeys
        return String(decoding: (try? encoder.encode(self)) ?? Data("{}".utf8), as: UTF8.self)
    }

    public static func from(json: String) -> SyncProgress? {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try? decoder.decode(SyncProgress.self, from: Data(json.utf8))
    }
}

/// GitHub's answers as activity facts, under the same natural ids as the webhooks give them (`commit:{sha}`;
/// pull requests, reviews and issues by their database id, which is the webhook payload's `id`), so a fact seen
/// both ways counts once. Whatever would not be stored from a webhook either (a bad time, a control character)
/// is left out.
public enum SyncFacts {
    public static let source = "github-sync"

    public static func commits(
        _ items: [GitHubCommitItem], repository: SyncProgress.Repository, userID: UUID, now: Date
    ) -> [ActivityFact] {
        items.compactMap { item in
            guard item.sha.count == 40, item.sha.allSatisfy(\.isHexDigit),
                let date = (item.commit.author?.date ?? item.commit.committer?.date).flatMap(Timestamps.parse)
            else { return nil }
            return fact(
                "commit:\(item.sha.lowercased())", .commit, date, (repository.nameWithOwner, repository.language, repository.isPrivate), userID, now,
                title: item.commit.message, url: item.htmlURL)
        }
    }

    public static func pullRequests(_ nodes: [ContributionAnswers.PullRequestNode], userID: UUID, now: Date) -> [ActivityFact] {
        nodes.flatMap { node -> [ActivityFact] in
            let pr = node.pullRequest
            guard let id = databaseID(pr.fullDatabaseId), let opened = Timestamps.parse(pr.createdAt) else { return [] }
            let repo = pr.repository
            var facts = [fact("pr_opened:\(id)", .prOpened, opened, repo.parts, userID, now, title: pr.title, url: pr.url)]
            if pr.merged, let merged = pr.mergedAt.flatMap(Timestamps.parse) {
                facts.append(fact("pr_merged:\(id)", .prMerged, merged, repo.parts, userID, now, title: pr.title, url: pr.url))
            }
            return facts.compactMap { $0 }
        }
    }

    public static func reviews(_ nodes: [ContributionAnswers.ReviewNode], userID: UUID, now: Date) -> [ActivityFact] {
        nodes.compactMap { node in
            let review = node.pullRequestReview
            guard let id = databaseID(review.fullDatabaseId), let date = Timestamps.parse(review.submittedAt ?? review.createdAt) else {
                return nil
            }
            return fact(
                "review:\(id)", .review, date, node.repository.parts, userID, now, title: review.pullRequest?.title, url: review.url)
        }
    }

    public static func issues(_ nodes: [ContributionAnswers.IssueNode], userID: UUID, now: Date) -> [ActivityFact] {
        nodes.compactMap { node in
            let issue = node.issue
            guard let id = databaseID(issue.fullDatabaseId), let date = Timestamps.parse(issue.createdAt) else { return nil }
            return fact("issue_opened:\(id)", .issueOpened, date, issue.repository.parts, userID, now, title: issue.title, url: issue.url)
        }
    }

    /// A BigInt as GitHub writes it (a string of digits), the way webhooks print the same id.
    static func databaseID(_ text: String?) -> Int64? {
        guard let text, let id = Int64(text), id > 0 else { return nil }
        return id
    }

    static func fact(
        _ id: String, _ kind: ActivityKind, _ date: Date, _ repository: (name: String, language: String?, isPrivate: Bool?), _ userID: UUID,
        _ now: Date, title: String?, url: String?
    ) -> ActivityFact? {
        guard ActivityTimes.problem(date, now: now) == nil, InputText.problem(repository.name, maxBytes: 255) == nil,
            repository.language.map({ InputText.problem($0, maxBytes: 100) == nil }) ?? true
        else { return nil }
        return ActivityFact(
            id: id, userID: userID, kind: kind, occurredAt: date, repo: repository.name, language: repository.language, source: source,
            repoPrivate: repository.isPrivate, title: FeedText.title(title), url: FeedText.link(url))
    }
}

extension GitHubRepositoryRef {
    var parts: (name: String, language: String?, isPrivate: Bool?) { (nameWithOwner, primaryLanguage?.name, isPrivate) }
}
