import DevTrackCore
import DevTrackStore
import Foundation

/// Defaults from `config/devtrack.json`, overridden by environment variables, overridden by flags.
struct HubConfiguration: Sendable {
    struct Ingest: Codable, Sendable {
        var host = "127.0.0.1"
        var port = 8080
        var maxBodyBytes = 25 * 1024 * 1024
        var publicURL: String?
        var sourceCacheTTLSeconds = 5
        enum CodingKeys: String, CodingKey {
            case host, port
            case maxBodyBytes = "max_body_bytes"
            case publicURL = "public_url"
            case sourceCacheTTLSeconds = "source_cache_ttl_seconds"
        }
    }

    struct API: Codable, Sendable {
        var host = "127.0.0.1"
        var port = 8081
        var maxRangeDays = 366
        var secretRotationGraceHours = 24
        var streakFreezesPerMonth = 2
        enum CodingKeys: String, CodingKey {
            case streakFreezesPerMonth = "streak_freezes_per_month"
            case host, port
            case maxRangeDays = "max_range_days"
            case secretRotationGraceHours = "secret_rotation_grace_hours"
        }
    }

    struct Kafka: Codable, Sendable {
        var mockBrokers = 3
        var producer: [String: String] = [:]
        var consumer: [String: String] = [:]
        enum CodingKeys: String, CodingKey {
            case producer, consumer
            case mockBrokers = "mock_brokers"
        }
    }

    struct Workers: Codable, Sendable {
        var maxBatch = 500
        /// Larger batches for the workers whose cost is mostly per batch (see README, Benchmarks).
        var maxBatchByWorker = ["goals": 6000, "achievements": 6000]
        enum CodingKeys: String, CodingKey {
            case maxBatch = "max_batch"
            case maxBatchByWorker = "max_batch_by_worker"
        }

        func maxBatch(for worker: String) -> Int { maxBatchByWorker[worker] ?? maxBatch }
    }

    struct Coding: Codable, Sendable {
        /// WakaTime's keystroke timeout: a longer gap between heartbeats is not coding time.
        var heartbeatTimeoutSeconds = 900
        var maxHeartbeatsPerRequest = 100
        var maxHeartbeatAgeDays = 30
        var syncRequestsPerMinute = 20
        enum CodingKeys: String, CodingKey {
            case syncRequestsPerMinute = "sync_requests_per_minute"
            case heartbeatTimeoutSeconds = "heartbeat_timeout_seconds"
            case maxHeartbeatsPerRequest = "max_heartbeats_per_request"
            case maxHeartbeatAgeDays = "max_heartbeat_age_days"
        }
    }

    struct SchedulerSettings: Codable, Sendable {
        var intervalSeconds = 60
        enum CodingKeys: String, CodingKey { case intervalSeconds = "interval_seconds" }
    }

    struct Notify: Codable, Sendable {
        /// The link in Discord messages back to a user's profile in the web client, `{login}` replaced.
        var profileURLTemplate: String?
        /// Hosts deliveries may reach without the public-address check, over http too (tests on loopback,
        /// an operator's own relay). Empty in production.
        var allowHosts: [String] = []
        var deliveryTimeoutSeconds = 10
        /// How long a claimed delivery stays with its deliverer: one that crashed mid-request is tried again
        /// after this. Longer than the timeout, so a request still running is never sent twice.
        var deliveryLeaseSeconds = 60
        /// Requests in flight at once per deliverer (one at a time per destination).
        var maxConcurrentDeliveries = 128
        /// Outbound webhook endpoints per user (the original DevTrack's limit).
        var maxWebhooksPerUser = 5
        enum CodingKeys: String, CodingKey {
            case profileURLTemplate = "profile_url_template"
            case allowHosts = "allow_hosts"
            case deliveryTimeoutSeconds = "delivery_timeout_seconds"
            case deliveryLeaseSeconds = "delivery_lease_seconds"
            case maxConcurrentDeliveries = "max_concurrent_deliveries"
            case maxWebhooksPerUser = "max_webhooks_per_user"
        }
    }

    struct File: Codable, Sendable {
        var ingest = Ingest()
        var api = API()
        var kafka = Kafka()
        var workers = Workers()
        var coding = Coding()
        var scheduler = SchedulerSettings()
        var notify = Notify()
    }

