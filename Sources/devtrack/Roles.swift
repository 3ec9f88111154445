import DevTrackAPI
import DevTrackCore
import DevTrackDelivery
import DevTrackGitHub
import DevTrackGitHubSync
import DevTrackHTTP
import DevTrackIngest
import DevTrackOutbound
import DevTrackStore
import DevTrackWorkers
import Foundation
import Hummingbird
import Kafka
import Logging
import PostgresNIO
import ServiceLifecycle

/// Builds the services of each role, so that single-role commands and `devtrack dev` wire them the same way.
struct RoleFactory {
    let configuration: HubConfiguration
    let database: Database
    let brokers: String
    let logger: Logger
    /// Kept only when every role runs in this process on the mock cluster (`devtrack dev`): ingest refuses what
    /// a lagging worker could lose to the mock's ~5 MB per partition.
    var backlog: KafkaBacklog? = nil

    static let workerNames = ["normalize", "custom", "metrics", "coding", "goals", "achievements", "notify"]

    /// The topic a worker consumes (its consumer group is `devtrack-{name}`).
    static func topic(ofWorker name: String) throws -> String {
        switch name {
        case "normalize": Topics.githubEvents
        case "custom": Topics.customEvents
        case "coding": Topics.codingHeartbeats
        case "metrics", "goals", "achievements": Topics.activity
        case "notify": Topics.notifications
        default: throw unknownWorker(name)
        }
    }

    static func unknownWorker(_ name: String) -> HubConfiguration.Failure {
        HubConfiguration.Failure(description: "unknown worker '\(name)'; known: \(workerNames.joined(separator: ", "))")
    }

    /// The GitHub sync; it needs the operator's GitHub URLs only (each account brings its own token).
    func githubSync(producer: KafkaProducer, secretBox: SecretBox) throws -> GitHubSyncService {
        let sync = configuration.github.sync
        return GitHubSyncService(
            database: database, producer: producer,
            github: try GitHubClient(webURL: configuration.github.webURL, apiURL: configuration.github.apiURL),
            secretBox: secretBox,
            configuration: GitHubSyncConfiguration(
                interval: .milliseconds(Int64(sync.intervalMinutes * 60_000)), backfillDays: sync.backfillDays, overlapDays: sync.overlapDays,
                concurrency: sync.concurrency, pollInterval: .seconds(sync.pollSeconds), lease: .seconds(sync.leaseSeconds),
                unavailableRetry: .seconds(sync.unavailableRetrySeconds)),
            logger: Logger(label: "devtrack.github-sync"))
    }

    func scheduler(producer: KafkaProducer) -> Scheduler {
        let retention = configuration.scheduler.retention
        return Scheduler(
            database: database, producer: producer, interval: .seconds(configuration.scheduler.intervalSeconds),
            retention: Scheduler.Retention(
                deliveryLog: .seconds(retention.deliveryLogDays * 86_400), readNotifications: .seconds(retention.readNotificationDays * 86_400),
                heartbeats: retention.heartbeatDays.map { .seconds($0 * 86_400) }),
            logger: Logger(label: "devtrack.scheduler"))
    }

    /// Run beside the `notify` worker: they post what it queues in the outbox, to Discord and to users'
    /// webhook endpoints (it hands them what they can send at once). List them before the worker, so that a
    /// graceful shutdown (in reverse order) stops the worker first and the deliverers then finish its rows.
    func deliverers(secretBox: SecretBox) throws -> [OutboxDeliverer] {
        let http = try OutboundHTTPClient(
            allowList: Set(configuration.notify.allowHosts), timeout: .seconds(configuration.notify.deliveryTimeoutSeconds))
        let discordLogger = Logger(label: "devtrack.deliver.discord")
        let webhookLogger = Logger(label: "devtrack.deliver.webhook")
        return [
            OutboxDeliverer(
                database: database, channel: DiscordChannel(database: database, secretBox: secretBox, http: http, logger: discordLogger),
                logger: discordLogger, maxConcurrent: configuration.notify.maxConcurrentDeliveries,
                lease: .seconds(configuration.notify.deliveryLeaseSeconds)),
            OutboxDeliverer(
                database: database, channel: WebhookChannel(database: database, secretBox: secretBox, http: http, logger: webhookLogger),
                logger: webhookLogger, maxConcurrent: configuration.notify.maxConcurrentDeliveries,
                lease: .seconds(configuration.notify.deliveryLeaseSeconds)),
        ]
    }

