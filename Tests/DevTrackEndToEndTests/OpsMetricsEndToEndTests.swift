import DevTrackCore
import DevTrackTestSupport
import Foundation
import Testing

/// One sample of Prometheus' text format: `name{label="value",…} value`.
struct MetricSample: Equatable {
    let name: String
    let labels: [String: String]
    let value: Double
}

/// Prometheus' text format (0.0.4), read strictly: every sample line must parse, every family must have its `# TYPE`.
func parseMetrics(_ text: String) throws -> [MetricSample] {
    var samples: [MetricSample] = []
    var typed: Set<String> = []
    for line in text.split(separator: "\n").map(String.init) where !line.isEmpty {
        if line.hasPrefix("# TYPE ") {
            let parts = line.split(separator: " ")
            guard parts.count == 4, ["counter", "gauge", "histogram", "summary", "untyped"].contains(parts[3]) else {
                throw HarnessError("bad TYPE line: \(line)")
            }
            typed.insert(String(parts[2]))
            continue
        }
        if line.hasPrefix("#") { continue }
        let nameEnd = line.firstIndex(where: { $0 == "{" || $0 == " " }) ?? line.endIndex
        let name = String(line[..<nameEnd])
        guard name.range(of: #"^[a-zA-Z_:][a-zA-Z0-9_:]*$"#, options: .regularExpression) != nil else { throw HarnessError("bad name: \(line)") }
        var labels: [String: String] = [:]
        var rest = line[nameEnd...]
        if rest.hasPrefix("{") {
            guard let close = rest.range(of: "} ", options: .backwards) else { throw HarnessError("unclosed labels: \(line)") }
            let body = rest[rest.index(after: rest.startIndex)..<close.lowerBound]
            let pattern = try Regex(#"([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?"#)
            var consumed = 0
            for match in body.matches(of: pattern) {
                labels[String(match.output[1].substring!)] = String(match.output[2].substring!)
                consumed += match.range.upperBound.utf16Offset(in: body) - match.range.lowerBound.utf16Offset(in: body)
            }
            guard consumed == body.utf16.count else { throw HarnessError("bad labels: \(line)") }
            rest = rest[close.upperBound...]
        } else {
            rest = rest.dropFirst()
        }
        guard let value = Double(rest.split(separator: " ").first ?? "") ?? (rest == "+Inf" ? .infinity : nil) else {
            throw HarnessError("bad value: \(line)")
        }
        let family =
            ["_bucket", "_sum", "_count"].first { name.hasSuffix($0) && typed.contains(String(name.dropLast($0.count))) }
            .map { String(name.dropLast($0.count)) } ?? name
        guard typed.contains(family) else { throw HarnessError("no TYPE for \(name)") }
        samples.append(MetricSample(name: name, labels: labels, value: value))
    }
    return samples
}

extension [MetricSample] {
    /// The sum of the samples named `name` whose labels include `labels`.
    func sum(_ name: String, _ labels: [String: String] = [:], where keep: ([String: String]) -> Bool = { _ in true }) -> Double {
        filter { sample in sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value } && keep(sample.labels) }
            .reduce(0) { $0 + $1.value }
    }

    func has(_ name: String) -> Bool { contains { $0.name == name } }
}

/// Every role's `/metrics` on the built binary (github-sync's too, against a fake GitHub), scraped and parsed as Prometheus
/// would: figures move with the traffic (answers and refusals, deliveries by outcome), lag grows while the workers are
/// stopped and drains after, and no label names a user.
@Suite(.timeLimit(.minutes(5)))
struct OpsMetricsEndToEndTests {
    @Test func everyRoleExposesMetricsThatFollowTheTraffic() async throws {
        let receiver = FakeDiscord()
        try await receiver.serving { receiverBase in
            try await FakeGitHub(clientID: HubUnderTest.githubClientID, clientSecret: HubUnderTest.githubClientSecret).serving { github in
                try await withHub(github: github) { hub in
                    let user = try await hub.createUser(login: "Codertocat", githubID: 21031067)
                    let (ingestOps, apiOps, workerOps, schedulerOps, syncOps) = (
                        try await hub.opsURL(of: hub.ingest), try await hub.opsURL(of: hub.api), try await hub.opsURL(of: hub.worker),
                        try await hub.opsURL(of: hub.scheduler), try await hub.opsURL(of: try #require(hub.githubSync))
                    )
                    func scrape(_ base: String) async throws -> [MetricSample] {
                        let response = try await hub.request("GET", base + "/metrics")
                        #expect(response.status == 200)
                        #expect(response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8")
                        let samples = try parseMetrics(response.text)
                        #expect(!response.text.contains(user.id), "no label names a user")
                        return samples
                    }
                    for base in [ingestOps, apiOps, workerOps, schedulerOps, syncOps] {
                        #expect(try await hub.request("GET", base + "/healthz").status == 200)
                        let ready = try await hub.request("GET", base + "/readyz")
                        #expect(ready.status == 200 && ready.json?["status"] as? String == "ready", "\(base): \(ready.text)")
                    }
                    #expect(try await hub.request("GET", hub.apiURL + "/metrics").status == 404, "not on the public listener")

                    for index in 1...5 {
                        let push = try Fixtures.push(sha: Hex.encode(Credentials.randomBytes(20)))
                        #expect(try await hub.postGitHub("push", push, delivery: "ops-\(index)").status == 202)
                    }
                    #expect(try await hub.postGitHub("push", [UInt8]("{}".utf8), delivery: "ops-bad", signature: "sha256=00").status == 401)
                    _ = try await eventually(within: 90, { try await hub.summary(token: user.token) }, until: { $0["commits"] == 5 })
                    try await hub.settled()

                    let ingest = try await scrape(ingestOps)
                    func githubRoute(_ labels: [String: String]) -> Bool { labels["route"]?.hasPrefix("/webhooks/github") == true }
                    #expect(ingest.sum("http_server_requests_total", ["method": "POST", "status": "202"], where: githubRoute) == 5, "\(ingest)")
                    #expect(ingest.sum("http_server_requests_total", ["method": "POST", "status": "401"], where: githubRoute) == 1)
                    #expect(ingest.sum("http_server_request_duration_seconds_count", ["status": "202"], where: githubRoute) == 5)
                    #expect(
                        ingest.sum("http_server_request_duration_seconds_count", ["status": "401"], where: githubRoute) == 1, "refusals are timed")
                    #expect(ingest.sum("kafka_produce_duration_seconds_count", ["topic": Topics.githubEvents]) == 5)
                    #expect(ingest.sum("kafka_produce_errors_total") == 0)
                    #expect(ingest.sum("process_resident_memory_bytes") > 10_000_000 && ingest.sum("process_cpu_seconds_total") > 0)
                    #expect(ingest.sum("devtrack_postgres_connections") >= 1 && ingest.sum("devtrack_postgres_pool_max_connections") == 20)

                    #expect(try await hub.get("/api/v1/me", token: user.token).status == 200)
                    #expect(try await hub.request("GET", hub.apiURL + "/nowhere").status == 404)
                    let api = try await scrape(apiOps)
                    #expect(api.sum("http_server_requests_total", ["route": "/api/v1/me", "method": "GET", "status": "200"]) == 1, "\(api)")
                    #expect(
                        api.sum("http_server_request_duration_seconds_count", ["method": "GET", "status": "404"]) == 2,
                        "/metrics and /nowhere: \(api)")

                    // A test delivery to a webhook endpoint: the notify worker's deliverer counts it by outcome.
                    let hook = "500000000000000001"
                    let endpoint = try await hub.api(
                        "POST", "/api/v1/webhooks", #"{"name": "CI", "url": "\#(receiverBase)/api/webhooks/\#(hook)/t", "events": ["test"]}"#,
                        token: user.token)
                    let endpointID = try #require(endpoint.json?["id"] as? String, "\(endpoint.text)")
                    #expect(try await hub.api("POST", "/api/v1/webhooks/\(endpointID)/test", token: user.token).status == 202)
                    _ = try await eventually(within: 60, { receiver.requests(to: hook).count }, until: { $0 == 1 })
                    let delivered = try await eventually(
                        within: 30, { try await scrape(workerOps).sum("devtrack_deliveries_total", ["channel": "webhook", "outcome": "delivered"]) },
                        until: { $0 == 1 })
                    #expect(delivered == 1)

                    let worker = try await scrape(workerOps)
                    #expect(worker.sum("devtrack_worker_messages_total", ["worker": "normalize"]) == 5)
                    #expect(worker.sum("devtrack_worker_messages_total", ["worker": "metrics"]) == 5)
                    #expect(worker.sum("devtrack_worker_batches_total", ["worker": "normalize"]) >= 1)
                    #expect(worker.sum("devtrack_worker_batch_duration_seconds_count", ["worker": "normalize"]) >= 1)
                    #expect(worker.sum("devtrack_worker_dead_letters_total") == 0)
                    let committed = worker.sum("devtrack_worker_last_commit_timestamp_seconds", ["worker": "normalize"])
                    #expect(abs(committed - Date().timeIntervalSince1970) < 120, "committed \(committed)")
                    #expect(worker.has("devtrack_outbox_pending") && worker.has("devtrack_outbox_oldest_due_seconds"))
                    #expect(worker.sum("devtrack_intents_published_total", ["type": "achievement.unlocked"]) >= 1, "first commit")

                    let sync = try await scrape(syncOps)
                    #expect(sync.sum("process_cpu_seconds_total") > 0 && sync.has("devtrack_postgres_connections"), "\(sync)")

                    let scheduler = try await scrape(schedulerOps)
                    #expect(scheduler.sum("devtrack_scheduler_ticks_total", ["outcome": "ran"]) >= 1)
                    #expect(scheduler.sum("devtrack_consumer_lag_messages", ["group": "devtrack-normalize"]) == 0)
                    #expect(scheduler.has("devtrack_consumer_lag_messages"))
                    let lagRead = scheduler.sum("devtrack_consumer_lag_read_timestamp_seconds", ["group": "devtrack-normalize"])
                    #expect(abs(lagRead - Date().timeIntervalSince1970) < 60, "lag read at \(lagRead)")

                    // Readiness follows Kafka for the roles that use it (not the API's): brokers down, then up again.
                    hub.kafka.signal(SIGUSR1)
                    let down = try await eventually(
                        within: 30, { try await hub.request("GET", workerOps + "/readyz") }, until: { $0.status == 503 })
                    #expect((down.json?["checks"] as? [String: String])?["kafka"]?.hasPrefix("no broker answers") == true, "\(down.text)")
                    #expect((down.json?["checks"] as? [String: String])?["postgresql"] == "ok")
                    #expect(try await hub.request("GET", apiOps + "/readyz").status == 200, "the API needs no broker")
                    hub.kafka.signal(SIGUSR2)
                    _ = try await eventually(within: 30, { try await hub.request("GET", workerOps + "/readyz").status }, until: { $0 == 200 })

                    // The workers stop: three more deliveries wait, and the scheduler's figure says so; it drains once they are back.
                    await hub.worker.stop()
                    for index in 1...3 {
                        let push = try Fixtures.push(sha: Hex.encode(Credentials.randomBytes(20)))
                        #expect(try await hub.postGitHub("push", push, delivery: "ops-late-\(index)").status == 202)
                    }
                    let lagging = try await eventually(
                        within: 30, { try await scrape(schedulerOps).sum("devtrack_consumer_lag_messages", ["group": "devtrack-normalize"]) },
                        until: { $0 == 3 })
                    #expect(lagging == 3)
                    try await hub.startWorker()
                    let drained = try await eventually(
                        within: 90, { try await scrape(schedulerOps).sum("devtrack_consumer_lag_messages", ["group": "devtrack-normalize"]) },
                        until: { $0 == 0 })
                    #expect(drained == 0)
                    _ = try await eventually(within: 90, { try await hub.summary(token: user.token) }, until: { $0["commits"] == 8 })
                }
            }
        }
    }
}
