import DevTrackAPI
import DevTrackCore
import DevTrackGitHub
import DevTrackStore
import Foundation

/// Settings from `config/devtrack.json` (every default, written there only), an operator's file laid over it,
/// environment variables over both, and flags over everything; read once per process.
struct HubConfiguration: Sendable {
    struct Ingest: Codable, Sendable {
        var host: String
        var port: Int
        var maxBodyBytes: Int
        var publicURL: String?
        var sourceCacheTTLSeconds: Int
        enum CodingKeys: String, CodingKey {
            case host, port
            case maxBodyBytes = "max_body_bytes"
            case publicURL = "public_url"
            case sourceCacheTTLSeconds = "source_cache_ttl_seconds"
        }
    }

    struct API: Codable, Sendable {
        var host: String
        var port: Int
        var maxRangeDays: Int
        var secretRotationGraceHours: Int
        var streakFreezesPerMonth: Int
        /// Where browsers and GitHub reach the API (GitHub's OAuth callback goes there); nil: http://host:port.
        var publicURL: String?
        var maxTokensPerUser: Int
        var streamRecheckSeconds: Int
        var sessionDays: Int
        /// How long a started GitHub sign-in may take.
        var signInMinutes: Int
        /// Public profiles, cards and badges: how long they are cached, and requests per client address per minute.
        var publicCacheSeconds: Int
        var publicRequestsPerMinute: Int
        var imageRequestsPerMinute: Int
        /// Starts of a GitHub sign-in per client address per minute.
        var signInRequestsPerMinute: Int
        /// Behind a reverse proxy: the header it writes the client's address to; nil counts by the connection's peer.
        var clientAddressHeader: String?
        enum CodingKeys: String, CodingKey {
            case clientAddressHeader = "client_address_header"
            case publicCacheSeconds = "public_cache_seconds"
            case publicRequestsPerMinute = "public_requests_per_minute"
            case imageRequestsPerMinute = "image_requests_per_minute"
            case signInRequestsPerMinute = "sign_in_requests_per_minute"
            case streakFreezesPerMonth = "streak_freezes_per_month"
            case publicURL = "public_url"
            case maxTokensPerUser = "max_tokens_per_user"
            case streamRecheckSeconds = "stream_recheck_seconds"
            case sessionDays = "session_days"
            case signInMinutes = "sign_in_minutes"
            case host, port
            case maxRangeDays = "max_range_days"
            case secretRotationGraceHours = "secret_rotation_grace_hours"
        }
    }

    struct Kafka: Codable, Sendable {
        var mockBrokers: Int
        /// The replication factor `topics apply` creates topics with and checks them against; nil: each topic file's (3).
        var replicationFactor: Int?
        var producer: [String: String]
        var consumer: [String: String]
        /// Laid over `consumer` for one worker: the short fetch wait of the workers on the freshness path.
        var consumerByWorker: [String: [String: String]]
        enum CodingKeys: String, CodingKey {
            case producer, consumer
            case consumerByWorker = "consumer_by_worker"
            case mockBrokers = "mock_brokers"
            case replicationFactor = "replication_factor"
        }
    }

    struct Workers: Codable, Sendable {
        var maxBatch: Int
        /// Larger batches for the workers whose cost is mostly per batch (see README, Benchmarks).
        var maxBatchByWorker: [String: Int]
        enum CodingKeys: String, CodingKey {
            case maxBatch = "max_batch"
            case maxBatchByWorker = "max_batch_by_worker"
        }

        func maxBatch(for worker: String) -> Int { maxBatchByWorker[worker] ?? maxBatch }
    }

    struct Coding: Codable, Sendable {
        /// WakaTime's keystroke timeout: a longer gap between heartbeats is not coding time.
        var heartbeatTimeoutSeconds: Int
        var maxHeartbeatsPerRequest: Int
        var maxHeartbeatAgeDays: Int
        var syncRequestsPerMinute: Int
        enum CodingKeys: String, CodingKey {
            case syncRequestsPerMinute = "sync_requests_per_minute"
            case heartbeatTimeoutSeconds = "heartbeat_timeout_seconds"
            case maxHeartbeatsPerRequest = "max_heartbeats_per_request"
            case maxHeartbeatAgeDays = "max_heartbeat_age_days"
        }
    }