    func producer() throws -> KafkaProducer {
        try KafkaProducer(configuration: KafkaConfiguration(bootstrapServers: brokers, configuration.kafka.producer), logger: logger)
    }

    func ingest(producer: KafkaProducer, secretBox: SecretBox, onRunning: @escaping @Sendable () async -> Void) -> any Service {
        let router = Router(context: IngestRequestContext.self)
        // Outermost, so that it sees and times every answer with its final status (JSONErrorMiddleware answers errors itself).
        router.middlewares.add(HTTPMetricsMiddleware())
        router.middlewares.add(JSONErrorMiddleware())
        router.addHealthRoutes(checks: readiness)
        let routes = IngestRoutes(
            producer: producer, database: database, secretBox: secretBox,
            webhooks: IngestConfiguration(
                hubWebhookSecret: configuration.githubAppSecret, maxBodyBytes: configuration.ingest.maxBodyBytes,
                sourceCacheTTL: .seconds(configuration.ingest.sourceCacheTTLSeconds)),
            heartbeats: HeartbeatConfiguration(
                maxBatch: configuration.coding.maxHeartbeatsPerRequest,
                maxAge: .seconds(configuration.coding.maxHeartbeatAgeDays * 86400),
                syncRequestsPerMinute: configuration.coding.syncRequestsPerMinute),
            backlog: backlog)
        routes.addRoutes(to: router)
        router.addMethodNotAllowed()
        let logger = Logger(label: "devtrack.ingest")
        return Application(
            router: router, server: routes.server(name: "devtrack-ingest", logger: logger),
            configuration: HubHTTPServer.configuration(
                host: configuration.ingest.host, port: configuration.ingest.port, serverName: "devtrack-ingest", logger: logger),
            onServerRunning: { _ in await onRunning() },
            logger: logger)
    }

    func api(secretBox: SecretBox, onRunning: @escaping @Sendable () async -> Void) throws -> any Service {
        let router = Router(context: APIRequestContext.self)
        router.middlewares.add(HTTPMetricsMiddleware())
        router.middlewares.add(JSONErrorMiddleware())
        router.addHealthRoutes(checks: readiness)
        let live = LiveEventsHub(database: database, logger: Logger(label: "devtrack.api.live"))
        let rateLimiter = PublicRateLimiter(
            limits: PublicRateLimits(
                profileRequests: configuration.api.publicRequestsPerMinute, imageRequests: configuration.api.imageRequestsPerMinute,
                signInRequests: configuration.api.signInRequestsPerMinute),
            windows: RequestWindowRepository(database), logger: Logger(label: "devtrack.api.rate-limit"))
        var apiConfiguration = APIConfiguration(
            publicIngestURL: configuration.publicIngestURL, maxRangeDays: configuration.api.maxRangeDays,
            secretRotationGrace: .seconds(configuration.api.secretRotationGraceHours * 3600),
            codingTimeout: .seconds(configuration.coding.heartbeatTimeoutSeconds),
            streakFreezesPerMonth: configuration.api.streakFreezesPerMonth,
            outboundAllowHosts: Set(configuration.notify.allowHosts), profileURLTemplate: configuration.notify.profileURLTemplate,
            maxWebhooksPerUser: configuration.notify.maxWebhooksPerUser, maxTokensPerUser: configuration.api.maxTokensPerUser,
            streamRecheckInterval: .seconds(configuration.api.streamRecheckSeconds),
            signIn: SignInConfiguration(
                publicURL: configuration.publicAPIURL, sessionLifetime: .seconds(configuration.api.sessionDays * 86_400),
                stateLifetime: .seconds(configuration.api.signInMinutes * 60), github: configuration.githubOAuthApp),
            publicCacheLifetime: .seconds(configuration.api.publicCacheSeconds))
        apiConfiguration.clientAddressHeader = configuration.api.clientAddressHeader
        try APIRoutes(database: database, secretBox: secretBox, configuration: apiConfiguration, live: live, rateLimiter: rateLimiter)
            .addRoutes(to: router)
        try OpenAPIDocumentRoutes(directory: configuration.home.docsDirectory).addRoutes(to: router)
        try DashboardRoutes(
            directory: configuration.home.webDirectory,
            settings: .init(signIn: configuration.githubOAuthApp == nil ? "link" : "github", ingestURL: configuration.publicIngestURL)
        ).addRoutes(to: router)
        router.addMethodNotAllowed()
        let logger = Logger(label: "devtrack.api")
        return Application(
            router: router, server: HubHTTPServer.server,
            configuration: HubHTTPServer.configuration(
                host: configuration.api.host, port: configuration.api.port, serverName: "devtrack-api", logger: logger),
            services: [live, rateLimiter],
            onServerRunning: { _ in await onRunning() },
            logger: logger)
    }

