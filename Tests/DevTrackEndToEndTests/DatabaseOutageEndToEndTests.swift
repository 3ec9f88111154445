import DevTrackCore
import DevTrackLocalCluster
import DevTrackStore
import DevTrackTestSupport
import Foundation
import Logging
import Testing

/// PostgreSQL stopped for 30 s while signed pushes stream into a user's source, on a cluster of this test's
/// own: every request is answered within seconds, nothing is dead-lettered, and once PostgreSQL is back every
/// accepted commit is counted exactly once.
@Suite(.timeLimit(.minutes(6)))
struct DatabaseOutageEndToEndTests {
    @Test func pushesDuringADatabaseOutageAreAnsweredInTimeAndCountedExactlyOnceAfterIt() async throws {
        let postgres = try EmbeddedPostgres(dataDirectory: NSTemporaryDirectory() + "devtrack-outage-\(UUID().uuidString.prefix(8))")
        let logger = Logger(label: "outage-test")
        try await postgres.start(logger: logger)
        defer { Task { await postgres.stop() } }
        try await withHub(databaseURL: postgres.maintenanceURL.urlString) { hub in
            let user = try await hub.createUser(login: "Codertocat", githubID: 21031067)
            let created = try await hub.api("POST", "/api/v1/sources", #"{"kind": "github"}"#, token: user.token)
            let sourceID = try #require(created.json?["id"] as? String)
            let secret = try #require(created.json?["secret"] as? String)

            var accepted = 0
            var unavailable = 0
            var slowest = Duration.zero
            func push(_ index: Int) async throws {
                let sha = Hex.sha256(Array("outage-\(index)".utf8)).prefix(40)
                let body = Array(
                    #"""
                    {"ref": "refs/heads/main", "repository": {"full_name": "octo/app", "language": "Swift"},
                     "sender": {"login": "Codertocat", "id": 21031067},
                     "commits": [{"id": "\#(sha)", "timestamp": "\#(Timestamps.format(Date()))", "distinct": true, \#
                    "author": {"username": "Codertocat"}}]}
                    """#.utf8)
                let started = ContinuousClock.now
                let response = try await hub.postGitHub(
                    "push", body, delivery: UUID().uuidString, path: "/webhooks/github/\(sourceID)", secret: secret)
                slowest = max(slowest, ContinuousClock.now - started)
                switch response.status {
                case 202: accepted += 1
                case 503:
                    unavailable += 1
                    #expect(response.headers["retry-after"] != nil)
                default: Issue.record("push \(index): \(response.status) \(response.text)")
                }
            }
            // 10 pushes a second: 5 s before, 30 s of outage, 5 s after.
            var index = 0
            func stream(for seconds: Double) async throws {
                let end = Date().addingTimeInterval(seconds)
                while Date() < end {
                    try await push(index)
                    index += 1
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
            try await stream(for: 5)
            // The public servers' /readyz, and the ops listeners' of the worker and the scheduler.
            let probes = [hub.ingestURL, hub.apiURL, try await hub.opsURL(of: hub.worker), try await hub.opsURL(of: hub.scheduler)]
            for url in probes {
                let ready = try await hub.request("GET", "\(url)/readyz")
                #expect(ready.status == 200 && ready.text.contains(#""postgresql":"ok""#), "\(url): \(ready.status) \(ready.text)")
            }
            await postgres.stop()
            try await stream(for: 15)
            // Every role says why it cannot do its work, in time (a probe never waits for the pool).
            for url in probes {
                let started = ContinuousClock.now
                let ready = try await hub.request("GET", "\(url)/readyz")
                #expect(ready.status == 503 && ready.text.contains(#""status":"not ready""#), "\(url): \(ready.status) \(ready.text)")
                #expect(ready.text.contains(#""postgresql":"unreachable"#), "\(url) names PostgreSQL: \(ready.text)")
                #expect(ContinuousClock.now - started < .seconds(4), "\(url) answered /readyz in \(ContinuousClock.now - started)")
            }
            try await stream(for: 15)
            try await postgres.start(logger: logger)
            let back = ContinuousClock.now
            try await stream(for: 5)

            print("outage: \(index) pushes, \(accepted) accepted, \(unavailable) answered 503, slowest answer \(slowest)")
            #expect(slowest < .seconds(4), "every answer within a few seconds (slowest \(slowest))")
            #expect(accepted > index / 2, "the source's cached secret keeps accepting while PostgreSQL is away")

            let today = LocalDate(Date(), in: .gmt)
            let counted = try await eventually(
                within: 90,
                {
                    try await hub.summary(token: user.token, from: today.adding(days: -1).description, to: today.adding(days: 1).description)
                }, until: { $0["commits"] == accepted })
            print("outage: counts caught up \(ContinuousClock.now - back) after PostgreSQL was back")
            #expect(counted["commits"] == accepted, "every accepted commit counted once")
            try await hub.settled()
            #expect(
                try await hub.summary(token: user.token, from: today.adding(days: -1).description, to: today.adding(days: 1).description)["commits"]
                    == accepted)
            // Ready again once each process's pool has reconnected (its retries back off, so this may lag the workers).
            for url in probes {
                let ready = try await eventually(within: 60, { try await hub.request("GET", "\(url)/readyz") }, until: { $0.status == 200 })
                #expect(ready.text.contains(#""status":"ready""#), "ready again: \(url): \(ready.text)")
            }
            for topic in [Topics.githubEvents, Topics.activity, Topics.notifications] {
                #expect(try await hub.topicValues(Topics.deadLetter(of: topic)).isEmpty, "nothing dead-lettered on \(topic)")
            }
            for process in [hub.ingest!, hub.worker!, hub.api!, hub.scheduler!] { #expect(process.exitCode == nil, "\(process.name) exited") }
        }
    }
}