    struct SchedulerSettings: Codable, Sendable {
        var intervalSeconds: Int
        var retention: Retention
        enum CodingKeys: String, CodingKey {
            case retention
            case intervalSeconds = "interval_seconds"
        }

        /// How long the scheduler keeps logs (it deletes older rows in bounded batches each tick).
        struct Retention: Codable, Sendable {
            var deliveryLogDays: Int
            var readNotificationDays: Int
            /// Nil (the default): raw heartbeats are kept.
            var heartbeatDays: Int?
            enum CodingKeys: String, CodingKey {
                case deliveryLogDays = "delivery_log_days"
                case readNotificationDays = "read_notification_days"
                case heartbeatDays = "heartbeat_days"
            }
        }
    }

    struct Notify: Codable, Sendable {
        /// The link in Discord messages back to a user's profile in the web client, `{login}` replaced.
        var profileURLTemplate: String?
        /// Hosts deliveries may reach without the public-address check, over http too (tests on loopback,
        /// an operator's own relay). Empty in production.
        var allowHosts: [String]
        var deliveryTimeoutSeconds: Int
        /// How long a claimed delivery stays with its deliverer: one that crashed mid-request is tried again
        /// after this. Longer than the timeout, so a request still running is never sent twice.
        var deliveryLeaseSeconds: Int
        /// Requests in flight at once per deliverer (one at a time per destination).
        var maxConcurrentDeliveries: Int
        /// Outbound webhook endpoints per user (the original DevTrack's limit).
        var maxWebhooksPerUser: Int
        enum CodingKeys: String, CodingKey {
            case profileURLTemplate = "profile_url_template"
            case allowHosts = "allow_hosts"
            case deliveryTimeoutSeconds = "delivery_timeout_seconds"
            case deliveryLeaseSeconds = "delivery_lease_seconds"
            case maxConcurrentDeliveries = "max_concurrent_deliveries"
            case maxWebhooksPerUser = "max_webhooks_per_user"
        }
    }

    /// The operator's GitHub OAuth App (sign-in, the sync's tokens) and where GitHub is (github.com or an Enterprise server).
    struct GitHub: Codable, Sendable {
        var clientID: String?
        var clientSecret: String?
        var webURL: String
        var apiURL: String
        /// Asked at sign-in: `read:user` reads the profile and public contributions; add `repo` to sync private repositories' commits.
        var scopes: String
        var sync: Sync
        enum CodingKeys: String, CodingKey {
            case scopes, sync
            case clientID = "client_id"
            case clientSecret = "client_secret"
            case webURL = "web_url"
            case apiURL = "api_url"
        }
    }

    struct Sync: Codable, Sendable {
        /// Fractions allowed (tests run it every few seconds).
        var intervalMinutes: Double
        var backfillDays: Int
        var overlapDays: Int
        var concurrency: Int
        var pollSeconds: Int
        var leaseSeconds: Int
        var unavailableRetrySeconds: Int
        enum CodingKeys: String, CodingKey {
            case concurrency
            case intervalMinutes = "interval_minutes"
            case backfillDays = "backfill_days"
            case overlapDays = "overlap_days"
            case pollSeconds = "poll_seconds"
            case leaseSeconds = "lease_seconds"
            case unavailableRetrySeconds = "unavailable_retry_seconds"
        }
    }

    /// Each role's ops listener (`/metrics`, `/healthz`, `/readyz`), apart from the public routes. Off without a port; a
    /// process running one role takes its port from `--ops-port` or `$DEVTRACK_OPS_PORT`.
    struct Ops: Codable, Sendable {
        var host: String
        var port: Int?
    }

    struct File: Codable, Sendable {
        var ops: Ops
        var ingest: Ingest
        var api: API
        var kafka: Kafka
        var workers: Workers
        var coding: Coding
        var scheduler: SchedulerSettings
        var notify: Notify
        var github: GitHub
    }