    /// One worker; `handoffs` are this process's deliverers, which the `notify` worker hands its deliveries to.
    func worker(named name: String, producer: KafkaProducer, handoffs: [any DeliveryHandoff] = []) throws -> BatchWorker {
        let topic = try Self.topic(ofWorker: name)
        let handler: any BatchHandler
        let workerLogger = Logger(label: "devtrack.worker.\(name)")
        switch name {
        case "normalize":
            handler = NormalizeHandler(database: database, producer: producer, logger: workerLogger)
        case "custom":
            handler = CustomEventsHandler(database: database, producer: producer, logger: workerLogger)
        case "coding":
            handler = CodingHandler(
                database: database, producer: producer, timeout: .seconds(configuration.coding.heartbeatTimeoutSeconds), logger: workerLogger)
        case "goals":
            handler = GoalsHandler(database: database, producer: producer, logger: workerLogger)
        case "achievements":
            handler = AchievementsHandler(database: database, producer: producer, logger: workerLogger)
        case "notify":
            handler = NotifyHandler(
                database: database, producer: producer, logger: workerLogger, profileURLTemplate: configuration.notify.profileURLTemplate,
                handoffs: handoffs)
        case "metrics":
            handler = MetricsHandler(database: database, producer: producer, logger: workerLogger)
        default:
            throw Self.unknownWorker(name)
        }
        let consumer = try KafkaConsumer(
            configuration: KafkaConfiguration(bootstrapServers: brokers, configuration.consumerProperties(worker: name)), topics: [topic],
            logger: workerLogger)
        return BatchWorker(
            name: name, consumer: consumer, handler: handler, producer: producer, logger: workerLogger,
            maxBatch: configuration.workers.maxBatch(for: name), backlog: backlog)
    }

    /// What `/readyz` checks: PostgreSQL answers (within 2 s, so a probe never hangs on a pool that cannot connect)
    /// and its schema is this build's; and, for a role that produces or consumes (it knows the brokers), that a broker
    /// answers a metadata request within 2 s.
    var readiness: @Sendable () async -> [ReadinessCheck] {
        let database = databaseReadiness
        guard !brokers.isEmpty else { return database }
        let (brokers, logger) = (brokers, logger)
        return {
            async let checks = database()
            var kafka = ReadinessCheck("kafka", problem: nil)
            do {
                let admin = try KafkaAdmin(configuration: KafkaConfiguration(bootstrapServers: brokers), logger: logger, requestTimeout: .seconds(2))
                do {
                    _ = try await admin.topicPartitionCounts()
                } catch {
                    kafka = ReadinessCheck("kafka", problem: "no broker answers: \(error)")
                }
                await admin.close()
            } catch {
                kafka = ReadinessCheck("kafka", problem: "no client: \(error)")
            }
            return await checks + [kafka]
        }
    }

