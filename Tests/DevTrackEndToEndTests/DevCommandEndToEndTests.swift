import DevTrackCore
import DevTrackTestSupport
import Foundation
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `devtrack dev`, the README's run command: everything in one process on the embedded default, and the
/// curl commands it prints really post a signed webhook and a custom event that show up in the metrics.
@Suite(.timeLimit(.minutes(5)))
struct DevCommandEndToEndTests {
    @Test func devStartsEverythingAndItsPrintedCurlCommandWorks() async throws {
        let directory = NSTemporaryDirectory() + "devtrack-dev-e2e-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (ingestPort, apiPort) = (try freePort(), try freePort())
        var environment = ProcessInfo.processInfo.environment
        for name in ["DATABASE_URL", "KAFKA_BROKERS", "DEVTRACK_CONFIG", "DEVTRACK_GITHUB_APP_SECRET", "DEVTRACK_ENCRYPTION_KEY"] {
            environment[name] = nil
        }
        environment["DEVTRACK_HOME"] = RepositoryPaths.root
        let dev = try RunningProcess(
            name: "dev", executable: HubUnderTest.binary,
            arguments: ["dev", "--data", "\(directory)/data", "--ingest-port", String(ingestPort), "--api-port", String(apiPort)],
            environment: environment, logPath: "\(directory)/dev.log")
        do {
            try await dev.waitForLine(containing: "ready", timeout: 120)
            let output = dev.output
            #expect(output.contains("DATABASE_URL=postgres"))
            #expect(output.contains("KAFKA_BROKERS=127.0.0.1:"))
            let token = try #require(value(after: "API token:", in: output))

            let lines = output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            let start = try #require(lines.firstIndex { $0.contains("curl -sS -X POST") })
            let end = try #require(lines[start...].firstIndex { $0.contains("--data-binary") })
            let curl = lines[start...end].joined(separator: "\n")
            let posted = try await shell(curl + " -o /dev/null -w '%{http_code}'")
            #expect(posted == "202", "printed curl answered \(posted)")

            let today = LocalDate(Date(), in: .gmt)
            let url = URL(string: "http://127.0.0.1:\(apiPort)/api/v1/metrics/summary?from=\(today.adding(days: -1))&to=\(today.adding(days: 1))")!
            var request = URLRequest(url: url)
            request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
            let commits = try await eventually(
                { () async throws -> Int in
                    let (data, _) = try await HubUnderTest.session.data(for: request)
                    return (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["commits"] as? Int ?? -1
                }, until: { $0 == 1 })
            #expect(commits == 1)

            // The second printed POST goes to the demo's custom source.
            let customStart = try #require(lines[(end + 1)...].firstIndex { $0.contains("curl -sS -X POST") })
            let customEnd = try #require(lines[customStart...].firstIndex { $0.contains("--data '") })
            let customPosted = try await shell(lines[customStart...customEnd].joined(separator: "\n") + " -o /dev/null -w '%{http_code}'")
            #expect(customPosted == "202", "printed custom curl answered \(customPosted)")
            var customRequest = URLRequest(url: URL(string: "http://127.0.0.1:\(apiPort)/api/v1/metrics/custom")!)
            customRequest.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
            let deploys = try await eventually(
                { () async throws -> Int in
                    let (data, _) = try await HubUnderTest.session.data(for: customRequest)
                    let totals = (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["totals"] as? [[String: Any]] ?? []
                    return totals.first { $0["kind"] as? String == "deploy" }?["count"] as? Int ?? 0
                }, until: { $0 == 1 })
            #expect(deploys == 1)
        } catch {
            await dev.stop()
            throw HarnessError("\(error)\n\(dev.output.suffix(4000))")
        }
        // SIGTERM: a graceful stop, exit code 0, and the private PostgreSQL stopped with it.
        dev.signal(SIGTERM)
        #expect(try await dev.waitForExit(timeout: 30) == 0, "\(dev.output.suffix(2000))")
        #expect(!FileManager.default.fileExists(atPath: "\(directory)/data/pg/postmaster.pid"))
    }

    private func value(after label: String, in output: String) -> String? {
        output.split(separator: "\n").first { $0.contains(label) }
            .map { $0.components(separatedBy: label)[1].trimmingCharacters(in: .whitespaces) }
    }

    private func shell(_ command: String) async throws -> String {
        let logPath = NSTemporaryDirectory() + "devtrack-shell-\(UUID().uuidString.prefix(8)).log"
        defer { unlink(logPath) }
        let process = try RunningProcess(
            name: "sh", executable: "/bin/sh", arguments: ["-c", command],
            environment: ProcessInfo.processInfo.environment, logPath: logPath)
        _ = try await process.waitForExit(timeout: 30)
        return process.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
