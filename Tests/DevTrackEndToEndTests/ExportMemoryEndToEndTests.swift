import DevTrackCore
import DevTrackTestSupport
import Foundation
import Testing

/// A data export streams: the API process's peak memory moves by a bounded amount while it sends a download several
/// times larger (rows are read from PostgreSQL and written out in chunks, never gathered). Measured: 9–13 MB of growth
/// for a 184 MB download (the allocator's arenas and buffers, not the rows); a download held whole would add its own size.
@Suite(.timeLimit(.minutes(6)))
struct ExportMemoryEndToEndTests {
    /// Resets the process's peak resident memory to what it holds now (Linux: `5` to `/proc/<pid>/clear_refs`).
    static func resetPeakMemory(of pid: pid_t) throws {
        try Data("5".utf8).write(to: URL(fileURLWithPath: "/proc/\(pid)/clear_refs"))
    }

    /// The process's peak resident memory since the last reset (`VmHWM`), in bytes.
    static func peakMemory(of pid: pid_t) throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") })
        let kilobytes = try #require(Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? ""))
        return kilobytes * 1024
    }

    @Test func aLargeExportDownloadsWholeInBoundedMemory() async throws {
        try await withHub { hub in
            let user = try await hub.createUser(login: "Codertocat", githubID: 21031067)
            let heartbeats = 600_000
            try await hub.psql(
                """
                INSERT INTO heartbeats (user_id, time, entity, type, category, project, branch, language, editor, machine, is_write)
                SELECT '\(user.id)', 1709287200 + n * 30, '/home/octo/src/devtrack/Sources/Feature' || (n % 500) || '.swift', 'file', 'coding',
                       'devtrack', 'main', 'Swift', 'vim', 'laptop', n % 3 = 0
                FROM generate_series(1, \(heartbeats)) AS n
                """)
            let created = try await hub.api("POST", "/api/v1/export", "{}", token: user.token)
            #expect(created.status == 202, "\(created.text)")
            let rows = try #require(created.json?["rows"] as? [String: Int])
            #expect(rows["heartbeats"] == heartbeats)
            let download = try #require(created.json?["download_url"] as? String)

            try Self.resetPeakMemory(of: hub.api.pid)
            let before = try Self.peakMemory(of: hub.api.pid)
            let response = try await hub.get(download, token: user.token)
            let after = try Self.peakMemory(of: hub.api.pid)
            #expect(response.status == 200)
            let lines = response.body.split(separator: UInt8(ascii: "\n"))
            #expect(lines.count == rows.values.reduce(0, +) + 2, "a line per row, the header and the end line")
            let last = try #require(lines.last)
            let end = try #require(try JSONSerialization.jsonObject(with: Data(last)) as? [String: Any])
            #expect(end["type"] as? String == "end" && end["rows"] as? [String: Int] == rows)
            let growth = after - before
            print("export: \(response.body.count) bytes downloaded; the API's peak memory grew by \(growth) bytes (from \(before))")
            #expect(response.body.count > 150_000_000, "a download far larger than the bound below")
            #expect(growth < 48 << 20, "peak memory grew by \(growth) bytes while \(response.body.count) were sent")
        }
    }
}
