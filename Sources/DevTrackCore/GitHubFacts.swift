import Foundation

/// Who did something on GitHub, as far as the payload says.
public struct GitHubIdentity: Hashable, Sendable {
    public let login: String?
    public let id: Int64?

    public init(login: String?, id: Int64?) {
        self.login = login
        self.id = id
    }
}

/// A fact read from a payload before it is credited to a DevTrack user.
public struct FactCandidate: Equatable, Sendable {
    public let id: String
    public let kind: ActivityKind
    public let actor: GitHubIdentity
    public let occurredAt: Date
    public let repo: String?
    public let language: String?
    public let repoPrivate: Bool?
    /// The feed's line and link, already cleaned (`FeedText`).
    public let title: String?
    public let url: String?

    init(
        id: String, kind: ActivityKind, actor: GitHubIdentity, occurredAt: Date, repository: GitHub.Repository?, title: String?, url: String?
    ) {
        (self.id, self.kind, self.actor, self.occurredAt) = (id, kind, actor, occurredAt)
        (repo, language, repoPrivate) = (repository?.fullName, repository?.language, repository?.isPrivate)
        (self.title, self.url) = (FeedText.title(title), FeedText.link(url))
    }

    /// The fact, credited to `userID`.
    func fact(userID: UUID, source: String) -> ActivityFact {
        ActivityFact(
            id: id, userID: userID, kind: kind, occurredAt: occurredAt, repo: repo, language: language, source: source,
            repoPrivate: repoPrivate, title: title, url: url)
    }
}

/// Why a GitHub delivery could not be turned into facts: sent to the dead-letter topic with this text.
public struct PayloadError: Error, Equatable, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Reads activity fact candidates out of GitHub webhook payloads.
public enum GitHubFactExtractor {
    /// Events that can produce facts; any other event is accepted and produces none.
    public static let countedEvents: Set<String> = [
        "push", "pull_request", "pull_request_review", "issues", "issue_comment", "pull_request_review_comment",
    ]

    /// - Throws: `PayloadError` when a counted event's payload is not valid JSON of the expected shape.
    public static func candidates(event: String, payload: Data, now: Date = Date()) throws(PayloadError) -> [FactCandidate] {
        let candidates = try read(event: event, payload: payload)
        for candidate in candidates {
            try check(candidate, now: now)
        }
        return candidates
    }

    /// A user's own source can sign any payload: what is stored from it is checked like every outside text.
    static func check(_ candidate: FactCandidate, now: Date) throws(PayloadError) {
        if let problem = InputText.problem(candidate.id, maxBytes: 250) { throw PayloadError("a fact id \(problem)") }
        if let repo = candidate.repo, let problem = InputText.problem(repo, maxBytes: 255) {
            throw PayloadError("repository.full_name \(problem)")
        }
        if let language = candidate.language, let problem = InputText.problem(language, maxBytes: 100) {
            throw PayloadError("repository.language \(problem)")
        }
        for name in [candidate.actor.login].compactMap({ $0 }) {
            if let problem = InputText.problem(name, maxBytes: 100) { throw PayloadError("a login \(problem)") }
        }
        if let problem = ActivityTimes.problem(candidate.occurredAt, now: now) {
            throw PayloadError("\(candidate.id)'s time \(Timestamps.format(candidate.occurredAt)) \(problem)")
        }
    }

    static func read(event: String, payload: Data) throws(PayloadError) -> [FactCandidate] {
        guard countedEvents.contains(event) else { return [] }
        do {
            let decoder = JSONDecoder()
            switch event {
            case "push":
                return try push(decoder.decode(GitHub.Push.self, from: payload))
            case "pull_request":
                return try pullRequest(decoder.decode(GitHub.PullRequestEvent.self, from: payload))
            case "pull_request_review":
                return try review(decoder.decode(GitHub.ReviewEvent.self, from: payload))
            case "issues":
                return try issues(decoder.decode(GitHub.IssuesEvent.self, from: payload))
            default:
                return try comment(decoder.decode(GitHub.CommentEvent.self, from: payload))
            }
        } catch let error as PayloadError {
            throw error
        } catch let error as DecodingError {
            throw PayloadError("\(event) payload: \(describe(error))")
        } catch {
            throw PayloadError("\(event) payload: \(error)")
        }
    }

    /// Distinct commits of a branch push; tag pushes and deletions carry none that count.
    static func push(_ push: GitHub.Push) throws -> [FactCandidate] {
        guard push.ref.hasPrefix("refs/heads/"), push.deleted != true else { return [] }
        let pusher = GitHubIdentity(login: push.sender?.login ?? push.pusher?.name, id: push.sender?.id)
        return try (push.commits ?? []).filter { $0.distinct ?? true }.map { commit in
            let actor = commit.author?.username.map { GitHubIdentity(login: $0, id: nil) } ?? pusher
            return FactCandidate(
                id: "commit:\(commit.id)", kind: .commit, actor: actor,
                occurredAt: try instant(commit.timestamp, field: "commits[].timestamp"),
                repository: push.repository, title: commit.message, url: commit.url)
        }
    }

    static func pullRequest(_ event: GitHub.PullRequestEvent) throws -> [FactCandidate] {
        let pr = event.pullRequest
        guard let author = pr.user else { return [] }
        let actor = GitHubIdentity(login: author.login, id: author.id)
        switch event.action {
        case "opened":
            return [
                FactCandidate(
                    id: "pr_opened:\(pr.id)", kind: .prOpened, actor: actor,
                    occurredAt: try instant(pr.createdAt, field: "pull_request.created_at"),
                    repository: event.repository, title: pr.title, url: pr.htmlURL)
            ]
        case "closed" where pr.merged == true:
            return [
                FactCandidate(
                    id: "pr_merged:\(pr.id)", kind: .prMerged, actor: actor,
                    occurredAt: try instant(pr.mergedAt, field: "pull_request.merged_at"),
                    repository: event.repository, title: pr.title, url: pr.htmlURL)
            ]
        default:
            return []
        }
    }

