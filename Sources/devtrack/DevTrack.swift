import ArgumentParser
import DevTrackCore
import DevTrackOps
import DevTrackStore
import Foundation
import Kafka
import Logging
import PostgresNIO
import ServiceLifecycle
import UnixSignals

@main
struct DevTrack: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devtrack",
        abstract: "DevTrack Hub: GitHub activity and coding time → metrics, streaks and alerts.",
        subcommands: [
            DevCommand.self, IngestCommand.self, WorkerCommand.self, APICommand.self, MigrateCommand.self,
            TopicsCommand.self, KafkaMockCommand.self, SchedulerCommand.self, GitHubSyncCommand.self, ReplayCommand.self, DLQCommand.self,
            LagCommand.self,
            PostgresCommand.self,
            UsersCommand.self, TokensCommand.self, KeysCommand.self,
        ])

    static func bootstrapLogging() {
        LoggingSystem.bootstrap { label in
            var handler = DeferredMetadataLogHandler(writingTo: StreamLogHandler.standardError(label: label))
            handler.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
            return handler
        }
    }
}

/// Flags every role shares; each falls back to its environment variable, then to `config/devtrack.json`.
struct CommonOptions: ParsableArguments {
    @Option(help: "PostgreSQL URL (default: $DATABASE_URL).")
    var databaseURL: String?

    @Option(help: "Kafka bootstrap servers (default: $KAFKA_BROKERS).")
    var kafkaBrokers: String?

    @Option(help: "Configuration file (default: config/devtrack.json).")
    var config: String?

    func load() throws -> HubConfiguration {
        DevTrack.bootstrapLogging()
        OpsMetrics.bootstrap()
        var configuration = try HubConfiguration.load(configFile: config)
        if let databaseURL { configuration.databaseURL = databaseURL }
        if let kafkaBrokers { configuration.kafkaBrokers = kafkaBrokers }
        return configuration
    }
}

/// Prints and flushes at once, so scripts reading our output see each line when it happens.
func printLine(_ text: String) {
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
}

/// Runs services as one `ServiceGroup` that drains in reverse order on SIGTERM/SIGINT.
func runServiceGroup(_ services: [any Service], logger: Logger) async throws {
    let group = ServiceGroup(
        configuration: .init(
            services: services.map { .init(service: $0) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
    try await group.run()
}

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "migrate", abstract: "Apply schema/ migrations (idempotent, advisory-locked).")
    @OptionGroup var options: CommonOptions

    func run() async throws {
        let configuration = try options.load()
        let logger = makeLogger("devtrack.migrate")
        let migrator = try Migrator(directory: configuration.home.schemaDirectory)
        let applied = try await withDatabase(configuration.requireDatabaseURL(), logger: logger) { database in
            try await migrator.migrate(database, logger: logger)
        }
        print(applied.isEmpty ? "schema is up to date (version \(migrator.latestVersion))" : "applied: \(applied.joined(separator: ", "))")
    }
}

struct IngestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ingest", abstract: "HTTP server for GitHub webhooks; produces to raw topics.")
    @OptionGroup var options: CommonOptions
    @Option(help: "Port (default: $DEVTRACK_INGEST_PORT or 8080).") var port: Int?
    @OptionGroup var ops: OpsOptions

    func run() async throws {
        let logger = makeLogger("devtrack.ingest")
        let configuration = try options.load()  // once: it also bootstraps logging
        try await requireCurrentSchema(configuration, logger: logger)
        try await runServiceGroup(try services(configuration, logger: logger), logger: logger)
    }

    // Built synchronously: Swift 6.3's optimizer crashes splitting an async run() that builds these inline.
    private func services(_ loaded: HubConfiguration, logger: Logger) throws -> [any Service] {
        var configuration = loaded
        if let port { configuration.ingest.port = port }
        let (host, port) = (configuration.ingest.host, configuration.ingest.port)
        let client = PostgresClient(configuration: try configuration.requireDatabaseURL().clientConfiguration(), backgroundLogger: logger)
        let roles = RoleFactory(
            configuration: configuration, database: Database(client: client, logger: logger),
            brokers: try configuration.requireKafkaBrokers(), logger: logger)
        let producer = try roles.producer()
        let ingest = roles.ingest(producer: producer, secretBox: try configuration.requireSecretBox()) {
            logger.info("ingest listening on \(host):\(port)")
        }
        return present(roles.ops(port: ops.opsPort, reading: []), client, KafkaProducerService(producer), ingest)
    }
}

