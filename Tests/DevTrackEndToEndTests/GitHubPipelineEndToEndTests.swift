import DevTrackCore
import DevTrackTestSupport
import Foundation
import Testing

/// The built `devtrack` binary, several processes, over HTTP: webhooks in, metrics out.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct GitHubPipelineEndToEndTests {
    /// A push of the fixture's sender with a new commit on another day (2019-03-01), outside the daily views checked.
    static func laterPush() throws -> [UInt8] {
        Array(String(decoding: try Fixtures.push(sha: sha()), as: UTF8.self).replacingOccurrences(of: "2019-05-15", with: "2019-03-01").utf8)
    }

    static func sha() -> String { Hex.encode(Credentials.randomBytes(20)) }

    @Test func signedFixturesBecomeExactMetricsAndDuplicatesOrBadSignaturesChangeNothing() async throws {
        try await withHub { hub in
            let user = try await hub.createUser(login: "Codertocat", githubID: 21031067)
            let fixtures: [(event: String, path: String)] = [
                ("push", "push/branch-created.json"),  // 1 commit, 2019-05-15
                ("push", "push/tag-deleted.json"),  // a tag deletion: no commits
                ("pull_request", "pull_request/opened.json"),  // PR opened by Codertocat
                ("pull_request_review", "pull_request_review/submitted.json"),
                ("issues", "issues/opened.json"),
                ("issue_comment", "issue_comment/created.json"),
                ("push", "push/branch-updated.json"),  // baxterthehacker has no account here
            ]
            for (index, fixture) in fixtures.enumerated() {
                let response = try await hub.postGitHub(fixture.event, Array(try Fixtures.data(fixture.path)), delivery: "fixture-\(index)")
                #expect(response.status == 202, "\(fixture.path): \(response.text)")
            }
            // The same delivery again: accepted (GitHub would retry otherwise), counted once.
            let again = try await hub.postGitHub("push", Array(try Fixtures.data("push/branch-created.json")), delivery: "fixture-0")
            #expect(again.status == 202)
            #expect(again.json?["delivery_id"] as? String == "fixture-0" && again.json?["status"] as? String == "accepted", "\(again.text)")

            let expected = [
                "commits": 1, "prs_opened": 1, "prs_merged": 0, "reviews": 1, "issues_opened": 1, "issues_closed": 0,
                "comments": 1,
            ]
            let summary = try await eventually(
                { try await hub.summary(token: user.token) },
                until: { summary in
                    expected.allSatisfy { summary[$0.key] == $0.value }
                })
            for (key, value) in expected { #expect(summary[key] == value, "\(key) in \(summary)") }

            // A bad signature: 401 with a JSON error, and nothing changes.
            let forged = try await hub.postGitHub(
                "push", try Fixtures.push(sha: Self.sha()), delivery: "forged", secret: "not-the-secret")
            #expect(forged.status == 401)
            #expect((forged.json?["error"] as? [String: Any])?["code"] as? String != nil, "\(forged.text)")
            let unsigned = try await hub.postGitHub("push", try Fixtures.push(sha: Self.sha()), delivery: "unsigned", signature: "")
            #expect(unsigned.status == 401)
            // Once a later push of the same sender (the same partitions, behind them) counts, the duplicate has been
            // through the whole pipeline: a positive signal that nothing more comes.
            #expect(try await hub.postGitHub("push", try Self.laterPush(), delivery: "later").status == 202)
            let settled = try await eventually({ try await hub.summary(token: user.token) }, until: { ($0["commits"] ?? 0) >= 2 })
            #expect(settled["commits"] == 2, "neither the duplicate nor the forgeries counted, only the fixture's and the later commit")

            // The daily view puts it on the commit's day, with every day of the range present.
            let daily = try await hub.get("/api/v1/metrics/daily?from=2019-05-14&to=2019-05-16", token: user.token)
            let days = daily.json?["days"] as? [[String: Any]] ?? []
            #expect(days.map { $0["date"] as? String } == ["2019-05-14", "2019-05-15", "2019-05-16"])
            #expect(days.map { $0["commits"] as? Int } == [0, 1, 0])
        }
    }

    @Test func aUsersOwnSourceCreditsOnlyItsOwnersOwnActivity() async throws {
        try await withHub { hub in
            let owner = try await hub.createUser(login: "Codertocat", githubID: 21031067)
            let other = try await hub.createUser(login: "baxterthehacker", githubID: 6752317)
            let created = try await hub.request(
                "POST", hub.apiURL + "/api/v1/sources",
                headers: ["Authorization": "Bearer \(owner.token)", "Content-Type": "application/json"],
                body: Array(#"{"kind":"github"}"#.utf8))
            #expect(created.status == 201, "\(created.text)")
            let url = try #require(created.json?["url"] as? String)
            let secret = try #require(created.json?["secret"] as? String)
            let path = String(url.dropFirst(hub.ingestURL.count))

            // The owner's own push through the owner's source counts for the owner.
            let own = try await hub.postGitHub("push", try Fixtures.push(sha: Self.sha()), delivery: "own-1", path: path, secret: secret)
            #expect(own.status == 202, "\(own.text)")
            // Someone else's push signed with the owner's secret is accepted but credits nobody: a source
            // owner cannot sign activity into another user's record.
            let foreign = try await hub.postGitHub(
                "push", Array(try Fixtures.data("push/branch-updated.json")), delivery: "own-2", path: path, secret: secret)
            #expect(foreign.status == 202)
            let wrongSecret = try await hub.postGitHub("push", try Fixtures.push(sha: Self.sha()), delivery: "own-3", path: path)
            #expect(wrongSecret.status == 401, "the hub-wide secret does not open a user's source")
            let unknown = try await hub.postGitHub(
                "push", try Fixtures.push(sha: Self.sha()), delivery: "own-4", path: "/webhooks/github/\(UUID().uuidString.lowercased())")
            #expect(unknown.status == 404)

            let summary = try await eventually(within: 90, { try await hub.summary(token: owner.token) }, until: { $0["commits"] == 1 })
            #expect(summary["commits"] == 1)
            // The same foreign push through the hub-wide App endpoint does count for its author.
            let viaApp = try await hub.postGitHub("push", Array(try Fixtures.data("push/branch-updated.json")), delivery: "app-1")
            #expect(viaApp.status == 202)
            let otherSummary = try await eventually(
                { try await hub.summary(token: other.token, from: "2015-01-01", to: "2015-12-31") }, until: { $0["commits"] == 1 })
            #expect(otherSummary["commits"] == 1)
            #expect(try await hub.summary(token: owner.token)["commits"] == 1)
        }
    }

    @Test func aWorkerKilledMidStreamAndRestartedEndsWithExactCounts() async throws {
        try await withHub { hub in
            let user = try await hub.createUser(login: "Codertocat", githubID: 21031067)
            let total = 300
            let killed = Task {
                // Kill the worker once some of the stream has been applied, while the rest is still coming.
                _ = try await eventually(within: 60, { try await hub.summary(token: user.token)["commits"] ?? 0 }, until: { $0 >= 30 })
                hub.worker.signal(SIGKILL)
                return try await hub.worker.waitForExit()
            }
            // A steady stream of about 50 deliveries a second, so the kill lands in the middle of it.
            var statuses: [Int: Int] = [:]
            for index in 0..<total {
                statuses[try await hub.postGitHub("push", try Fixtures.push(sha: Self.sha()), delivery: "stream-\(index)").status, default: 0] += 1
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(statuses == [202: total])
            #expect(try await killed.value == 128 + SIGKILL)
            let beforeRestart = try await hub.summary(token: user.token)["commits"] ?? 0
            #expect(beforeRestart < total, "the kill came mid-stream")

            try await hub.startWorker()
            let summary = try await eventually(within: 90, { try await hub.summary(token: user.token) }, until: { $0["commits"] == total })
            #expect(summary["commits"] == total)
            // Redelivered batches sit before a later push on the user's partitions: once it counts, they have been applied.
            #expect(try await hub.postGitHub("push", try Self.laterPush(), delivery: "later").status == 202)
            let settled = try await eventually(within: 60, { try await hub.summary(token: user.token) }, until: { ($0["commits"] ?? 0) > total })
            #expect(settled["commits"] == total + 1, "redelivered batches did not count twice")
        }
    }

    @Test func kafkaUnavailableGives503AndEveryAcceptedDeliveryIsCounted() async throws {
        try await withHub(producerTimeoutMS: 2000) { hub in
            let user = try await hub.createUser(login: "Codertocat", githubID: 21031067)
            var accepted = 0
            var refused = 0
            for index in 0..<20 {
                let response = try await hub.postGitHub("push", try Fixtures.push(sha: Self.sha()), delivery: "before-\(index)")
                #expect(response.status == 202)
                if response.status == 202 { accepted += 1 }
            }

            hub.kafka.signal(SIGUSR1)
            try await hub.kafka.waitForLine(containing: "brokers down")
            for index in 0..<5 {
                let response = try await hub.postGitHub("push", try Fixtures.push(sha: Self.sha()), delivery: "down-\(index)")
                #expect(response.status == 503, "\(response.text)")
                #expect(response.headers["retry-after"] != nil)
                #expect((response.json?["error"] as? [String: Any])?["code"] as? String == "kafka_unavailable", "\(response.text)")
                if response.status == 202 { accepted += 1 } else { refused += 1 }
            }

            hub.kafka.signal(SIGUSR2)
            try await hub.kafka.waitForLine(containing: "brokers up")
            // Like GitHub's own redelivery: keep trying each delivery until the hub takes it.
            for index in 0..<20 {
                let deadline = Date().addingTimeInterval(60)
                let body = try Fixtures.push(sha: Self.sha())
                while true {
                    let response = try await hub.postGitHub("push", body, delivery: "after-\(index)")
                    if response.status == 202 { accepted += 1; break }
                    #expect(response.status == 503, "\(response.text)")
                    if Date() > deadline { throw HarnessError("ingest did not recover: \(response.text)") }
                    try await Task.sleep(for: .milliseconds(500))
                }
            }

            #expect(refused == 5)
            let summary = try await eventually(within: 60, { try await hub.summary(token: user.token) }, until: { $0["commits"] == accepted })
            #expect(summary["commits"] == accepted, "every 202 counted, nothing refused counted")
        }
    }
}
