import ArgumentParser
import DevTrackStore
import Foundation
import Logging
import NIOCore
import PostgresNIO
import Synchronization

/// A data export's memory does not grow with the user's data: two users, one with `--small` heartbeats and one with
/// `--heartbeats`, exported one after the other through `ExportRepository.writeRows` (what the download route streams),
/// with this process's resident memory sampled every 10 ms while each runs. Prints bytes, rows/s and the peak growth of
/// each, and their ratio.
struct ExportMemory: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export-memory", abstract: "Peak memory of a data export with few and with many heartbeats, side by side.")
    @Option(help: "Heartbeats of the large user.") var heartbeats: Int = 1_000_000
    @Option(help: "Heartbeats of the small user.") var small: Int = 10_000
    @Option(help: "PostgreSQL server URL (default: $DATABASE_URL, else a private cluster under .build/bench-pg).") var databaseURL: String?

    func run() async throws {
        var logger = Logger(label: "bench")
        logger.logLevel = .warning
        let (small, large) = (small, heartbeats)
        try await withBenchDatabase(databaseURL: databaseURL, keep: false, logger: logger) { client, database in
            var results: [(heartbeats: Int, bytes: Int, rows: Int, seconds: Double, growth: Int)] = []
            for count in [small, large] {
                let userID = UUID()
                try await client.query("INSERT INTO users (id, login, timezone) VALUES (\(userID), \("export-\(count)"), 'UTC')")
                let seeded = ContinuousClock.now
                try await client.query(
                    """
                    INSERT INTO heartbeats (user_id, time, entity, type, category, project, branch, language, editor, machine, is_write)
                    SELECT \(userID), 1700000000 + n * 30, 'Sources/App/File' || (n % 200) || '.swift', 'file', 'coding', 'project-' || (n % 7),
                           'main', 'Swift', 'vim', 'laptop', n % 5 = 0
                    FROM generate_series(1, \(count)) AS n
                    """)
                say("seeded \(count) heartbeats in \(format(ContinuousClock.now - seeded))")
                guard
                    case .created(let export) = try await ExportRepository(database).createExport(userID: userID, lifetime: .seconds(3600), limit: 1)
                else { throw ValidationError("the export was not made") }
                let baseline = residentBytes()
                let peak = PeakMemory(baseline)
                let started = ContinuousClock.now
                var bytes = 0
                let counts = try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        while !Task.isCancelled {
                            let now = residentBytes()
                            peak.note(now)
                            try await Task.sleep(for: .milliseconds(10))
                        }
                    }
                    defer { group.cancelAll() }
                    return try await ExportRepository(database).writeRows(of: export.id, userID: userID) { chunk in bytes += chunk.readableBytes }
                }
                let seconds = secondsIn(ContinuousClock.now - started)
                let rows = counts.reduce(0) { $0 + $1.count }
                let growth = peak.value - baseline
                results.append((count, bytes, rows, seconds, growth))
                say(
                    String(
                        format: "export of %d heartbeats: %.1f MB in %.1f s (%.0f rows/s), peak memory growth %.1f MB", count,
                        Double(bytes) / 1e6, seconds, Double(rows) / seconds, Double(growth) / 1e6))
            }
            let ratio = Double(max(results[1].growth, 1)) / Double(max(results[0].growth, 1))
            say(
                String(
                    format: "data %.0f× larger, peak memory growth %.2f× (%.1f MB vs %.1f MB)", Double(results[1].bytes) / Double(results[0].bytes),
                    ratio, Double(results[1].growth) / 1e6, Double(results[0].growth) / 1e6))
        }
    }
}

/// This process's resident set (VmRSS of /proc/self/status), in bytes.
func residentBytes() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
        let kilobytes = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) })
    else { return 0 }
    return kilobytes * 1024
}

/// The largest resident size seen by the sampling task.
final class PeakMemory: Sendable {
    private let peak: Mutex<Int>
    init(_ start: Int) { peak = Mutex(start) }
    func note(_ bytes: Int) { peak.withLock { $0 = max($0, bytes) } }
    var value: Int { peak.withLock { $0 } }
}
