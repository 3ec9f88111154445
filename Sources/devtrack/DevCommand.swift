import ArgumentParser
import DevTrackCore
import DevTrackLocalCluster
import DevTrackStore
import Foundation
import Kafka
import Logging
import PostgresNIO
import ServiceLifecycle

/// The embedded default: a private PostgreSQL cluster and an in-process mock Kafka cluster (unless
/// `DATABASE_URL` / `KAFKA_BROKERS` point elsewhere), migrations, topics, every role in one process, and a
/// demo user with a token, a webhook source and a signed sample webhook to post.
struct DevCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "dev", abstract: "Run the whole hub on the embedded default.")
    /// Where `dev` and its `postgres` subcommands keep the private cluster and keys, relative to the working folder.
    static let defaultDataFolder = "devtrack-data"
    @OptionGroup var options: CommonOptions
    @Option(help: "Data folder (PostgreSQL cluster, keys, sample payload).") var data: String = DevCommand.defaultDataFolder
    @Option(help: "Ingest port (default: $DEVTRACK_INGEST_PORT or 8080).") var ingestPort: Int?
    @Option(help: "API port (default: $DEVTRACK_API_PORT or 8081).") var apiPort: Int?
    @Flag(help: "Send ~90 days of the demo user's activity through the pipeline once the hub is up (webhooks and heartbeats).")
    var demoData = false
    @Option(help: "Days of demo data, ending today (1 to 366).") var demoDays: Int = DemoPlan.defaultDays
    @OptionGroup var opsOptions: OpsOptions

    func validate() throws {
        guard (1...366).contains(demoDays) else { throw ValidationError("--demo-days must be from 1 to 366") }
    }

    /// Unconsumed bytes (of message values, before compression) per raw partition at which `dev` answers 503.
    static let mockBacklogLimitBytes = 4_000_000
    static let demoLogin = "Codertocat"
    static let demoGitHubID: Int64 = 21_031_067

    func run() async throws {
        var configuration = try options.load()
        if let ingestPort { configuration.ingest.port = ingestPort }
        if let apiPort { configuration.api.port = apiPort }
        // The demo's heartbeats go back --demo-days (90); the default age limit (30) is for editors' offline queues.
        if demoData { configuration.coding.maxHeartbeatAgeDays = max(configuration.coding.maxHeartbeatAgeDays, demoDays + 1) }
        let logger = makeLogger("devtrack.dev")
        let dataDirectory = URL(fileURLWithPath: data).standardizedFileURL.path
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)

        // PostgreSQL
        var embedded: EmbeddedPostgres?
        let databaseURL: DatabaseURL
        if let url = configuration.databaseURL {
            databaseURL = try DatabaseURL(url)
        } else {
            let postgres = try EmbeddedPostgres(dataDirectory: dataDirectory)
            databaseURL = try await startPrivatePostgres(postgres, logger: logger)
            embedded = postgres
        }
        do {
            try await runHub(configuration: configuration, databaseURL: databaseURL, dataDirectory: dataDirectory, logger: logger)
        } catch {
            await embedded?.stop()
            throw error
        }
        await embedded?.stop()
    }

    func runHub(configuration: HubConfiguration, databaseURL: DatabaseURL, dataDirectory: String, logger: Logger) async throws {
        var configuration = configuration

        // Kafka
        var services: [any Service] = []
        let brokers: String
        var backlog: KafkaBacklog?
        let specifications = try TopicFile.load(directory: configuration.home.topicsDirectory)
        if let existing = configuration.kafkaBrokers {
            brokers = existing
            let admin = try KafkaAdmin(configuration: KafkaConfiguration(bootstrapServers: brokers), logger: logger)
            _ = try await admin.apply(specifications)
            await admin.close()
        } else {
            let cluster = try KafkaMockCluster(brokers: configuration.kafka.mockBrokers, logger: logger)
            for specification in specifications { try cluster.createTopic(specification) }
            brokers = cluster.bootstrapServers
            services.append(KafkaMockClusterService(cluster))
            // The mock keeps ~5 MB per partition: stop accepting well before a lagging worker could lose anything.
            backlog = KafkaBacklog(limitBytes: Self.mockBacklogLimitBytes)
        }

        // Keys and secrets persist in the data folder so restarts keep working.
        if configuration.encryptionKeys.isEmpty {
            configuration.encryptionKeys = [try persistedSecret("\(dataDirectory)/encryption.key") { SecretBox.newBase64Key() }]
        }
        configuration.githubAppSecret =
            try configuration.githubAppSecret
            ?? persistedSecret("\(dataDirectory)/github-app.secret") { Credentials.newWebhookSecret() }
        let secretBox = try configuration.requireSecretBox()

        let migrator = try Migrator(directory: configuration.home.schemaDirectory)
        let prepared = configuration
        let demo = try await withDatabase(databaseURL, logger: logger) { database in
            try await migrator.migrate(database, logger: logger)
            return try await prepareDemo(database: database, secretBox: secretBox, configuration: prepared, codingKey: demoData)
        }
        let samplePath = "\(dataDirectory)/sample-push.json"
        let sample = Self.samplePush(login: Self.demoLogin, githubID: Self.demoGitHubID)
        try Data(sample.utf8).write(to: URL(fileURLWithPath: samplePath))

        printLine("DATABASE_URL=\(databaseURL.urlString)")
        printLine("KAFKA_BROKERS=\(brokers)")

        let client = PostgresClient(configuration: databaseURL.clientConfiguration(), backgroundLogger: logger)
        let database = Database(client: client, logger: logger)
        let finalConfiguration = configuration
        let roles = RoleFactory(configuration: finalConfiguration, database: database, brokers: brokers, logger: logger, backlog: backlog)
        let producer = try roles.producer()
        let (listening, whenListening) = AsyncStream<Void>.makeStream()
        let latch = ReadinessLatch(count: 2) {
            printLine(Self.banner(configuration: finalConfiguration, demo: demo, samplePath: samplePath, sample: sample))
            printLine("devtrack dev ready: ingest on :\(finalConfiguration.ingest.port), api on :\(finalConfiguration.api.port)")
            whenListening.yield()
            whenListening.finish()
        }
        if let ops = roles.ops(port: opsOptions.opsPort, reading: [.outbox, .consumerLag]) { services.append(ops) }
        services += [client, KafkaProducerService(producer)]
        let deliverers = try roles.deliverers(secretBox: secretBox)
        services += deliverers
        services += try RoleFactory.workerNames.map { try roles.worker(named: $0, producer: producer, handoffs: deliverers) }
        services.append(roles.scheduler(producer: producer))
        services.append(try roles.githubSync(producer: producer, secretBox: secretBox))
        services.append(roles.ingest(producer: producer, secretBox: secretBox) { await latch.arrive() })
        services.append(try roles.api(secretBox: secretBox) { await latch.arrive() })
        // Last, so that it is the first to stop: its requests need ingest and the API up.
        if demoData, let codingKey = demo.codingKey {
            let plan = DemoPlan.make(
                days: demoDays, now: Date(), login: Self.demoLogin, githubID: Self.demoGitHubID,
                maxBatch: configuration.coding.maxHeartbeatsPerRequest,
                timeout: Double(configuration.coding.heartbeatTimeoutSeconds))
            services.append(
                DemoDataSender(
                    plan: plan, ingestURL: configuration.publicIngestURL, apiURL: configuration.publicAPIURL, sourceURL: demo.sourceURL,
                    sourceSecret: demo.sourceSecret, codingKey: codingKey, token: demo.token, outputPath: "\(dataDirectory)/demo-data.json",
                    ready: listening, logger: logger))
        }
        try await runServiceGroup(services, logger: logger)
    }

    struct Demo: Sendable {
        let token: String
        let sourceURL: String
        let sourceSecret: String
        /// A custom source (issue 6's "any system"), for the second sample.
        let customURL: String
        let customSecret: String
        /// Opens the dashboard signed in as the demo user, once.
        let signInLink: String
        /// For the demo data's heartbeats (made only with `--demo-data`).
        let codingKey: String?
    }

    /// The demo user is GitHub's documentation account, so the sample payloads credit it.
    func prepareDemo(database: Database, secretBox: SecretBox, configuration: HubConfiguration, codingKey: Bool) async throws -> Demo {
        var user = try await UserRepository(database).user(login: Self.demoLogin)
        if user == nil {
            user = try await UserRepository(database).createUser(login: Self.demoLogin, githubID: Self.demoGitHubID, timezone: "UTC")
        }
        guard let user else { throw StoreError.notFound("demo user") }
        let token = try await TokenRepository(database).createToken(userID: user.id, name: "dev").1
        let (source, secret) = try await demoSource(kind: "github", userID: user.id, database: database, secretBox: secretBox)
        let (custom, customSecret) = try await demoSource(kind: "custom", userID: user.id, database: database, secretBox: secretBox)
        let link = try await SessionRepository(database).createSignInLink(userID: user.id, lifetime: .seconds(SignInLinks.defaultMinutes * 60))
        let key = codingKey ? try await CodingKeyRepository(database).createCodingKey(userID: user.id, name: "demo data").key : nil
        return Demo(
            token: token, sourceURL: "\(configuration.publicIngestURL)/webhooks/github/\(source.id.uuidString.lowercased())",
            sourceSecret: secret, customURL: "\(configuration.publicIngestURL)/webhooks/custom/\(custom.id.uuidString.lowercased())",
            customSecret: customSecret, signInLink: SignInLinks.url(apiURL: configuration.publicAPIURL, token: link), codingKey: key)
    }

    /// The demo user's source of `kind` and its secret, made on the first run.
    private func demoSource(kind: String, userID: UUID, database: Database, secretBox: SecretBox) async throws -> (SourceRecord, String) {
        if let existing = try await SourceRepository(database).sources(userID: userID).first(where: { $0.kind == kind }),
            let credentials = try await SourceRepository(database).sourceCredentials(id: existing.id), let sealed = credentials.sealedSecrets.first
        {
            return (existing, try secretBox.open(sealed))
        }
        let secret = kind == "custom" ? StandardWebhooks.newSecret() : Credentials.newWebhookSecret()
        return (
            try await SourceRepository(database).createSource(userID: userID, kind: kind, name: "demo", sealedSecret: secretBox.seal(secret)), secret
        )
    }

    static func banner(configuration: HubConfiguration, demo: Demo, samplePath: String, sample: String) -> String {
        let signature = GitHubSignature.sign(body: Array(sample.utf8), secret: Array(demo.sourceSecret.utf8))
        let customSample = #"{"type":"deploy","occurred_at":"\#(Timestamps.format(Date()))","id":"demo-deploy-1"}"#
        let api = "http://\(configuration.api.host):\(configuration.api.port)"
        return """

            DevTrack Hub is starting with a demo user (\(demoLogin)).

            Open the dashboard, signed in as \(demoLogin) (the link works once, for \(SignInLinks.defaultMinutes) minutes; another:
            devtrack users sign-in-link --login \(demoLogin)):
              \(demo.signInLink)

              API token:        \(demo.token)
              webhook source:   \(demo.sourceURL)
              source secret:    \(demo.sourceSecret)

            Post a signed sample push (one commit, now):
              curl -sS -X POST '\(demo.sourceURL)' -H 'Content-Type: application/json' \\
                -H 'X-GitHub-Event: push' -H 'X-GitHub-Delivery: sample-1' \\
                -H 'X-Hub-Signature-256: \(signature)' --data-binary @\(samplePath)

            Post an event from any other system to the custom source (signed here with an HMAC of the body;
            Standard Webhooks signatures work too, see docs/http-api.md):
              curl -sS -X POST '\(demo.customURL)' -H 'Content-Type: application/json' \\
                -H 'X-Hub-Signature-256: \(GitHubSignature.sign(body: Array(customSample.utf8), secret: Array(demo.customSecret.utf8)))' \\
                --data '\(customSample)'

            Then read the metrics:
              curl -sS -H 'Authorization: Bearer \(demo.token)' \(api)/api/v1/metrics/summary
              curl -sS -H 'Authorization: Bearer \(demo.token)' \(api)/api/v1/metrics/custom
              curl -sS -H 'Authorization: Bearer \(demo.token)' \(api)/api/v1/metrics/streak
              curl -sS -H 'Authorization: Bearer \(demo.token)' \
            '\(api)/api/v1/metrics/daily?from=\(LocalDate(Date(), in: .gmt).adding(days: -6))&to=\(LocalDate(Date(), in: .gmt))'
              curl -sS -H 'Authorization: Bearer \(demo.token)' \(api)/api/v1/activity

            Make the profile public (and join the leaderboard); then its profile, cards and badges need no token:
              curl -sS -X PATCH -H 'Authorization: Bearer \(demo.token)' -H 'Content-Type: application/json' \\
                --data '{"is_public": true, "leaderboard_opt_in": true}' \(api)/api/v1/settings
              curl -sS \(api)/api/v1/public/\(demoLogin)
              \(api)/api/v1/public/\(demoLogin)/cards/streak.svg?theme=dark  (also stats.svg, languages.svg)
              \(api)/api/v1/public/\(demoLogin)/badges/commits.svg           (a README image: ![commits](…))
              curl -sS '\(api)/api/v1/leaderboard?metric=commits&period=week'

            """
    }

    /// A push of one distinct commit by the demo user, timestamped now, with a fresh sha.
    static func samplePush(login: String, githubID: Int64) -> String {
        let sha = Hex.encode(Credentials.randomBytes(20))
        let now = Timestamps.format(Date())
        return """
            {"ref":"refs/heads/main","before":"0000000000000000000000000000000000000000","after":"\(sha)",\
            "created":false,"deleted":false,"forced":false,\
            "commits":[{"id":"\(sha)","distinct":true,"message":"Sample commit from devtrack dev","timestamp":"\(now)",\
            "author":{"name":"\(login)","email":"\(login)@users.noreply.github.com","username":"\(login)"}}],\
            "pusher":{"name":"\(login)","email":"\(login)@users.noreply.github.com"},\
            "repository":{"full_name":"\(login)/hello-devtrack","language":"Swift","private":false},\
            "sender":{"login":"\(login)","id":\(githubID),"type":"User"}}
            """
    }
}