    private var databaseReadiness: @Sendable () async -> [ReadinessCheck] {
        let (database, logger) = (database, logger)
        // The migrations this build expects; the role has read `schema/` already, so this only fails if it went away.
        let migrator = try? Migrator(directory: configuration.home.schemaDirectory)
        return {
            guard let migrator else { return [ReadinessCheck("schema", problem: "this build's schema/ folder cannot be read")] }
            do {
                let applied = try await Deadline.run(.seconds(2)) { try await migrator.appliedVersion(database, logger: logger) }
                let behind = applied < migrator.latestVersion
                return [
                    ReadinessCheck("postgresql", problem: nil),
                    ReadinessCheck(
                        "schema",
                        problem: behind ? "at version \(applied), this build needs \(migrator.latestVersion): run `devtrack migrate`" : nil),
                ]
            } catch {
                return [
                    ReadinessCheck("postgresql", problem: "unreachable: \(error)"),
                    ReadinessCheck("schema", problem: "unknown while PostgreSQL does not answer"),
                ]
            }
        }
    }
}

extension HubConfiguration {
    /// A worker's consumer settings: its group is `devtrack-{name}`.
    func consumerProperties(worker name: String) -> [String: String] {
        var properties = kafka.consumer.merging(kafka.consumerByWorker[name] ?? [:]) { _, worker in worker }
        properties["group.id"] = "devtrack-\(name)"
        properties["client.id"] = "devtrack-\(name)"
        return properties
    }
}

/// Runs `body` with a live PostgreSQL client (for one-off commands), then shuts the client down.
func withDatabase<T: Sendable>(_ url: DatabaseURL, logger: Logger, _ body: @Sendable @escaping (Database) async throws -> T) async throws -> T {
    // Errors reach `body` as thrown errors; the client's own chatter (such as its warning when the first
    // query races `run()`) is noise for a one-shot command.
    var background = logger
    background.logLevel = .error
    let client = PostgresClient(configuration: url.clientConfiguration(), backgroundLogger: background)
    return try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask {
            await client.run()
            return nil
        }
        defer { group.cancelAll() }
        return try await body(Database(client: client, logger: logger))
    }
}

/// Counts HTTP servers coming up and calls `ready` once all have.
actor ReadinessLatch {
    private var remaining: Int
    private let ready: @Sendable () -> Void

    init(count: Int, ready: @escaping @Sendable () -> Void) {
        self.remaining = count
        self.ready = ready
    }

    func arrive() {
        remaining -= 1
        if remaining == 0 { ready() }
    }
}

func makeLogger(_ label: String) -> Logger {
    var logger = Logger(label: label)
    logger.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
    return logger
}

/// Refuses to start a role against a schema older than this build (`devtrack migrate` first): it would fail on
/// every write that needs a newer table. A database that does not answer within 10 s is left to the role, which
/// waits for it, and to `/readyz`, which reports it.
func requireCurrentSchema(_ configuration: HubConfiguration, logger: Logger) async throws {
    let migrator = try Migrator(directory: configuration.home.schemaDirectory)
    let url = try configuration.requireDatabaseURL()
    do {
        try await Deadline.run(.seconds(10)) {
            try await withDatabase(url, logger: logger) { database in try await migrator.requireCurrent(database, logger: logger) }
        }
    } catch let failure as Migrator.Failure {
        throw failure
    } catch {
        logger.warning("could not check the schema version: \(error); /readyz reports it until PostgreSQL answers")
    }
}