    var ops: Ops
    var ingest: Ingest
    var api: API
    var kafka: Kafka
    var workers: Workers
    var coding: Coding
    var scheduler: SchedulerSettings
    var notify: Notify
    var github: GitHub
    var databaseURL: String?
    var kafkaBrokers: String?
    var githubAppSecret: String?
    /// The current encryption key first, then older ones still to be opened (see `SecretBox`).
    var encryptionKeys: [String]
    /// The project folder holding `schema/`, `topics/` and `config/`.
    let home: ProjectHome

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// `config/devtrack.json` of the project folder holds every setting with its default (the one place
    /// defaults are written); a file of the operator's (`--config` or `DEVTRACK_CONFIG`) names only what it
    /// changes and is laid over it, key by key.
    static func load(configFile: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> HubConfiguration {
        let home = try ProjectHome.locate(environment: environment)
        let defaultsPath = "\(home.path)/config/devtrack.json"
        func json(at path: String) throws -> Any {
            do {
                return try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))
            } catch {
                throw Failure(description: "cannot read configuration \(path): \(error)")
            }
        }
        var merged = try json(at: defaultsPath)
        if let path = configFile ?? environment["DEVTRACK_CONFIG"].nonEmpty, path != defaultsPath {
            guard FileManager.default.fileExists(atPath: path) else { throw Failure(description: "configuration file \(path) does not exist") }
            merged = Self.overlay(try json(at: path), on: merged)
        }
        let file: File
        do {
            file = try JSONDecoder().decode(File.self, from: JSONSerialization.data(withJSONObject: merged))
        } catch {
            throw Failure(description: "configuration (\(defaultsPath) and overrides) is incomplete or of the wrong type: \(error)")
        }
        var configuration = HubConfiguration(
            ops: file.ops, ingest: file.ingest, api: file.api, kafka: file.kafka, workers: file.workers, coding: file.coding,
            scheduler: file.scheduler,
            notify: file.notify, github: file.github,
            databaseURL: environment["DATABASE_URL"].nonEmpty, kafkaBrokers: environment["KAFKA_BROKERS"].nonEmpty,
            githubAppSecret: environment["DEVTRACK_GITHUB_APP_SECRET"].nonEmpty,
            encryptionKeys: try Self.encryptionKeys(environment), home: home)
        if let port = environment["DEVTRACK_INGEST_PORT"].flatMap(Int.init) { configuration.ingest.port = port }
        if let port = environment["DEVTRACK_OPS_PORT"].flatMap(Int.init) { configuration.ops.port = port }
        if let port = environment["DEVTRACK_API_PORT"].flatMap(Int.init) { configuration.api.port = port }
        if let host = environment["DEVTRACK_INGEST_HOST"].nonEmpty { configuration.ingest.host = host }
        if let host = environment["DEVTRACK_API_HOST"].nonEmpty { configuration.api.host = host }
        if let url = environment["DEVTRACK_PUBLIC_URL"].nonEmpty { configuration.ingest.publicURL = url }
        if let url = environment["DEVTRACK_API_PUBLIC_URL"].nonEmpty { configuration.api.publicURL = url }
        if let id = environment["DEVTRACK_GITHUB_CLIENT_ID"].nonEmpty { configuration.github.clientID = id }
        if let secret = environment["DEVTRACK_GITHUB_CLIENT_SECRET"].nonEmpty { configuration.github.clientSecret = secret }
        if let url = environment["DEVTRACK_GITHUB_WEB_URL"].nonEmpty { configuration.github.webURL = url }
        if let url = environment["DEVTRACK_GITHUB_API_URL"].nonEmpty { configuration.github.apiURL = url }
        if let hosts = environment["DEVTRACK_NOTIFY_ALLOW_HOSTS"].nonEmpty {
            configuration.notify.allowHosts = hosts.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        }
        guard (1...SyncProgress.maxWindowDays).contains(configuration.github.sync.backfillDays) else {
            throw Failure(
                description: "github.sync.backfill_days must be 1 to \(SyncProgress.maxWindowDays) (GitHub's contributions span at most a year)")
        }
        // Delivered rows and read notifications are what stops a replay of devtrack.notifications (kept 30 days) from
        // sending or showing them again: they must outlive the topic's messages.
        let retention = configuration.scheduler.retention
        guard (31...36_500).contains(retention.deliveryLogDays), (31...36_500).contains(retention.readNotificationDays) else {
            throw Failure(
                description: """
                    scheduler.retention.delivery_log_days (\(retention.deliveryLogDays)) and .read_notification_days \
                    (\(retention.readNotificationDays)) must be from 31 (over the 30 days devtrack.notifications keeps its messages) \
                    to 36,500
                    """)
        }
        // A heartbeat may arrive up to coding.max_heartbeat_age_days late, and its local day is then recomputed from the stored
        // heartbeats: they must all still be there.
        if let days = retention.heartbeatDays {
            let oldest = configuration.coding.maxHeartbeatAgeDays
            guard days > oldest + 1, days <= 36_500 else {
                throw Failure(
                    description: """
                        scheduler.retention.heartbeat_days (\(days)) must exceed coding.max_heartbeat_age_days (\(oldest)) by more than a \
                        day (a late heartbeat's day is recomputed from the stored ones), and be at most 36,500
                        """)
            }
        }
        guard configuration.notify.deliveryLeaseSeconds > configuration.notify.deliveryTimeoutSeconds + 1 else {
            throw Failure(
                description: """
                    notify.delivery_lease_seconds (\(configuration.notify.deliveryLeaseSeconds)) must exceed notify.delivery_timeout_seconds \
                    (\(configuration.notify.deliveryTimeoutSeconds)) by more than a second, or a request still running could be sent again
                    """)
        }
        return configuration
    }

    /// `top` laid over `base`: objects merge key by key, anything else in `top` replaces.
    static func overlay(_ top: Any, on base: Any) -> Any {
        guard let top = top as? [String: Any], let base = base as? [String: Any] else { return top }
        return base.merging(top) { old, new in overlay(new, on: old) }
    }

    var publicIngestURL: String {
        ingest.publicURL ?? "http://\(ingest.host):\(ingest.port)"
    }

    var publicAPIURL: String {
        api.publicURL ?? "http://\(api.host):\(api.port)"
    }

    /// The OAuth App, when both its id and secret are set.
    var githubOAuthApp: GitHubOAuthApp? {
        guard let id = github.clientID.nonEmpty, let secret = github.clientSecret.nonEmpty else { return nil }
        return GitHubOAuthApp(clientID: id, clientSecret: secret, webURL: github.webURL, apiURL: github.apiURL, scopes: github.scopes)
    }

    func requireDatabaseURL() throws -> DatabaseURL {
        guard let databaseURL else {
            throw Failure(description: "no database: set DATABASE_URL (or pass --database-url); `devtrack dev` prints one")
        }
        return try DatabaseURL(databaseURL)
    }

    func requireKafkaBrokers() throws -> String {
        guard let kafkaBrokers else {
            throw Failure(description: "no Kafka: set KAFKA_BROKERS (or pass --kafka-brokers); `devtrack kafka-mock` or `devtrack dev` print one")
        }
        return kafkaBrokers
    }

    func requireSecretBox() throws -> SecretBox {
        guard !encryptionKeys.isEmpty else {
            throw Failure(
                description: """
                    no encryption key: set DEVTRACK_ENCRYPTION_KEY to 32 random bytes in base64 (openssl rand -base64 32, or devtrack \
                    keys generate), or DEVTRACK_ENCRYPTION_KEYS / DEVTRACK_ENCRYPTION_KEY_FILE to the current key and older ones
                    """)
        }
        return try SecretBox(base64Keys: encryptionKeys)
    }

    /// `DEVTRACK_ENCRYPTION_KEYS` (comma-separated, the current key first), else the lines of `DEVTRACK_ENCRYPTION_KEY_FILE`
    /// (the current key first; blank lines and `#` comments skipped), else `DEVTRACK_ENCRYPTION_KEY` alone.
    static func encryptionKeys(_ environment: [String: String]) throws -> [String] {
        func keys(_ parts: [Substring]) -> [String] {
            parts.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty && !$0.hasPrefix("#") }
        }
        if let list = environment["DEVTRACK_ENCRYPTION_KEYS"].nonEmpty { return keys(list.split(separator: ",")) }
        if let path = environment["DEVTRACK_ENCRYPTION_KEY_FILE"].nonEmpty {
            do {
                return keys(try String(contentsOfFile: path, encoding: .utf8).split(whereSeparator: \.isNewline))
            } catch {
                throw Failure(description: "DEVTRACK_ENCRYPTION_KEY_FILE (\(path)) cannot be read: \(error)")
            }
        }
        return environment["DEVTRACK_ENCRYPTION_KEY"].nonEmpty.map { [$0] } ?? []
    }
}