/// Starts (or reuses) the private cluster and returns the URL of its `devtrack` database.
func startPrivatePostgres(_ postgres: EmbeddedPostgres, logger: Logger) async throws -> DatabaseURL {
    try await postgres.start(logger: logger)
    try await withDatabase(postgres.maintenanceURL, logger: logger) { database in
        try await database.createDatabaseIfMissing("devtrack")
    }
    return postgres.maintenanceURL.with(database: "devtrack")
}

/// `devtrack postgres start|stop`: the private cluster of `devtrack dev` on its own, for running the roles
/// as separate processes without a PostgreSQL server of your own.
struct PostgresCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "postgres", abstract: "Start or stop a private PostgreSQL cluster in a data folder.",
        subcommands: [Start.self, Stop.self])

    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start it (initdb the first time) and print DATABASE_URL=….")
        @Option(help: "Data folder.") var data: String = DevCommand.defaultDataFolder

        func run() async throws {
            DevTrack.bootstrapLogging()
            let postgres = try EmbeddedPostgres(dataDirectory: URL(fileURLWithPath: data).standardizedFileURL.path)
            let url = try await startPrivatePostgres(postgres, logger: makeLogger("devtrack.postgres"))
            printLine("DATABASE_URL=\(url.urlString)")
        }
    }

    struct Stop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop it.")
        @Option(help: "Data folder.") var data: String = DevCommand.defaultDataFolder

        func run() async throws {
            DevTrack.bootstrapLogging()
            await (try EmbeddedPostgres(dataDirectory: URL(fileURLWithPath: data).standardizedFileURL.path)).stop()
        }
    }
}

/// Reads a secret from `path`, creating it (mode 0600) with `make` the first time.
func persistedSecret(_ path: String, make: () -> String) throws -> String {
    if let existing = try? String(contentsOfFile: path, encoding: .utf8), !existing.isEmpty {
        return existing.trimmingCharacters(in: .whitespacesAndNewlines)
    }
    let value = make()
    _ = FileManager.default.createFile(atPath: path, contents: Data(value.utf8), attributes: [.posixPermissions: 0o600])
    return value
}
