import Foundation

/// The parts of GitHub webhook payloads that the hub reads. Everything else is ignored, so new fields
/// in GitHub's payloads never break decoding.
public enum GitHub {
    public struct Account: Decodable, Sendable, Equatable {
        public let login: String
        public let id: Int64
        public let type: String?

        public var isBot: Bool { type == "Bot" || login.hasSuffix("[bot]") }
    }

    public struct Repository: Decodable, Sendable {
        public let fullName: String
        public let language: String?
        public let isPrivate: Bool?
        enum CodingKeys: String, CodingKey {
            case fullName = "full_name"
            case language
            case isPrivate = "private"
        }
    }

    /// What a feed line shows of an issue or pull request a review or comment belongs to.
    public struct Titled: Decodable, Sendable {
        public let title: String?
    }

    public struct CommitAuthor: Decodable, Sendable {
        public let name: String?
        public let email: String?
        public let username: String?
    }

    public struct Commit: Decodable, Sendable {
        public let id: String
        public let distinct: Bool?
        public let timestamp: String
        public let author: CommitAuthor?
        public let message: String?
        public let url: String?
    }

    public struct Push: Decodable, Sendable {
        public let ref: String
        public let created: Bool?
        public let deleted: Bool?
        public let commits: [Commit]?
        public let pusher: CommitAuthor?
        public let sender: Account?
        public let repository: Repository?
    }

    public struct PullRequest: Decodable, Sendable {
        public let id: Int64
        public let user: Account?
        public let createdAt: String?
        public let merged: Bool?
        public let mergedAt: String?
        public let title: String?
        public let htmlURL: String?
        enum CodingKeys: String, CodingKey {
            case id, user, merged, title
            case createdAt = "created_at"
            case mergedAt = "merged_at"
            case htmlURL = "html_url"
        }
    }

    public struct PullRequestEvent: Decodable, Sendable {
        public let action: String
        public let pullRequest: PullRequest
        public let repository: Repository?
        public let sender: Account?
        enum CodingKeys: String, CodingKey {
            case action, repository, sender
            case pullRequest = "pull_request"
        }
    }

    public struct Review: Decodable, Sendable {
        public let id: Int64
        public let user: Account?
        public let submittedAt: String?
        public let htmlURL: String?
        enum CodingKeys: String, CodingKey {
            case id, user
            case submittedAt = "submitted_at"
            case htmlURL = "html_url"
        }
    }

    public struct ReviewEvent: Decodable, Sendable {
        public let action: String
        public let review: Review
        public let pullRequest: Titled?
        public let repository: Repository?
        enum CodingKeys: String, CodingKey {
            case action, review, repository
            case pullRequest = "pull_request"
        }
    }

    public struct Issue: Decodable, Sendable {
        public let id: Int64
        public let user: Account?
        public let createdAt: String?
        public let closedAt: String?
        public let title: String?
        public let htmlURL: String?
        enum CodingKeys: String, CodingKey {
            case id, user, title
            case createdAt = "created_at"
            case closedAt = "closed_at"
            case htmlURL = "html_url"
        }
    }

    public struct IssuesEvent: Decodable, Sendable {
        public let action: String
        public let issue: Issue
        public let repository: Repository?
        public let sender: Account?
    }

    public struct Comment: Decodable, Sendable {
        public let id: Int64
        public let user: Account?
        public let createdAt: String?
        public let htmlURL: String?
        enum CodingKeys: String, CodingKey {
            case id, user
            case createdAt = "created_at"
            case htmlURL = "html_url"
        }
    }

    /// `issue_comment` (on an issue or a pull request) and `pull_request_review_comment`.
    public struct CommentEvent: Decodable, Sendable {
        public let action: String
        public let comment: Comment
        public let issue: Titled?
        public let pullRequest: Titled?
        public let repository: Repository?
        enum CodingKeys: String, CodingKey {
            case action, comment, issue, repository
            case pullRequest = "pull_request"
        }
    }

}
