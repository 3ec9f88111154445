import Foundation
import PostgresNIO

/// A `postgres://user:password@host:port/database` URL (also `?host=/socket/dir` for a Unix socket),
/// as in `DATABASE_URL`.
public struct DatabaseURL: Sendable, CustomStringConvertible {
    public let host: String
    public let port: Int
    public let username: String
    public let password: String?
    public let database: String
    public let socketDirectory: String?
    public let requireTLS: Bool

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    public init(_ text: String) throws(Invalid) {
        guard let components = URLComponents(string: text), ["postgres", "postgresql"].contains(components.scheme ?? "") else {
            throw Invalid(description: "DATABASE_URL must look like postgres://user:password@host:port/database")
        }
        let query = Dictionary((components.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
        self.host = components.host.flatMap { $0.isEmpty ? nil : $0 } ?? "127.0.0.1"
        self.port = components.port ?? Int(query["port"] ?? "") ?? 5432
        self.username = components.user.flatMap { $0.removingPercentEncoding } ?? "postgres"
        self.password = components.password.flatMap { $0.removingPercentEncoding }
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        self.database = path.isEmpty ? username : path
        self.socketDirectory = query["host"].flatMap { $0.hasPrefix("/") ? $0 : nil }
        self.requireTLS = ["require", "verify-ca", "verify-full"].contains(query["sslmode"] ?? "")
    }

    public init(host: String, port: Int, username: String, password: String?, database: String) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.socketDirectory = nil
        self.requireTLS = false
    }

    /// The same server, another database.
    public func with(database: String) -> DatabaseURL {
        DatabaseURL(host: host, port: port, username: username, password: password, database: database)
    }

    /// Without the password, for logs.
    public var description: String {
        "postgres://\(username)@\(host):\(port)/\(database)"
    }

    /// The full URL, password included (printed by `devtrack dev` for other processes to use).
    public var urlString: String {
        let credentials = password.map { "\(username):\($0.addingPercentEncoding(withAllowedCharacters: .urlUserAllowed) ?? $0)" } ?? username
        return "postgres://\(credentials)@\(host):\(port)/\(database)"
    }

    public func clientConfiguration() -> PostgresClient.Configuration {
        var configuration: PostgresClient.Configuration
        if let socketDirectory {
            configuration = PostgresClient.Configuration(
                unixSocketPath: "\(socketDirectory)/.s.PGSQL.\(port)", username: username, password: password, database: database)
        } else {
            configuration = PostgresClient.Configuration(
                host: host, port: port, username: username, password: password, database: database,
                tls: requireTLS ? .require(.makeClientConfiguration()) : .disable)
        }
        configuration.options.maximumConnections = Self.maximumConnections
        // Prepared statements (`PreparedBatchStatement`) are planned for their actual arguments every time: a
        // generic plan made while a table was nearly empty stays in use as it grows (measured: the fact-storing
        // statement's generic plan kept scanning `activities` whole, 2.1 ms per batch instead of 0.25). No JIT: the
        // hub's statements are short, and a batch statement whose estimate passed `jit_above_cost` spent 0.8 s
        // compiling itself for an execution of 40–90 ms without JIT (measured on a variant of the fact-storing statement).
        configuration.options.additionalStartupParameters = [
            ("plan_cache_mode", "force_custom_plan"), ("jit", "off"), ("application_name", Self.applicationName),
        ]
        return configuration
    }

    /// Connections a pool opens at most.
    public static let maximumConnections = 20

    /// What this process's connections are called in `pg_stat_activity`: the ops listener counts its own there.
    public static let applicationName = "devtrack-\(ProcessInfo.processInfo.processIdentifier)"
}
