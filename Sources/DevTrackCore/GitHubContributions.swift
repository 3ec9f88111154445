import Foundation

/// The GraphQL queries the sync sends (checked against GitHub's published schema by the tests) and the
/// shapes of their answers. All four read the token owner's (`viewer`) contributions in one window of at most
/// a year, which is what `contributionsCollection` accepts.
public enum ContributionQueries {
    static let repositoryFields = "nameWithOwner isPrivate primaryLanguage { name }"

    /// The repositories the user committed to in the window (commits themselves come from the REST listing,
    /// which gives their SHAs).
    public static let commitRepositories = """
        query CommitRepositories($from: DateTime!, $to: DateTime!) {
          viewer {
            contributionsCollection(from: $from, to: $to) {
              commitContributionsByRepository(maxRepositories: 100) {
                repository { \(repositoryFields) }
                contributions(first: 1) { totalCount }
              }
            }
          }
        }
        """

    public static let pullRequests = """
        query PullRequestContributions($from: DateTime!, $to: DateTime!, $after: String) {
          viewer {
            contributionsCollection(from: $from, to: $to) {
              pullRequestContributions(first: 100, after: $after, orderBy: {direction: ASC}) {
                pageInfo { hasNextPage endCursor }
                nodes {
                  pullRequest { fullDatabaseId title url createdAt merged mergedAt repository { \(repositoryFields) } }
                }
              }
            }
          }
        }
        """

    public static let reviews = """
        query ReviewContributions($from: DateTime!, $to: DateTime!, $after: String) {
          viewer {
            contributionsCollection(from: $from, to: $to) {
              pullRequestReviewContributions(first: 100, after: $after, orderBy: {direction: ASC}) {
                pageInfo { hasNextPage endCursor }
                nodes {
                  pullRequestReview { fullDatabaseId url submittedAt createdAt pullRequest { title } }
                  repository { \(repositoryFields) }
                }
              }
            }
          }
        }
        """

    public static let issues = """
        query IssueContributions($from: DateTime!, $to: DateTime!, $after: String) {
          viewer {
            contributionsCollection(from: $from, to: $to) {
              issueContributions(first: 100, after: $after, orderBy: {direction: ASC}) {
                pageInfo { hasNextPage endCursor }
                nodes {
                  issue { fullDatabaseId title url createdAt repository { \(repositoryFields) } }
                }
              }
            }
          }
        }
        """

    /// Every query, by operation name (what the schema check reads).
    public static let all: [String: String] = [
        "CommitRepositories": commitRepositories, "PullRequestContributions": pullRequests, "ReviewContributions": reviews,
        "IssueContributions": issues,
    ]
}

/// A repository as the queries read it.
public struct GitHubRepositoryRef: Decodable, Sendable, Equatable {
    public let nameWithOwner: String
    public let isPrivate: Bool
    public let primaryLanguage: Language?

    public struct Language: Decodable, Sendable, Equatable {
        public let name: String
    }
}

/// One page of a paged contributions connection.
public struct ContributionPage<Node: Decodable & Sendable>: Decodable, Sendable {
    public struct PageInfo: Decodable, Sendable {
        public let hasNextPage: Bool
        public let endCursor: String?
    }
    public let pageInfo: PageInfo
    public let nodes: [Node]
}

/// The answers' shapes: `{"data": {"viewer": {"contributionsCollection": {…}}}}`.
public enum ContributionAnswers {
    struct Envelope<Collection: Decodable>: Decodable {
        struct Data: Decodable {
            struct Viewer: Decodable { let contributionsCollection: Collection }
            let viewer: Viewer
        }
        let data: Data
    }

    public struct RepositoryContributions: Decodable, Sendable {
        public struct Count: Decodable, Sendable { public let totalCount: Int }
        public let repository: GitHubRepositoryRef
        public let contributions: Count
    }

