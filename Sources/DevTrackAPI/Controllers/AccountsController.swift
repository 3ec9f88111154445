import DevTrackCore
import DevTrackGitHub
import DevTrackHTTP
import DevTrackStore
import Foundation
import Hummingbird

/// The GitHub accounts credited to the user (`/api/v1/accounts`). Further ones are linked through the sign-in
/// flow (`GET /auth/github?link=true`); unlinking keeps what was counted and stops crediting new activity.
struct AccountsController: Sendable {
    let accounts: GitHubAccountRepository
    let syncState: GitHubSyncRepository

    func addRoutes(to v1: RouterGroup<APIRequestContext>) {
        v1.get("/accounts") { request, context in
            let user = try context.user
            return try JSONResponse.make(["accounts": try await accounts.accounts(userID: user.id).map(AccountBody.init)])
        }
        v1.get("/accounts/{id}/sync") { request, context in
            let user = try context.user
            let text = context.parameters.get("id") ?? ""
            guard let id = UUID(uuidString: text), let account = try await accounts.account(userID: user.id, id: id) else {
                throw HubHTTPError.notFound("no account \(text)")
            }
            return try JSONResponse.make(SyncStatusBody(account: account, status: try await syncState.status(accountID: id)))
        }
        v1.delete("/accounts/{id}") { request, context in
            let user = try context.user
            let text = context.parameters.get("id") ?? ""
            guard let id = UUID(uuidString: text) else { throw HubHTTPError.notFound("no account \(text)") }
            switch try await accounts.unlink(userID: user.id, id: id) {
            case .unlinked: return Response(status: .noContent)
            case .notFound: throw HubHTTPError.notFound("no account \(text)")
            case .primary:
                throw HubHTTPError(
                    .conflict, code: "primary_account", "the account you signed up with cannot be unlinked; accounts linked later can")
            }
        }
    }
}

struct AccountBody: Encodable {
    let id: String
    let githubID: Int64
    let login: String
    let status: String
    let primary: Bool
    let scopes: [String]
    let linkedAt: String

    init(_ record: GitHubAccountRecord) {
        id = record.id.uuidString.lowercased()
        githubID = record.githubID
        login = record.login
        status = record.hasToken ? record.status.rawValue : "no_token"
        primary = record.isPrimary
        scopes = record.scopes.split(whereSeparator: { $0 == "," || $0 == " " }).map(String.init)
        linkedAt = Timestamps.format(record.linkedAt)
    }

    enum CodingKeys: String, CodingKey {
        case id, login, status, primary, scopes
        case githubID = "github_id"
        case linkedAt = "linked_at"
    }
}

/// `GET /api/v1/accounts/{id}/sync`: what the GitHub sync has read of the account and where it stands.
struct SyncStatusBody: Encodable {
    struct Window: Encodable {
        let from: String
        let to: String
    }
    struct Progress: Encodable {
        let step: String
        let repositoriesDone: Int
        let repositoriesTotal: Int
        let requests: Int
        let facts: Int
        enum CodingKeys: String, CodingKey {
            case step, requests, facts
            case repositoriesDone = "repositories_done"
            case repositoriesTotal = "repositories_total"
        }
    }
    let accountID: String
    /// `idle` (waiting for the next run), `running`, `waiting` (a run paused by a rate limit or GitHub being
    /// away, resumed at `next_run_at`), `needs_reauth` (GitHub refused the token), `no_token` (never signed in).
    let state: String
    /// The window of the run in progress.
    let window: Window?
    let progress: Progress?
    /// What has been read in full so far.
    let covered: Window?
    let requestsTotal: Int64
    let factsTotal: Int64
    let lastError: String?
    let lastSuccessAt: String?
    let nextRunAt: String?

    init(account: GitHubAccountRecord, status: SyncStatusRecord?, now: Date = Date()) {
        accountID = account.id.uuidString.lowercased()
        let run = status?.progress.flatMap(SyncProgress.from(json:))
        if !account.hasToken || status == nil {
            state = "no_token"
        } else if account.status == .needsReauth {
            state = "needs_reauth"
        } else if status?.running == true {
            state = "running"
        } else if run != nil {
            state = "waiting"
        } else {
            state = "idle"
        }
        window = run.map { Window(from: Timestamps.format($0.windowFrom), to: Timestamps.format($0.windowTo)) }
        progress = run.map {
            Progress(
                step: $0.step.rawValue, repositoriesDone: $0.step == .repositories ? 0 : min($0.repositoryIndex, $0.repositories.count),
                repositoriesTotal: $0.repositories.count, requests: $0.requests, facts: $0.facts)
        }
        if let from = status?.coveredFrom, let to = status?.coveredTo {
            covered = Window(from: Timestamps.format(from), to: Timestamps.format(to))
        } else {
            covered = nil
        }
        requestsTotal = status?.requests ?? 0
        factsTotal = status?.facts ?? 0
        lastError = status?.lastError
        lastSuccessAt = status?.lastSuccessAt.map(Timestamps.format)
        let waitsForSignIn = state == "needs_reauth"
        nextRunAt = status.flatMap { $0.nextRunAt == .distantFuture || waitsForSignIn ? nil : Timestamps.format($0.nextRunAt) }
    }

    enum CodingKeys: String, CodingKey {
        case state, window, progress, covered
        case accountID = "account_id"
        case requestsTotal = "requests_total"
        case factsTotal = "facts_total"
        case lastError = "last_error"
        case lastSuccessAt = "last_success_at"
        case nextRunAt = "next_run_at"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(accountID, forKey: .accountID)
        try container.encode(state, forKey: .state)
        try container.encode(window, forKey: .window)
        try container.encode(progress, forKey: .progress)
        try container.encode(covered, forKey: .covered)
        try container.encode(requestsTotal, forKey: .requestsTotal)
        try container.encode(factsTotal, forKey: .factsTotal)
        try container.encode(lastError, forKey: .lastError)
        try container.encode(lastSuccessAt, forKey: .lastSuccessAt)
        try container.encode(nextRunAt, forKey: .nextRunAt)
    }
}