struct APICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "api", abstract: "HTTP query API for web clients.")
    @OptionGroup var options: CommonOptions
    @Option(help: "Port (default: $DEVTRACK_API_PORT or 8081).") var port: Int?
    @OptionGroup var ops: OpsOptions

    func run() async throws {
        let logger = makeLogger("devtrack.api")
        let configuration = try options.load()  // once: it also bootstraps logging
        try await requireCurrentSchema(configuration, logger: logger)
        try await runServiceGroup(try services(configuration, logger: logger), logger: logger)
    }

    // Built synchronously: Swift 6.3's optimizer crashes splitting an async run() that builds these inline.
    private func services(_ loaded: HubConfiguration, logger: Logger) throws -> [any Service] {
        var configuration = loaded
        if let port { configuration.api.port = port }
        let (host, port) = (configuration.api.host, configuration.api.port)
        let client = PostgresClient(configuration: try configuration.requireDatabaseURL().clientConfiguration(), backgroundLogger: logger)
        let roles = RoleFactory(configuration: configuration, database: Database(client: client, logger: logger), brokers: "", logger: logger)
        let api = try roles.api(secretBox: try configuration.requireSecretBox()) {
            logger.info("api listening on \(host):\(port)")
        }
        return present(roles.ops(port: ops.opsPort, reading: []), client, api)
    }
}

struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker", abstract: "Kafka consumer groups: \(RoleFactory.workerNames.joined(separator: ", ")).")
    @OptionGroup var options: CommonOptions
    @Argument(help: "Workers to run (default: all).") var names: [String] = []
    @OptionGroup var ops: OpsOptions

    func run() async throws {
        let configuration = try options.load()
        let logger = makeLogger("devtrack.worker")
        try await requireCurrentSchema(configuration, logger: logger)
        let client = PostgresClient(configuration: try configuration.requireDatabaseURL().clientConfiguration(), backgroundLogger: logger)
        let database = Database(client: client, logger: logger)
        let roles = RoleFactory(configuration: configuration, database: database, brokers: try configuration.requireKafkaBrokers(), logger: logger)
        let producer = try roles.producer()
        let chosen = names.isEmpty ? RoleFactory.workerNames : names
        var services = present(roles.ops(port: ops.opsPort, reading: chosen.contains("notify") ? [.outbox] : []), client)
        services.append(KafkaProducerService(producer))
        let deliverers = chosen.contains("notify") ? try roles.deliverers(secretBox: try configuration.requireSecretBox()) : []
        services += deliverers
        services += try chosen.map { try roles.worker(named: $0, producer: producer, handoffs: deliverers) }
        try await runServiceGroup(services, logger: logger)
    }
}

struct GitHubSyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "github-sync", abstract: "Polls GitHub's API for linked accounts' history; produces activity facts.")
    @OptionGroup var options: CommonOptions
    @OptionGroup var ops: OpsOptions

    func run() async throws {
        let logger = makeLogger("devtrack.github-sync")
        let configuration = try options.load()  // once: it also bootstraps logging
        try await requireCurrentSchema(configuration, logger: logger)
        try await runServiceGroup(try services(configuration, logger: logger), logger: logger)
    }

    private func services(_ configuration: HubConfiguration, logger: Logger) throws -> [any Service] {
        let client = PostgresClient(configuration: try configuration.requireDatabaseURL().clientConfiguration(), backgroundLogger: logger)
        let roles = RoleFactory(
            configuration: configuration, database: Database(client: client, logger: logger), brokers: try configuration.requireKafkaBrokers(),
            logger: logger)
        let producer = try roles.producer()
        let sync = try roles.githubSync(producer: producer, secretBox: try configuration.requireSecretBox())
        return present(roles.ops(port: ops.opsPort, reading: []), client, KafkaProducerService(producer), sync)
    }
}

struct KafkaMockCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kafka-mock", abstract: "Run librdkafka's mock cluster on loopback (with the topics of topics/) until SIGTERM.")
    @Option(help: "Number of brokers (default: kafka.mock_brokers of the configuration, 3).") var brokers: Int?
    @Option(help: "Configuration file (default: config/devtrack.json).") var config: String?

    func run() async throws {
        DevTrack.bootstrapLogging()
        let configuration = try HubConfiguration.load(configFile: config)
        let logger = makeLogger("devtrack.kafka-mock")
        let cluster = try KafkaMockCluster(brokers: brokers ?? configuration.kafka.mockBrokers, logger: logger)
        for specification in try TopicFile.load(directory: configuration.home.topicsDirectory) {
            try cluster.createTopic(specification)
        }
        printLine("KAFKA_BROKERS=\(cluster.bootstrapServers)")
        printLine("kafka mock cluster ready (SIGUSR1: all brokers down, SIGUSR2: all up)")
        try await runServiceGroup([KafkaMockClusterService(cluster), BrokerFaultSignals(cluster: cluster, logger: logger)], logger: logger)
    }
}

/// Fault injection for operators and end-to-end tests: SIGUSR1 takes every mock broker down (clients
/// see connection refused), SIGUSR2 brings them back.
struct BrokerFaultSignals: Service {
    let cluster: KafkaMockCluster
    let logger: Logger

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sigusr1, .sigusr2)
        for await signal in signals.cancelOnGracefulShutdown() {
            let up = signal == .sigusr2
            cluster.setAllBrokers(up: up)
            logger.notice("mock brokers \(up ? "up" : "down") (\(signal))")
            printLine(up ? "brokers up" : "brokers down")
        }
    }
}

