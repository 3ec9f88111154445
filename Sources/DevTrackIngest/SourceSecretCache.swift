import DevTrackCore
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

    private let store: HubStore
    private let secretBox: SecretBox
    private let ttl: Duration
    private let entries = Mutex<[UUID: (entry: Entry?, expires: ContinuousClock.Instant)]>([:])

    init(store: HubStore, secretBox: SecretBox, ttl: Duration) {
        self.store = store
        self.secretBox = secretBox
        self.ttl = ttl
    }

    func credentials(for id: UUID) async throws -> Entry? {
        let now = ContinuousClock.now
        if let cached = entries.withLock({ $0[id] }), cached.expires > now {
            return cached.entry
        }
        let entry = try await store.sourceCredentials(id: id).map { credentials in
            Entry(
                kind: credentials.source.kind, enabled: credentials.source.enabled,
                secrets: try credentials.sealedSecrets.map { Array(try secretBox.open($0).utf8) }, mapped: credentials.source.mapping != nil)
        }
        entries.withLock { entries in
            if entries.count > 100_000 { entries.removeAll() }
            entries[id] = (entry, now.advanced(by: ttl))
        }
        return entry
    }
}