    public struct PullRequestNode: Decodable, Sendable {
        public struct PullRequest: Decodable, Sendable {
            public let fullDatabaseId: String?
            public let title: String?
            public let url: String?
            public let createdAt: String
            public let merged: Bool
            public let mergedAt: String?
            public let repository: GitHubRepositoryRef
        }
        public let pullRequest: PullRequest
    }

    public struct ReviewNode: Decodable, Sendable {
        public struct Review: Decodable, Sendable {
            public let fullDatabaseId: String?
            public let url: String?
            public let submittedAt: String?
            public let createdAt: String
            public let pullRequest: Titled?
        }
        public struct Titled: Decodable, Sendable { public let title: String? }
        public let pullRequestReview: Review
        public let repository: GitHubRepositoryRef
    }

    public struct IssueNode: Decodable, Sendable {
        public struct Issue: Decodable, Sendable {
            public let fullDatabaseId: String?
            public let title: String?
            public let url: String?
            public let createdAt: String
            public let repository: GitHubRepositoryRef
        }
        public let issue: Issue
    }

    struct CommitRepositoriesCollection: Decodable { let commitContributionsByRepository: [RepositoryContributions] }
    struct PullRequestsCollection: Decodable { let pullRequestContributions: ContributionPage<PullRequestNode> }
    struct ReviewsCollection: Decodable { let pullRequestReviewContributions: ContributionPage<ReviewNode> }
    struct IssuesCollection: Decodable { let issueContributions: ContributionPage<IssueNode> }

    static func decode<Collection: Decodable>(_ type: Collection.Type, _ body: [UInt8]) throws(PayloadError) -> Collection {
        do {
            return try JSONDecoder().decode(Envelope<Collection>.self, from: Data(body)).data.viewer.contributionsCollection
        } catch {
            throw PayloadError("the GraphQL answer is not of the queried shape: \(InputText.sanitized("\(error)", maxBytes: 300))")
        }
    }

    public static func commitRepositories(_ body: [UInt8]) throws(PayloadError) -> [RepositoryContributions] {
        try decode(CommitRepositoriesCollection.self, body).commitContributionsByRepository
    }

    public static func pullRequests(_ body: [UInt8]) throws(PayloadError) -> ContributionPage<PullRequestNode> {
        try decode(PullRequestsCollection.self, body).pullRequestContributions
    }

    public static func reviews(_ body: [UInt8]) throws(PayloadError) -> ContributionPage<ReviewNode> {
        try decode(ReviewsCollection.self, body).pullRequestReviewContributions
    }

    public static func issues(_ body: [UInt8]) throws(PayloadError) -> ContributionPage<IssueNode> {
        try decode(IssuesCollection.self, body).issueContributions
    }
}

/// One item of `GET /repos/{owner}/{repo}/commits` (what the sync reads of it).
public struct GitHubCommitItem: Decodable, Sendable {
    public struct Commit: Decodable, Sendable {
        public struct Signature: Decodable, Sendable { public let date: String? }
        public let author: Signature?
        public let committer: Signature?
        public let message: String?
    }
    public let sha: String
    public let commit: Commit
    public let htmlURL: String?
    enum CodingKeys: String, CodingKey {
        case sha, commit
        case htmlURL = "html_url"
    }
}

/// GitHub's REST paging: the `rel="next"` URL of a `Link` header
/// (`<https://…&page=2>; rel="next", <…>; rel="last"`).
public enum GitHubLinks {
    public static func next(_ link: String?) -> String? {
        guard let link else { return nil }
        for part in link.split(separator: ",") {
            let pieces = part.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard pieces.count >= 2, pieces.dropFirst().contains(where: { $0 == "rel=\"next\"" }),
                pieces[0].hasPrefix("<"), pieces[0].hasSuffix(">"), pieces[0].count > 2  // `<>` names no page
            else { continue }
            return String(pieces[0].dropFirst().dropLast())
        }
        return nil
    }
}
