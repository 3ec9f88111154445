import DevTrackCore
import Foundation
import Testing

/// `/readyz` says what a role cannot do and why; a role refuses to start against a schema older than its build.
/// (PostgreSQL away is `DatabaseOutageEndToEndTests`, which stops the server.)
@Suite(.timeLimit(.minutes(3)))
struct ReadinessEndToEndTests {
    @Test func aSchemaBehindTheBuildIsReportedByReadinessAndRefusedAtStart() async throws {
        try await withHub { hub in
            // Ingest also asks Kafka (it produces); the API does not use it.
            for (url, checks) in [
                (hub.ingestURL, ["postgresql": "ok", "schema": "ok", "kafka": "ok"]), (hub.apiURL, ["postgresql": "ok", "schema": "ok"]),
            ] {
                let ready = try await hub.request("GET", "\(url)/readyz")
                #expect(ready.status == 200, "\(url): \(ready.text)")
                #expect(ready.json?["status"] as? String == "ready")
                #expect(ready.json?["checks"] as? [String: String] == checks, "\(ready.text)")
            }
            // The database as an older build left it: its newest migration not applied.
            try await hub.psql("DELETE FROM schema_migrations WHERE version = (SELECT max(version) FROM schema_migrations)")
            for url in [hub.ingestURL, hub.apiURL] {
                let behind = try await hub.request("GET", "\(url)/readyz")
                let checks = behind.json?["checks"] as? [String: String]
                #expect(behind.status == 503 && behind.json?["status"] as? String == "not ready", "\(url): \(behind.text)")
                #expect(checks?["postgresql"] == "ok", "\(behind.text)")
                let schema = checks?["schema"] ?? ""
                #expect(schema.contains("this build needs") && schema.contains("devtrack migrate"), "\(behind.text)")
            }
            for role in [["api", "--port", String(try freePort())], ["scheduler"], ["worker", "metrics"]] {
                let refused = try await hub.run(role)
                #expect(refused.code != 0, "\(role[0]) started against an old schema: \(refused.output)")
                #expect(refused.output.contains("but this build needs") && refused.output.contains("devtrack migrate"), "\(refused.output)")
            }
        }
    }
}
