import DevTrackCore
import DevTrackOutbound
import Foundation
import Logging
import ServiceLifecycle

/// Sends a `DemoPlan` once the hub is up: the webhooks (signed with the demo source's secret) and heartbeats
/// (with a coding key) to ingest, goals and profile settings to the API, then waits until the API shows all
/// of it and writes what it sent to `demo-data.json` in the data folder. Progress goes to stdout.
struct DemoDataSender: Service {
    let plan: DemoPlan
    let ingestURL: String
    let apiURL: String
    let sourceURL: String
    let sourceSecret: String
    let codingKey: String
    let token: String
    let outputPath: String
    /// Yields once when ingest and the API listen.
    let ready: AsyncStream<Void>
    let logger: Logger

    /// Stops sending when the hub shuts down (the rest can be sent by the next run: nothing counts twice).
    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { try await sendPlan() }
        } catch {
            guard Task.isShuttingDownGracefully else { throw error }
            printLine("demo data: stopped before all of it was sent; the next run sends the rest")
            return
        }
        try await gracefulShutdown()
    }

    private func sendPlan() async throws {
        for await _ in ready { break }
        try Task.checkCancellation()
        let hosts = [ingestURL, apiURL].compactMap { URLComponents(string: $0)?.host }
        let client = try OutboundHTTPClient(allowList: Set(hosts), timeout: .seconds(30))
        let started = ContinuousClock.now
        let total = plan.deliveries.count + plan.heartbeatBatches.count
        printLine("demo data: sending \(plan.deliveries.count) webhooks and \(plan.heartbeatBatches.count) heartbeat batches")
        var sent = 0
        var nextReport = total / 4
        try await withThrowingTaskGroup(of: Void.self) { group in
            var requests = plan.deliveries.map { delivery in
                OutboundRequest(
                    url: sourceURL,
                    headers: [
                        ("Content-Type", "application/json"), ("X-GitHub-Event", delivery.event), ("X-GitHub-Delivery", delivery.id),
                        ("X-Hub-Signature-256", GitHubSignature.sign(body: Array(delivery.body.utf8), secret: Array(sourceSecret.utf8))),
                    ], body: Array(delivery.body.utf8))
            }
            requests += plan.heartbeatBatches.map { batch in
                OutboundRequest(
                    url: "\(ingestURL)/api/v1/heartbeats",
                    headers: [("Content-Type", "application/json"), ("Authorization", "Bearer \(codingKey)"), ("X-Machine-Name", batch.machine)],
                    body: Array(DemoPlan.heartbeatBody(batch.heartbeats).utf8))
            }
            var iterator = requests.makeIterator()
            for _ in 0..<8 {
                guard let request = iterator.next() else { break }
                group.addTask { try await send(request, client: client) }
            }
            while try await group.next() != nil {
                sent += 1
                if sent >= nextReport, sent < total {
                    printLine("demo data: \(sent) of \(total) requests sent")
                    nextReport += total / 4
                }
                try Task.checkCancellation()
                if let request = iterator.next() { group.addTask { try await send(request, client: client) } }
            }
        }
        try await configureDemoUser(client: client)
        try await waitUntilVisible(client: client)
        let totals = plan.totals
        try writeSummary()
        printLine(
            "demo data ready in \(started.duration(to: .now).components.seconds) s: "
                + "\(plan.days.count) active days, \(totals.commits) commits, \(totals.prsOpened) PRs opened (\(totals.prsMerged) merged), "
                + "\(totals.reviews) reviews, \(totals.issuesOpened) issues opened, \(totals.codingSeconds / 3600) h of coding "
                + "(details in \(outputPath))")
    }

    /// One request, retried while the hub says "later" (503 with Retry-After: the mock cluster's backlog).
    private func send(_ request: OutboundRequest, client: OutboundHTTPClient) async throws {
        for attempt in 1...60 {
            try Task.checkCancellation()
            let response = try await client.post(request)
            if (200..<300).contains(response.status) { return }
            guard response.status == 503 || response.status == 429, attempt < 60 else {
                throw DemoDataFailure(
                    "\(request.url) answered \(response.status): \(String(decoding: response.body.prefix(300), as: UTF8.self))")
            }
            try await Task.sleep(for: .seconds(Int(response.header("Retry-After") ?? "") ?? 1))
        }
    }

    /// Goals to show progress on, and a public profile on the leaderboard, as the user would set them.
    private func configureDemoUser(client: OutboundHTTPClient) async throws {
        let existing = try await api(client, "GET", "/api/v1/goals")
        let titles = Set(((existing["goals"] as? [[String: Any]]) ?? []).compactMap { $0["title"] as? String })
        for goal in Self.goals where !titles.contains(goal["title"] as? String ?? "") {
            _ = try await api(client, "POST", "/api/v1/goals", body: goal)
        }
        _ = try await api(
            client, "PATCH", "/api/v1/settings",
            body: ["is_public": true, "leaderboard_opt_in": true, "display_name": "The Octocat (demo)", "bio": "Demo data from devtrack dev."])
    }

    static var goals: [[String: Any]] {
        [
            ["title": "25 commits a week", "target": 25, "unit": "commits", "period": "weekly"],
            ["title": "Two hours of coding a day", "target": 120, "unit": "coding_minutes", "period": "daily"],
            ["title": "Merge 8 pull requests this month", "target": 8, "unit": "prs_merged", "period": "monthly"],
        ]
    }

    /// Until the API's totals over the plan's days are the plan's (the workers have applied everything).
    private func waitUntilVisible(client: OutboundHTTPClient) async throws {
        guard let from = plan.days.keys.min(), let to = plan.days.keys.max() else { return }
        let totals = plan.totals
        var last: [String: Any] = [:]
        for _ in 0..<240 {
            last = try await api(client, "GET", "/api/v1/metrics/summary?from=\(from)&to=\(to)")
            if last["commits"] as? Int == totals.commits, last["reviews"] as? Int == totals.reviews,
                last["prs_merged"] as? Int == totals.prsMerged, last["coding_heartbeat_seconds"] as? Int == totals.codingSeconds
            {
                return
            }
            try await Task.sleep(for: .milliseconds(500))
        }
        throw DemoDataFailure("the hub did not show the demo data within 2 minutes (last summary: \(last))")
    }

    private func api(_ client: OutboundHTTPClient, _ method: String, _ path: String, body: [String: Any]? = nil) async throws -> [String: Any] {
        let response = try await client.post(
            OutboundRequest(
                method: .init(rawValue: method), url: "\(apiURL)\(path)",
                headers: [("Authorization", "Bearer \(token)"), ("Content-Type", "application/json")],
                body: try body.map { Array(try JSONSerialization.data(withJSONObject: $0)) } ?? []))
        guard (200..<300).contains(response.status) else {
            throw DemoDataFailure("\(method) \(path) answered \(response.status): \(String(decoding: response.body.prefix(300), as: UTF8.self))")
        }
        return (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any] ?? [:]
    }

    /// What was sent, per day, for anyone (the browser tests among them) comparing it with what the hub shows.
    private func writeSummary() throws {
        struct Summary: Encodable {
            let timezone = "UTC"
            let from: String
            let to: String
            let totals: DemoPlan.Day
            let days: [String: DemoPlan.Day]
            let goals: [String]
        }
        let dates = plan.days.keys.sorted()
        let summary = Summary(
            from: dates.first?.description ?? "", to: dates.last?.description ?? "", totals: plan.totals,
            days: Dictionary(uniqueKeysWithValues: plan.days.map { ($0.key.description, $0.value) }),
            goals: Self.goals.compactMap { $0["title"] as? String })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        try encoder.encode(summary).write(to: URL(fileURLWithPath: outputPath))
    }
}

struct DemoDataFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = "demo data: \(description)" }
}
