import DevTrackCore
import Foundation
import Logging
import PostgresNIO

/// An account the sync took to work on: who it credits and where the last run stopped.
public struct SyncClaim: Sendable {
    public let accountID: UUID
    public let userID: UUID
    public let login: String
    public let githubID: Int64
    public let sealedToken: [UInt8]
    /// The run in progress as JSON (nil: start a new one).
    public let progress: String?
    public let coveredFrom: Date?
    public let coveredTo: Date?
}

/// What `GET /api/v1/accounts/{id}/sync` shows.
public struct SyncStatusRecord: Sendable {
    public let progress: String?
    public let coveredFrom: Date?
    public let coveredTo: Date?
    public let nextRunAt: Date
    public let running: Bool
    public let lastError: String?
    public let lastSuccessAt: Date?
    public let requests: Int64
    public let facts: Int64
}

/// The GitHub sync's state per account (`github_sync_state`): due runs claimed under a lease (one process per
/// account at a time, across processes), progress saved after every page, and the outcome of each run.
public struct GitHubSyncRepository: Repository {
    let database: Database

    public init(_ database: Database) { self.database = database }
}

extension GitHubSyncRepository {
    /// Makes a run due now (an account linked or signed in again: a token GitHub refused may work again).
    public func scheduleNow(accountID: UUID, on transaction: DatabaseTransaction) async throws {
        try await transaction.connection.query(
            """
            INSERT INTO github_sync_state (account_id) VALUES (\(accountID))
            ON CONFLICT (account_id) DO UPDATE SET next_run_at = now(), last_error = NULL, updated_at = now()
            """, logger: logger)
    }

    /// Takes the account whose run is most overdue and not leased by a live process, for `lease`.
    public func claimDue(owner: String, lease: Duration) async throws -> SyncClaim? {
        let rows = try await client.query(
            """
            UPDATE github_sync_state s
            SET lease_owner = \(owner), lease_until = now() + make_interval(secs => \(Double(lease.components.seconds))), updated_at = now()
            FROM github_accounts a
            WHERE a.id = s.account_id AND s.account_id = (
                SELECT d.account_id FROM github_sync_state d JOIN github_accounts da ON da.id = d.account_id
                WHERE d.next_run_at <= now() AND (d.lease_until IS NULL OR d.lease_until < now())
                  AND da.status = 'active' AND da.token_sealed IS NOT NULL
                ORDER BY d.next_run_at LIMIT 1 FOR UPDATE OF d SKIP LOCKED)
            RETURNING s.account_id, a.user_id, a.login, a.github_id, a.token_sealed, s.progress::text, s.covered_from, s.covered_to
            """, logger: logger)
        for try await (accountID, userID, login, githubID, token, progress, coveredFrom, coveredTo) in rows.decode(
            (UUID, UUID, String, Int64, ByteBuffer, String?, Date?, Date?).self)
        {
            return SyncClaim(
                accountID: accountID, userID: userID, login: login, githubID: githubID, sealedToken: Array(buffer: token), progress: progress,
                coveredFrom: coveredFrom, coveredTo: coveredTo)
        }
        return nil
    }

    /// Saves where the run stands and renews the lease; false when another process holds the account now.
    public func saveProgress(
        accountID: UUID, owner: String, progress: String, requests: Int, facts: Int, lease: Duration
    ) async throws -> Bool {
        let rows = try await client.query(
            """
            UPDATE github_sync_state
            SET progress = \(progress)::jsonb, requests = requests + \(Int64(requests)), facts = facts + \(Int64(facts)),
                lease_until = now() + make_interval(secs => \(Double(lease.components.seconds))), updated_at = now()
            WHERE account_id = \(accountID) AND lease_owner = \(owner)
            RETURNING 1
            """, logger: logger)
        for try await _ in rows.decode(Int.self) { return true }
        return false
    }

    /// A run read its whole window: the covered window grows to include it, the next run is due at `nextRunAt`.
    public func finish(
        accountID: UUID, owner: String, windowFrom: Date, windowTo: Date, nextRunAt: Date, requests: Int, facts: Int
    ) async throws {
        try await client.query(
            """
            UPDATE github_sync_state
            SET progress = NULL, covered_from = LEAST(coalesce(covered_from, \(windowFrom)), \(windowFrom)),
                covered_to = GREATEST(coalesce(covered_to, \(windowTo)), \(windowTo)), next_run_at = \(nextRunAt),
                last_error = NULL, last_success_at = now(), requests = requests + \(Int64(requests)), facts = facts + \(Int64(facts)),
                lease_owner = NULL, lease_until = NULL, updated_at = now()
            WHERE account_id = \(accountID) AND lease_owner = \(owner)
            """, logger: logger)
    }

    /// A run stopped before its end (a rate limit, GitHub away, a refused token): it resumes from `progress`
    /// at `nextRunAt` (nil: not before the user signs in again).
    public func pause(
        accountID: UUID, owner: String, progress: String?, nextRunAt: Date?, error: String, requests: Int, facts: Int
    ) async throws {
        try await client.query(
            """
            UPDATE github_sync_state
            SET progress = coalesce(\(progress)::jsonb, progress), next_run_at = coalesce(\(nextRunAt), 'infinity'::timestamptz),
                last_error = \(InputText.sanitized(error, maxBytes: 1000)), requests = requests + \(Int64(requests)),
                facts = facts + \(Int64(facts)), lease_owner = NULL, lease_until = NULL, updated_at = now()
            WHERE account_id = \(accountID) AND lease_owner = \(owner)
            """, logger: logger)
    }

    public func status(accountID: UUID) async throws -> SyncStatusRecord? {
        let rows = try await client.query(
            """
            SELECT progress::text, covered_from, covered_to, CASE WHEN next_run_at = 'infinity' THEN NULL ELSE next_run_at END,
                   lease_until IS NOT NULL AND lease_until > now(), last_error, last_success_at, requests, facts
            FROM github_sync_state WHERE account_id = \(accountID)
            """, logger: logger)
        for try await (progress, coveredFrom, coveredTo, nextRunAt, running, lastError, lastSuccessAt, requests, facts) in rows.decode(
            (String?, Date?, Date?, Date?, Bool, String?, Date?, Int64, Int64).self)
        {
            return SyncStatusRecord(
                progress: progress, coveredFrom: coveredFrom, coveredTo: coveredTo, nextRunAt: nextRunAt ?? .distantFuture, running: running,
                lastError: lastError, lastSuccessAt: lastSuccessAt, requests: requests, facts: facts)
        }
        return nil
    }
}
