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
            StopAtExit.register(postgres, removing: directory)
            return postgres.maintenanceURL
        }
        server = task
        return try await task.value
    }

    /// A new database on the test server: empty, or (`migrated`) a copy of one migrated to the current schema
    /// once per test process, which spares every test the migrations' work (and their load on the machine).
    public nonisolated func freshDatabase(migrated: Bool = false) async throws -> DatabaseURL {
        let server = try await serverURL()
        let template = migrated ? try await migratedTemplate() : nil
        let name = "test_\(UUID().uuidString.prefix(13).lowercased().replacingOccurrences(of: "-", with: ""))"
        let statement = "CREATE DATABASE \(name)\(template.map { " TEMPLATE \($0)" } ?? "")"
        if template == nil {
            try await create(statement, on: server)
        } else {
            try await createFromTemplate(statement, on: server)
        }
        return server.with(database: name)
    }

    /// Runs one statement on the server's maintenance database.
    private nonisolated func create(_ statement: String, on server: DatabaseURL) async throws {
        let admin = PostgresClient(configuration: server.clientConfiguration(), backgroundLogger: logger)
        try await withRunningClient(admin) {
            try await admin.query(PostgresQuery(unsafeSQL: statement))
        }
    }

    private var lastCopy: Task<Void, any Error>?

    /// Copies of the template are made one at a time: PostgreSQL refuses to copy a database that another copy
    /// is reading (`55006 source database is being accessed by other users`).
    private func createFromTemplate(_ statement: String, on server: DatabaseURL) async throws {
        let previous = lastCopy
        let copy = Task {
            _ = await previous?.result
            // The template's own migrating connections close asynchronously: until they are gone, PostgreSQL
            // refuses the copy (after waiting 5 s itself), and it is asked again.
            for attempt in 1... {
                do {
                    return try await create(statement, on: server)
                } catch let error as PSQLError where error.serverInfo?[.sqlState] == "55006" && attempt < 20 {
                    try await Task.sleep(for: .milliseconds(250))
                }
            }
        }
        lastCopy = copy
        try await copy.value
    }

    private var template: Task<String, any Error>?

    /// The migrated database fresh ones are copied from; no session stays connected to it (PostgreSQL copies
    /// only a template nobody uses).
    private func migratedTemplate() async throws -> String {
        if let template { return try await template.value }
        let logger = self.logger
        let task = Task {
            let url = try await freshDatabase()
            let client = PostgresClient(configuration: url.clientConfiguration(), backgroundLogger: logger)
            try await withRunningClient(client) {
                try await Migrator(directory: "\(RepositoryPaths.root)/schema").migrate(Database(client: client, logger: logger), logger: logger)
            }
            // Nobody connects to it any more, not even autovacuum (a session on it would stop the copies).
            try await create("ALTER DATABASE \(url.database) WITH ALLOW_CONNECTIONS false", on: try await serverURL())
            return url.database
        }
        template = task
        return try await task.value
    }

    /// Runs `body` with every repository on a new database migrated to the current schema.
    public nonisolated func withFreshStore<T: Sendable>(_ body: @Sendable (TestStore, DatabaseURL) async throws -> T) async throws -> T {
        let url = try await freshDatabase(migrated: true)
        let logger = self.logger
        let client = PostgresClient(configuration: url.clientConfiguration(), backgroundLogger: logger)
        return try await withRunningClient(client) {
            let database = Database(client: client, logger: logger)
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
    public var tokens: TokenRepository { TokenRepository(database) }
    public var sessions: SessionRepository { SessionRepository(database) }
    public var githubAccounts: GitHubAccountRepository { GitHubAccountRepository(database) }
    public var githubSync: GitHubSyncRepository { GitHubSyncRepository(database) }
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
    public var accounts: AccountRepository { AccountRepository(database) }
}

/// Runs `body` while `client` runs, then stops it.
public func withRunningClient<T: Sendable>(_ client: PostgresClient, _ body: () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { await client.run() }
        defer { group.cancelAll() }
        return try await body()
    }
}

/// Stops the tests' private cluster when the test process exits, and deletes it (a run writes about a gigabyte).
enum StopAtExit {
    nonisolated(unsafe) static var command: String?

    static func register(_ postgres: EmbeddedPostgres, removing directory: String) {
        command = "\(postgres.stopCommand); rm -rf '\(directory)'"
        atexit {
            if let command = StopAtExit.command { _ = system(command) }
        }
    }
}
