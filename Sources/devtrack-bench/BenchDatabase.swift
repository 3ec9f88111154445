import DevTrackLocalCluster
import DevTrackStore
import Foundation
import Logging
import PostgresNIO

/// Runs `body` on a fresh, migrated database: on `databaseURL` (else `$DATABASE_URL`, else a private
/// cluster under .build/bench-pg), dropped afterwards unless `keep`.
func withBenchDatabase<T: Sendable>(
    databaseURL: String?, keep: Bool, logger: Logger, _ body: (PostgresClient, Database) async throws -> T
) async throws -> T {
    let root = FileManager.default.currentDirectoryPath
    let server: DatabaseURL
    var embedded: EmbeddedPostgres?
    if let url = databaseURL ?? ProcessInfo.processInfo.environment["DATABASE_URL"].flatMap({ $0.isEmpty ? nil : $0 }) {
        server = try DatabaseURL(url)
    } else {
        let postgres = try EmbeddedPostgres(dataDirectory: "\(root)/.build/bench-pg")
        try await postgres.start(logger: logger)
        embedded = postgres
        server = postgres.maintenanceURL
    }
    let name = "bench_\(UUID().uuidString.prefix(8).lowercased())"
    let admin = PostgresClient(configuration: server.clientConfiguration(), backgroundLogger: logger)
    try await running(admin) { try await admin.query("CREATE DATABASE \(unescaped: name)") }
    let client = PostgresClient(configuration: server.with(database: name).clientConfiguration(), backgroundLogger: logger)
    let result: Result<T, any Error>
    do {
        result = .success(
            try await running(client) { () async throws -> T in
                let database = Database(client: client, logger: logger)
                _ = try await Migrator(directory: "\(root)/schema").migrate(database, logger: logger)
                return try await body(client, database)
            })
    } catch {
        result = .failure(error)
    }
    if keep {
        say("kept database \(name)")
    } else {
        let dropper = PostgresClient(configuration: server.clientConfiguration(), backgroundLogger: logger)
        try? await running(dropper) { try await dropper.query("DROP DATABASE \(unescaped: name)") }
    }
    if let embedded { await embedded.stop() }
    return try result.get()
}

private func running<T: Sendable>(_ client: PostgresClient, _ body: () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { await client.run() }
        defer { group.cancelAll() }
        return try await body()
    }
}

func format(_ duration: Duration) -> String {
    String(format: "%.1f s", secondsIn(duration))
}

func secondsIn(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}
