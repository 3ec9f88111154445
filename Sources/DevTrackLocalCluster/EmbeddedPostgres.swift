import DevTrackStore
import Foundation
import Logging

/// A private PostgreSQL cluster under a data folder, started with Debian's `initdb`/`pg_ctl`, for
/// `devtrack dev` and the tests when no `DATABASE_URL` is given. As root (CI), it runs the server as the
/// `postgres` user, since PostgreSQL refuses to run as root.
public struct EmbeddedPostgres: Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public let dataDirectory: String
    public let port: Int
    let binDirectory: String
    let runAsPostgres: Bool

    var clusterDirectory: String { "\(dataDirectory)/pg" }
    var socketDirectory: String { "\(dataDirectory)/pg-run" }
    var logFile: String { "\(dataDirectory)/postgres.log" }

    public static let username = "devtrack"

    public init(dataDirectory: String, port: Int? = nil) throws(Failure) {
        self.dataDirectory = URL(fileURLWithPath: dataDirectory).standardizedFileURL.path
        self.binDirectory = try Self.findBinDirectory()
        self.runAsPostgres = getuid() == 0
        if let port {
            self.port = port
        } else if let running = Self.runningPort(clusterDirectory: "\(self.dataDirectory)/pg") {
            self.port = running
        } else {
            self.port = try Self.freePort()
        }
    }

    /// The URL of the `postgres` maintenance database on this cluster.
    public var maintenanceURL: DatabaseURL {
        DatabaseURL(host: "127.0.0.1", port: port, username: Self.username, password: nil, database: "postgres")
    }

    /// Creates the cluster on first use, then starts it unless it already runs. Returns when it accepts
    /// connections.
    public func start(logger: Logger) async throws(Failure) {
        try FileManager.default.createDirectoryOrFail(dataDirectory)
        try FileManager.default.createDirectoryOrFail(socketDirectory)
        if runAsPostgres {
            try await run("/bin/chown", ["-R", "postgres:postgres", dataDirectory], asPostgres: false)
        }
        if !FileManager.default.fileExists(atPath: "\(clusterDirectory)/PG_VERSION") {
            logger.info("initialising a private PostgreSQL cluster in \(clusterDirectory)")
            try await run(
                "\(binDirectory)/initdb",
                [
                    "-D", clusterDirectory, "-U", Self.username, "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8",
                ])
        }
        if Self.runningPort(clusterDirectory: clusterDirectory) != nil {
            logger.info("PostgreSQL already running in \(clusterDirectory) on port \(port)")
            return
        }
        let options = "-p \(port) -k \(socketDirectory) -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=1000"
        try await run("\(binDirectory)/pg_ctl", ["-D", clusterDirectory, "-o", options, "-l", logFile, "-w", "-t", "60", "start"])
        logger.info("PostgreSQL started on 127.0.0.1:\(port)")
    }

    public func stop() async {
        try? await run("\(binDirectory)/pg_ctl", ["-D", clusterDirectory, "-m", "fast", "-w", "stop"])
    }

    /// A shell command that stops the cluster, for exit handlers that cannot await.
    public var stopCommand: String {
        let command = "\(binDirectory)/pg_ctl -D \(clusterDirectory) -m immediate -w stop >/dev/null 2>&1"
        return runAsPostgres ? "runuser -u postgres -- \(command)" : command
    }

    private func run(_ executable: String, _ arguments: [String], asPostgres: Bool? = nil) async throws(Failure) {
        let outcome =
            (asPostgres ?? runAsPostgres)
            ? await ChildProcess.run("/usr/sbin/runuser", ["-u", "postgres", "--", executable] + arguments)
            : await ChildProcess.run(executable, arguments)
        if outcome.status != 0 {
            throw Failure(
                description:
                    "\((executable as NSString).lastPathComponent) \(arguments.joined(separator: " ")) failed (\(outcome.status)): \(outcome.output)")
        }
    }

    /// Debian installs server binaries under /usr/lib/postgresql/<version>/bin; take the newest.
    static func findBinDirectory() throws(Failure) -> String {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [])
            .compactMap(Int.init).sorted(by: >)
        for version in versions where FileManager.default.isExecutableFile(atPath: "\(root)/\(version)/bin/initdb") {
            return "\(root)/\(version)/bin"
        }
        throw Failure(description: "PostgreSQL server binaries not found under \(root): run scripts/install-deps (apt-get install postgresql)")
    }

    /// The port of a server already running on this cluster (line 4 of postmaster.pid), if any.
    static func runningPort(clusterDirectory: String) -> Int? {
        guard let pidFile = try? String(contentsOfFile: "\(clusterDirectory)/postmaster.pid", encoding: .utf8) else { return nil }
        let lines = pidFile.split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count > 3, let pid = Int32(lines[0]), kill(pid, 0) == 0 else { return nil }
        return Int(lines[3])
    }

    static func freePort() throws(Failure) -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Bool in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw Failure(description: "cannot find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

extension FileManager {
    func createDirectoryOrFail(_ path: String) throws(EmbeddedPostgres.Failure) {
        do {
            try createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw EmbeddedPostgres.Failure(description: "cannot create \(path): \(error)")
        }
    }
}