    static func review(_ event: GitHub.ReviewEvent) throws -> [FactCandidate] {
        guard event.action == "submitted", let reviewer = event.review.user else { return [] }
        return [
            FactCandidate(
                id: "review:\(event.review.id)", kind: .review, actor: GitHubIdentity(login: reviewer.login, id: reviewer.id),
                occurredAt: try instant(event.review.submittedAt, field: "review.submitted_at"),
                repository: event.repository, title: event.pullRequest?.title, url: event.review.htmlURL)
        ]
    }

    static func issues(_ event: GitHub.IssuesEvent) throws -> [FactCandidate] {
        let issue = event.issue
        switch event.action {
        case "opened":
            guard let author = issue.user else { return [] }
            return [
                FactCandidate(
                    id: "issue_opened:\(issue.id)", kind: .issueOpened, actor: GitHubIdentity(login: author.login, id: author.id),
                    occurredAt: try instant(issue.createdAt, field: "issue.created_at"),
                    repository: event.repository, title: issue.title, url: issue.htmlURL)
            ]
        case "closed":
            // Credited to whoever closed it: the sender of the event.
            guard let closer = event.sender else { return [] }
            return [
                FactCandidate(
                    id: "issue_closed:\(issue.id)", kind: .issueClosed, actor: GitHubIdentity(login: closer.login, id: closer.id),
                    occurredAt: try instant(issue.closedAt, field: "issue.closed_at"),
                    repository: event.repository, title: issue.title, url: issue.htmlURL)
            ]
        default:
            return []
        }
    }

    static func comment(_ event: GitHub.CommentEvent) throws -> [FactCandidate] {
        guard event.action == "created", let author = event.comment.user else { return [] }
        return [
            FactCandidate(
                id: "comment:\(event.comment.id)", kind: .comment, actor: GitHubIdentity(login: author.login, id: author.id),
                occurredAt: try instant(event.comment.createdAt, field: "comment.created_at"),
                repository: event.repository, title: (event.issue ?? event.pullRequest)?.title, url: event.comment.htmlURL)
        ]
    }

    private static func instant(_ text: String?, field: String) throws(PayloadError) -> Date {
        guard let text else { throw PayloadError("\(field) is missing") }
        guard let date = Timestamps.parse(text) else {
            throw PayloadError("\(field) is not an ISO-8601 timestamp: \(InputText.sanitized(text, maxBytes: 64))")
        }
        return date
    }

    private static func describe(_ error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, let context):
            "missing field \((context.codingPath.map(\.stringValue) + [key.stringValue]).joined(separator: "."))"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            "wrong type at \(context.codingPath.map(\.stringValue).joined(separator: ".")): \(context.debugDescription)"
        case .dataCorrupted(let context):
            "invalid JSON: \(context.debugDescription)"
        @unknown default:
            "\(error)"
        }
    }
}

/// Who may be credited for a delivery.
public enum CreditPolicy: Sendable, Equatable {
    /// The hub-wide endpoint (the operator's GitHub App): every known user by their GitHub identity.
    case byIdentity
    /// A user's own webhook source: only that user's own activity counts there, so nobody can sign
    /// activity into someone else's record.
    case sourceOwner([UserIdentity])
}

/// Who someone is on GitHub, as `GET {api}/user` answers.
public struct GitHubProfile: Sendable, Equatable {
    public let id: Int64
    public let login: String

    public init(id: Int64, login: String) {
        self.id = id
        self.login = login
    }
}

/// A DevTrack user as GitHub knows them.
public struct UserIdentity: Hashable, Sendable {
    public let userID: UUID
    public let login: String
    public let githubID: Int64?

    public init(userID: UUID, login: String, githubID: Int64?) {
        self.userID = userID
        self.login = login
        self.githubID = githubID
    }

    func matches(_ actor: GitHubIdentity) -> Bool {
        if let id = actor.id, let githubID { return id == githubID }
        if let login = actor.login { return login.caseInsensitiveCompare(self.login) == .orderedSame }
        return false
    }
}

/// Known users, indexed by GitHub id and lower-cased login.
public struct UserDirectory: Sendable {
    private var byGitHubID: [Int64: UserIdentity] = [:]
    private var byLogin: [String: UserIdentity] = [:]

    public init(_ users: [UserIdentity]) {
        for user in users {
            if let id = user.githubID { byGitHubID[id] = user }
            byLogin[user.login.lowercased()] = user
        }
    }

    public func user(for actor: GitHubIdentity) -> UserIdentity? {
        if let id = actor.id, let user = byGitHubID[id] { return user }
        if let login = actor.login { return byLogin[login.lowercased()] }
        return nil
    }
}

public enum FactCrediting {
    /// Resolves candidates to facts; candidates of people without an account (or, on a user's own
    /// source, of anyone but its owner) are dropped.
    public static func credit(_ candidates: [FactCandidate], policy: CreditPolicy, directory: UserDirectory, source: String) -> [ActivityFact] {
        candidates.compactMap { candidate in
            let user: UserIdentity?
            switch policy {
            case .byIdentity: user = directory.user(for: candidate.actor)
            case .sourceOwner(let identities): user = identities.first { $0.matches(candidate.actor) }
            }
            guard let user else { return nil }
            return candidate.fact(userID: user.userID, source: source)
        }
    }
}