    var ingest: Ingest
    var api: API
    var kafka: Kafka
    var workers: Workers
    var coding: Coding
    var scheduler: SchedulerSettings
    var notify: Notify
    var databaseURL: String?
    var kafkaBrokers: String?
    var githubAppSecret: String?
    var encryptionKey: String?
    /// The project folder holding `schema/`, `topics/` and `config/`.
    let home: ProjectHome

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func load(configFile: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> HubConfiguration {
        let home = try ProjectHome.locate(environment: environment)
        let path = configFile ?? environment["DEVTRACK_CONFIG"] ?? "\(home.path)/config/devtrack.json"
        var file = File()
        if FileManager.default.fileExists(atPath: path) {
            do {
                // A file names only what it changes: it is laid over the built-in defaults, key by key.
                let defaults = try JSONSerialization.jsonObject(with: JSONEncoder().encode(File()))
                let overrides = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))
                let merged = try JSONSerialization.data(withJSONObject: Self.overlay(overrides, on: defaults))
                file = try JSONDecoder().decode(File.self, from: merged)
            } catch {
                throw Failure(description: "cannot read configuration \(path): \(error)")
            }
        } else if configFile != nil {
            throw Failure(description: "configuration file \(path) does not exist")
        }
        var configuration = HubConfiguration(
            ingest: file.ingest, api: file.api, kafka: file.kafka, workers: file.workers, coding: file.coding, scheduler: file.scheduler,
            notify: file.notify,
            databaseURL: environment["DATABASE_URL"].nonEmpty, kafkaBrokers: environment["KAFKA_BROKERS"].nonEmpty,
            githubAppSecret: environment["DEVTRACK_GITHUB_APP_SECRET"].nonEmpty,
            encryptionKey: environment["DEVTRACK_ENCRYPTION_KEY"].nonEmpty, home: home)
        if let port = environment["DEVTRACK_INGEST_PORT"].flatMap(Int.init) { configuration.ingest.port = port }
        if let port = environment["DEVTRACK_API_PORT"].flatMap(Int.init) { configuration.api.port = port }
        if let host = environment["DEVTRACK_INGEST_HOST"].nonEmpty { configuration.ingest.host = host }
        if let host = environment["DEVTRACK_API_HOST"].nonEmpty { configuration.api.host = host }
        if let url = environment["DEVTRACK_PUBLIC_URL"].nonEmpty { configuration.ingest.publicURL = url }
        if let hosts = environment["DEVTRACK_NOTIFY_ALLOW_HOSTS"].nonEmpty {
            configuration.notify.allowHosts = hosts.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
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
        guard let encryptionKey else {
            throw Failure(description: "no encryption key: set DEVTRACK_ENCRYPTION_KEY to 32 random bytes in base64 (openssl rand -base64 32)")
        }
        return try SecretBox(base64Key: encryptionKey)
    }
}

/// Where `schema/`, `topics/` and `config/` live: `DEVTRACK_HOME`, else the first folder holding
/// `schema/` among the current directory, the executable's folder, and their parents.
struct ProjectHome: Sendable {
    let path: String
    var schemaDirectory: String { "\(path)/schema" }
    var topicsDirectory: String { "\(path)/topics" }
    /// Holds the OpenAPI document the API serves.
    var docsDirectory: String { "\(path)/docs" }

    static func locate(environment: [String: String]) throws -> ProjectHome {
        if let home = environment["DEVTRACK_HOME"].nonEmpty { return ProjectHome(path: home) }
        let starts = [
            FileManager.default.currentDirectoryPath,
            URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().path,
        ]
        for start in starts {
            var url = URL(fileURLWithPath: start)
            for _ in 0..<8 {
                if FileManager.default.fileExists(atPath: url.appendingPathComponent("schema").path),
                    FileManager.default.fileExists(atPath: url.appendingPathComponent("topics").path)
                {
                    return ProjectHome(path: url.path)
                }
                url.deleteLastPathComponent()
            }
        }
        throw HubConfiguration.Failure(description: "cannot find the project folder (with schema/ and topics/): set DEVTRACK_HOME")
    }
}

extension Optional where Wrapped == String {
    var nonEmpty: String? {
        guard let self, !self.isEmpty else { return nil }
        return self
    }
}
