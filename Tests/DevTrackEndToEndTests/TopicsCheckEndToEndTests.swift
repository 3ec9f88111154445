import Foundation
import Testing

/// `devtrack topics check` on the built binary against a one-broker cluster (librdkafka's mock): the files' replication
/// factor of 3 is reported as drift, `--replication-factor 1` matches; configs are not compared there, and it says so.
@Suite(.timeLimit(.minutes(3)))
struct TopicsCheckEndToEndTests {
    @Test func replicationDriftIsReportedAndAMatchingFactorPasses() async throws {
        try await withHub { hub in
            let drift = try await hub.run(["topics", "check"])
            #expect(drift.code == 1, "\(drift.output)")
            #expect(drift.output.contains("devtrack.activity: drift: replication factor 1, the specification asks for 3"), "\(drift.output)")
            #expect(drift.output.contains("10 difference(s)"), "every topic of topics/: \(drift.output)")
            let matching = try await hub.run(["topics", "check", "--replication-factor", "1"])
            #expect(matching.code == 0, "\(matching.output)")
            #expect(matching.output.contains("every topic of topics/ is as specified (partitions and replication; configs unread)"))
            #expect(matching.output.contains("configs not compared:"), "the mock does not describe configs: \(matching.output)")
        }
    }
}