struct UsersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "users", abstract: "Manage users.", subcommands: [Create.self, SignInLink.self, Delete.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a user and a token; prints {\"user_id\",\"token\"}.")
        @OptionGroup var options: CommonOptions
        @Option(help: "GitHub login.") var login: String
        @Option(help: "GitHub numeric user id.") var githubId: Int64
        @Option(help: "IANA time zone.") var timezone: String = "UTC"

        func run() async throws {
            let configuration = try options.load()
            guard TimeZones.validatedInput(timezone) != nil else {
                throw ValidationError(
                    "'\(InputText.sanitized(timezone, maxBytes: 64))' is not an IANA time zone name "
                        + "(e.g. Europe/Berlin; offsets such as UTC+05:30 are not accepted)"
                )
            }
            let (login, githubId, timezone) = (login, githubId, timezone)
            let line = try await withDatabase(configuration.requireDatabaseURL(), logger: makeLogger("devtrack.users")) { database in
                let user = try await UserRepository(database).createUser(login: login, githubID: githubId, timezone: timezone)
                let token = try await TokenRepository(database).createToken(userID: user.id, name: "cli").1
                return TokenLine(userID: user.id, token: token)
            }
            print(line.json)
        }
    }
}

extension UsersCommand {
    /// For a hub without an OAuth App, or a person whose GitHub sign-in is broken: a link that opens a session.
    struct SignInLink: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sign-in-link", abstract: "Print a one-time link that signs the user in to the dashboard (expires after --minutes).")
        @OptionGroup var options: CommonOptions
        @Option(help: "The user's login.") var login: String
        @Option(help: "Minutes the link stays usable (1 to 1440).") var minutes: Int = SignInLinks.defaultMinutes

        func validate() throws {
            guard (1...1440).contains(minutes) else { throw ValidationError("--minutes must be from 1 to 1440") }
        }

        func run() async throws {
            let configuration = try options.load()
            let (login, minutes) = (login, minutes)
            let token = try await withDatabase(configuration.requireDatabaseURL(), logger: makeLogger("devtrack.users")) { database in
                guard let user = try await UserRepository(database).user(login: login) else { throw ValidationError("no user with login \(login)") }
                return try await SessionRepository(database).createSignInLink(userID: user.id, lifetime: .seconds(minutes * 60))
            }
            print(SignInLinks.url(apiURL: configuration.publicAPIURL, token: token))
        }
    }
}

extension UsersCommand {
    /// What `DELETE /api/v1/me` does, for an operator (a user who cannot sign in, a request by mail).
    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a user and every row of theirs; prints what went from the tables without foreign keys, as JSON.",
            discussion: """
                Their raw events stay in Kafka until its retention ends; replayed or late ones are dropped, since no source, key or \
                user matches them any more.
                """)
        @OptionGroup var options: CommonOptions
        @Option(help: "The user's login.") var login: String
        @Option(help: "The same login again, to confirm.") var confirm: String

        func validate() throws {
            guard confirm.lowercased() == login.lowercased() else { throw ValidationError("--confirm must repeat --login") }
        }

        /// Not optimised: Swift 6.3.1's optimiser crashes (signal 11 while splitting this coroutine) in release builds.
        @_optimize(none)
        func run() async throws {
            let configuration = try options.load()
            let login = login
            let deletion = try await withDatabase(configuration.requireDatabaseURL(), logger: makeLogger("devtrack.users")) { database in
                guard let user = try await UserRepository(database).user(login: login) else { throw ValidationError("no user with login \(login)") }
                guard let deletion = try await AccountRepository(database).deleteAccount(userID: user.id) else {
                    throw ValidationError("no user with login \(login)")
                }
                return deletion
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            print(String(decoding: try encoder.encode(deletion), as: UTF8.self))
        }
    }
}

/// One-time sign-in links, as printed by `users sign-in-link` and the `dev` banner.
enum SignInLinks {
    static let defaultMinutes = 60

    static func url(apiURL: String, token: String) -> String {
        "\(apiURL.hasSuffix("/") ? String(apiURL.dropLast()) : apiURL)/auth/link/\(token)"
    }
}

struct TokensCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tokens", abstract: "Manage API tokens.", subcommands: [Create.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a token for a user; prints {\"user_id\",\"token\"}.")
        @OptionGroup var options: CommonOptions
        @Option(help: "The user's login.") var login: String

        func run() async throws {
            let configuration = try options.load()
            let login = login
            let line = try await withDatabase(configuration.requireDatabaseURL(), logger: makeLogger("devtrack.tokens")) { database in
                guard let user = try await UserRepository(database).user(login: login) else { throw ValidationError("no user with login \(login)") }
                return TokenLine(userID: user.id, token: try await TokenRepository(database).createToken(userID: user.id, name: "cli").1)
            }
            print(line.json)
        }
    }
}

/// The one JSON line `users create` and `tokens create` print.
struct TokenLine: Encodable, Sendable {
    let userID: String
    let token: String

    init(userID: UUID, token: String) {
        self.userID = userID.uuidString.lowercased()
        self.token = token
    }

    enum CodingKeys: String, CodingKey {
        case userID = "user_id"
        case token
    }

    var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }
}
