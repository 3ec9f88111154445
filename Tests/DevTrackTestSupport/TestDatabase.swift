import DevTrackLocalCluster
import DevTrackStore
import Foundation
import Logging
import PostgresNIO

/// A real PostgreSQL for integration and end-to-end tests: `DATABASE_URL` when set, else one private
/// cluster per test process (started once, stopped at exit). Every test gets a fresh database of its own.
public actor TestDatabase {
    public static let shared = TestDatabase()
    private var server: Task<DatabaseURL, any Error>?
    let logger = Logger(label: "test-database")

    /// Started once; concurrent callers share the same startup.
    public func serverURL() async throws -> DatabaseURL {
        if let server { return try await server.value }
        let logger = self.logger
        let task = Task {
            if let text = ProcessInfo.processInfo.environment["DATABASE_URL"], !text.isEmpty {
                return try DatabaseURL(text)
            }
            let directory = NSTemporaryDirectory() + "devtrack-tests-\(getpid())"
            let postgres = try EmbeddedPostgres(dataDirectory: directory)
            try await postgres.start(logger: logger)
            StopAtExit.register(postgres)
            return postgres.maintenanceURL
        }
        server = task
        return try await task.value
    }

    /// A new, empty database on the test server.
    public nonisolated func freshDatabase() async throws -> DatabaseURL {
        let server = try await serverURL()
        let name = "test_\(UUID().uuidString.prefix(13).lowercased().replacingOccurrences(of: "-", with: ""))"
        let admin = PostgresClient(configuration: server.clientConfiguration(), backgroundLogger: logger)
        try await withRunningClient(admin) {
            try await admin.query("CREATE DATABASE \(unescaped: name)")
        }
        return server.with(database: name)
    }

    /// Runs `body` with every repository on a new database migrated to the current schema.
    public nonisolated func withFreshStore<T: Sendable>(_ body: @Sendable (TestStore, DatabaseURL) async throws -> T) async throws -> T {
        let url = try await freshDatabase()
        let logger = self.logger
        let client = PostgresClient(configuration: url.clientConfiguration(), backgroundLogger: logger)
        return try await withRunningClient(client) {
            let database = Database(client: client, logger: logger)
            try await Migrator(directory: "\(RepositoryPaths.root)/schema").migrate(database, logger: logger)
            return try await body(TestStore(database: database, client: client), url)
        }
    }
}

/// What a storage test works with: every repository, and the raw client for the SQL a test checks rows with.
public struct TestStore: Sendable {
    public let database: Database
    /// For assertions on rows no repository reads (and for setting up rows no API writes).
    public let client: PostgresClient

    public var users: UserRepository { UserRepository(database) }
    public var codingKeys: CodingKeyRepository { CodingKeyRepository(database) }
    public var sources: SourceRepository { SourceRepository(database) }
    public var largePayloads: LargePayloadRepository { LargePayloadRepository(database) }
    public var activity: ActivityRepository { ActivityRepository(database) }
    public var codingTime: CodingTimeRepository { CodingTimeRepository(database) }
    public var goals: GoalRepository { GoalRepository(database) }
    public var scheduler: SchedulerRepository { SchedulerRepository(database) }
    public var achievements: AchievementRepository { AchievementRepository(database) }
    public var streakFreezes: StreakFreezeRepository { StreakFreezeRepository(database) }
    public var notifications: NotificationRepository { NotificationRepository(database) }
    public var liveEvents: LiveEventRepository { LiveEventRepository(database) }
    public var outbox: OutboxRepository { OutboxRepository(database) }
    public var discord: DiscordSettingsRepository { DiscordSettingsRepository(database) }
    public var webhookEndpoints: WebhookEndpointRepository { WebhookEndpointRepository(database) }
}

/// Runs `body` while `client` runs, then stops it.
public func withRunningClient<T: Sendable>(_ client: PostgresClient, _ body: () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { await client.run() }
        defer { group.cancelAll() }
        return try await body()
    }
}

/// Stops the tests' private cluster when the test process exits.
enum StopAtExit {
    nonisolated(unsafe) static var command: String?

    static func register(_ postgres: EmbeddedPostgres) {
        command = postgres.stopCommand
        atexit {
            if let command = StopAtExit.command { _ = system(command) }
        }
    }
}
