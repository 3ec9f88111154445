import DevTrackCore
import DevTrackHTTP
import DevTrackStore
import Foundation
import Synchronization

/// Decrypted secrets of users' webhook sources, cached for a short time so that a busy source costs one
/// PostgreSQL read per TTL instead of one per delivery. Unknown ids are cached too (as nil).
final class SourceSecretCache: Sendable {
    struct Entry: Sendable {
        let kind: String
        let enabled: Bool
        let secrets: [[UInt8]]
        /// A custom source with a mapping: its payloads are read by the worker, not checked at ingest.
        let mapped: Bool
    }

    private let sources: SourceRepository
    private let secretBox: SecretBox
    private let ttl: Duration
    private let entries = Mutex<[UUID: (entry: Entry?, expires: ContinuousClock.Instant)]>([:])
    /// When a lookup last failed for want of PostgreSQL: for `retryAfterFailure` after it, stale entries are
    /// served without waiting for another lookup to fail.
    private let lastFailure = Mutex<ContinuousClock.Instant?>(nil)
    static let retryAfterFailure = Duration.seconds(2)

    /// How long PostgreSQL may take to answer before a cached entry (however old, within `staleLimit`) is used
    /// or the request is answered 503: senders give up after 10 s and GitHub does not redeliver.
    static let lookupLimit = Duration.seconds(2)
    /// How old a cached entry may be when PostgreSQL cannot be read: a rotation or a deletion made meanwhile
    /// takes effect once it can be read again.
    static let staleLimit = Duration.seconds(900)

    init(database: Database, secretBox: SecretBox, ttl: Duration) {
        self.sources = SourceRepository(database)
        self.secretBox = secretBox
        self.ttl = ttl
    }

    /// The source's credentials; while PostgreSQL is away, the last ones read (up to `staleLimit` old), else
    /// 503 `database_unavailable` with `Retry-After`.
    func credentials(for id: UUID) async throws -> Entry? {
        let now = ContinuousClock.now
        let cached = entries.withLock { $0[id] }
        if let cached, cached.expires > now {
            return cached.entry
        }
        if let cached, cached.expires.advanced(by: Self.staleLimit) > now,
            let failed = lastFailure.withLock({ $0 }), failed.advanced(by: Self.retryAfterFailure) > now
        {
            return cached.entry
        }
        let sources = self.sources
        let secretBox = self.secretBox
        let entry: Entry?
        do {
            entry = try await Deadline.run(Self.lookupLimit) {
                try await sources.sourceCredentials(id: id).map { credentials in
                    Entry(
                        kind: credentials.source.kind, enabled: credentials.source.enabled,
                        secrets: try credentials.sealedSecrets.map { Array(try secretBox.open($0).utf8) },
                        mapped: credentials.source.mapping != nil)
                }
            }
        } catch  where error is Deadline.Exceeded || StoreFailures.classify(error) == .transient {
            lastFailure.withLock { $0 = ContinuousClock.now }
            if let cached, cached.expires.advanced(by: Self.staleLimit) > now { return cached.entry }
            throw HubHTTPError.databaseUnavailable
        }
        entries.withLock { entries in
            if entries.count > 100_000 { entries.removeAll() }
            entries[id] = (entry, now.advanced(by: ttl))
        }
        return entry
    }
}
