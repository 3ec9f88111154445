import DevTrackCore
import DevTrackTestSupport
import Foundation
import Testing

/// The hub's doors tried as an attacker or a careless client would, on the built binary: each hostile request
/// gets a clear 4xx, no process dies, a poison message is dead-lettered (and listed, and replayed once fixed)
/// while a canary of every worker still lands.
@Suite(.timeLimit(.minutes(6)))
struct HostileIngestEndToEndTests {
    func code(_ response: HubUnderTest.Response) -> String? { (response.json?["error"] as? [String: Any])?["code"] as? String }

    @Test func hostileRequestsAreAnsweredEveryProcessStaysUpAndPoisonIsDeadLetteredListedAndReplayed() async throws {
        try await withHub { hub in
            let user = try await hub.createUser(login: "Codertocat", githubID: 21031067)
            let created = try await hub.api("POST", "/api/v1/sources", #"{"kind": "custom", "name": "CI"}"#, token: user.token)
            let sourceID = try #require(created.json?["id"] as? String)
            let secret = try #require(created.json?["secret"] as? String)
            let url = "\(hub.ingestURL)/webhooks/custom/\(sourceID)"
            let now = Timestamps.format(Date())
            let deploy = Array(#"{"type": "deploy", "occurred_at": "\#(now)"}"#.utf8)

            // Before any authentication: the smallest Int64 as the timestamp was an overflow that killed ingest.
            let overflow = try await hub.request(
                "POST", url,
                headers: [
                    "Content-Type": "application/json", "webhook-id": "msg_x", "webhook-timestamp": "-9223372036854775808",
                    "webhook-signature": "v1,AAAA",
                ], body: deploy)
            #expect(overflow.status == 401 && code(overflow) == "timestamp_stale", "\(overflow.text)")

            // ~1,650 signature candidates (82 KB) over a 1 MB body: the header limit refuses them before any HMAC.
            func postWithCandidates(_ count: Int) async throws -> HubUnderTest.Response {
                let signatures = Array(repeating: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", count: count).joined(separator: " ")
                return try await hub.request(
                    "POST", url,
                    headers: [
                        "Content-Type": "application/json", "webhook-id": "msg_y", "webhook-timestamp": String(Int(Date().timeIntervalSince1970)),
                        "webhook-signature": signatures,
                    ], body: Array(repeating: UInt8(ascii: " "), count: 1_000_000))
            }
            let many = try await postWithCandidates(1650)
            #expect(many.status == 400, "the HTTP decoder refuses an oversized header: \(many.status) \(many.text)")
            // Within the header limit, more than 8 candidates are refused without an HMAC either.
            let some = try await postWithCandidates(300)
            #expect(some.status == 401 && code(some) == "signature_malformed", "\(some.text)")

            // A NUL in a custom event's repo: refused naming the field.
            let key = StandardWebhooks.key(of: secret)!
            func signed(_ body: [UInt8], id: String = UUID().uuidString) -> [String: String] {
                var headers = ["Content-Type": "application/json"]
                for (name, value) in StandardWebhooks.headers(id: id, timestamp: Int(Date().timeIntervalSince1970), body: body, keys: [key]) {
                    headers[name] = value
                }
                return headers
            }
            let nul = Array(#"{"type": "deploy", "occurred_at": "\#(now)", "repo": "a\u0000b"}"#.utf8)
            let refusedNUL = try await hub.request("POST", url, headers: signed(nul), body: nul)
            #expect(refusedNUL.status == 400 && code(refusedNUL) == "invalid_body", "\(refusedNUL.text)")
            #expect(
                ((refusedNUL.json?["error"] as? [String: Any])?["message"] as? String)?.contains("repo contains the control character U+0000") == true
            )

            // The same HMAC-signed body under two delivery ids counts once (it is named by what is signed).
            let hmacBody = Array(#"{"type": "deploy", "occurred_at": "\#(now)"}"#.utf8)
            for delivery in ["first", "second"] {
                let response = try await hub.request(
                    "POST", url,
                    headers: [
                        "Content-Type": "application/json", "X-Delivery-Id": delivery, "webhook-id": delivery,
                        "X-Hub-Signature-256": GitHubSignature.sign(body: hmacBody, secret: Array(secret.utf8)),
                    ], body: hmacBody)
                #expect(response.status == 202, "\(response.text)")
                #expect(response.json?["delivery_id"] as? String == "sha256:" + Hex.sha256(hmacBody))
            }

            // A 4 KB X-GitHub-Delivery overflowed a unique index (and stalled the normalize worker).
            let push = Array(try Fixtures.data("push/branch-created.json"))
            let longID = try await hub.postGitHub("push", push, delivery: String(repeating: "d", count: 4096))
            #expect(longID.status == 400 && code(longID) == "invalid_header", "\(longID.text)")

            // Heartbeats: a NUL in the entity, the original plugin's day 0000-01-01.
            let keyResponse = try await hub.api("POST", "/api/v1/coding/keys", #"{"name":"laptop"}"#, token: user.token)
            let codingKey = try #require(keyResponse.json?["key"] as? String)
            func coding(_ path: String, _ body: String) async throws -> HubUnderTest.Response {
                try await hub.request(
                    "POST", hub.ingestURL + path, headers: ["Authorization": "Bearer \(codingKey)", "Content-Type": "application/json"],
                    body: Array(body.utf8))
            }
            let time = Date().timeIntervalSince1970 - 120
            let badHeartbeat = try await coding("/api/v1/heartbeats", #"{"entity": "src/a\u0000.swift", "time": \#(time), "type": "file"}"#)
            #expect(badHeartbeat.status == 400 && code(badHeartbeat) == "invalid_heartbeat", "\(badHeartbeat.text)")
            let badDay = try await coding("/api/local-coding/sync", #"{"sessions":[{"date":"0000-01-01","totalSeconds":10}]}"#)
            #expect(badDay.status == 400, "\(badDay.text)")

            // A poison fact straight onto Kafka (what validation cannot see: a zone stored before validation existed).
            let dave = try await hub.createUser(login: "dave", githubID: 4)
            let week = (from: LocalDate(Date(), in: .gmt).adding(days: -3).description, to: LocalDate(Date(), in: .gmt).adding(days: 3).description)
            try await hub.psql("UPDATE users SET timezone = 'UTC+0530' WHERE login = 'dave'")
            let fact = ActivityFact(
                id: "commit:dave-1", userID: UUID(uuidString: dave.id)!, kind: .commit, occurredAt: Date().addingTimeInterval(-60),
                repo: "dave/app", language: "Swift", source: "e2e")
            try await produce(
                hub, topic: Topics.activity, key: dave.id, value: String(decoding: try FactCoding.encoder().encode(fact), as: UTF8.self))

            // Canaries of every worker, behind the hostile traffic: a push (normalize, metrics, achievements,
            // notify), a heartbeat (coding), a custom event completing a goal (custom, goals).
            let goal = try await hub.api(
                "POST", "/api/v1/goals", #"{"title": "Ship", "target": 1, "unit": "custom:deploy", "period": "monthly"}"#, token: user.token)
            #expect(goal.status == 201, "\(goal.text)")
            #expect(try await hub.postGitHub("push", push, delivery: UUID().uuidString).status == 202)
            #expect(try await coding("/api/v1/heartbeats", #"{"entity": "src/a.swift", "time": \#(time), "type": "file"}"#).status == 201)
            #expect(try await coding("/api/v1/heartbeats", #"{"entity": "src/a.swift", "time": \#(time + 60), "type": "file"}"#).status == 201)
            #expect(try await hub.request("POST", url, headers: signed(deploy, id: "canary"), body: deploy).status == 202)

            let summary = try await eventually(within: 60, { try await hub.summary(token: user.token) }, until: { $0["commits"] == 1 })
            #expect(summary["commits"] == 1)
            let custom = try await eventually(
                within: 60, { try await hub.get("/api/v1/metrics/custom", token: user.token) },
                until: { response in
                    ((response.json?["totals"] as? [[String: Any]]) ?? []).contains { $0["kind"] as? String == "deploy" && $0["count"] as? Int == 2 }
                })
            #expect(
                ((custom.json?["totals"] as? [[String: Any]]) ?? []).first?["count"] as? Int == 2,
                "the HMAC body once, the canary once: \(custom.text)")
            let day = LocalDate(Date(timeIntervalSince1970: time), in: .gmt)
            let codingSummary = try await eventually(
                within: 60,
                {
                    try await hub.get("/api/v1/coding/summary?from=\(day.adding(days: -1))&to=\(day.adding(days: 1))", token: user.token)
                }, until: { $0.json?["total_seconds"] as? Int == 60 })
            #expect(codingSummary.json?["total_seconds"] as? Int == 60, "\(codingSummary.text)")
            let notifications = try await eventually(
                within: 60, { try await hub.get("/api/v1/notifications", token: user.token) },
                until: { response in
                    let types = ((response.json?["notifications"] as? [[String: Any]]) ?? []).compactMap { $0["type"] as? String }
                    return types.contains("achievement.unlocked") && types.contains("goal.completed")
                })
            let types = ((notifications.json?["notifications"] as? [[String: Any]]) ?? []).compactMap { $0["type"] as? String }
            #expect(types.contains("achievement.unlocked") && types.contains("goal.completed"), "\(notifications.text)")

            // The poison is listed with its worker and reason, and the dave's commit is not counted.
            let listed = try await eventually(
                within: 30, { try await hub.run(["dlq", "list", Topics.activity]) }, until: { $0.output.contains("\tmetrics\t") })
            #expect(listed.code == 0, "\(listed.output)")
            let metricsLine = listed.output.split(separator: "\n").first { $0.contains("\tmetrics\t") } ?? ""
            #expect(metricsLine.contains("22023") && metricsLine.contains("UTC+0530"), "\(listed.output)")
            #expect(try await hub.summary(token: dave.token, from: week.from, to: week.to)["commits"] == 0)

            // Fixed, then replayed: counted once, although several workers of the topic dead-lettered it.
            try await hub.psql("UPDATE users SET timezone = 'UTC' WHERE login = 'dave'")
            let replay = try await hub.run(["dlq", "replay", Topics.activity])
            #expect(replay.code == 0 && replay.output.contains("1 message(s) replayed"), "\(replay.output)")
            let daves = try await eventually(
                within: 30, { try await hub.summary(token: dave.token, from: week.from, to: week.to) }, until: { $0["commits"] == 1 })
            #expect(daves["commits"] == 1)

            // Slowloris: a request whose headers never end, and one whose body stops, are cut off by the server
            // (after 30 s without a request head, and 30 s without body bytes).
            let port = Int(URL(string: hub.ingestURL)!.port!)
            async let slowHead = Task.detached {
                try Self.secondsUntilClosed(port: port, sending: "POST /webhooks/github HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            }.value
            async let slowBody = Task.detached {
                try Self.secondsUntilClosed(port: port, sending: "POST /webhooks/github HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"zen\":")
            }.value
            let (head, body) = try await (slowHead, slowBody)
            #expect(head >= 25 && head < 45, "a slow head was closed after \(head) s")
            #expect(body >= 25 && body < 45, "a slow body was closed after \(body) s")

            // Every process is still up.
            for process in [hub.ingest!, hub.worker!, hub.api!, hub.scheduler!] { #expect(process.exitCode == nil, "\(process.name) exited") }
            #expect(try await hub.request("GET", hub.ingestURL + "/healthz").status == 200)
            #expect(try await hub.request("GET", hub.apiURL + "/healthz").status == 200)
        }
    }

    /// Opens a connection, sends `text` and nothing more; returns after how many seconds the server closed it.
    static func secondsUntilClosed(port: Int, sending text: String) throws -> Double {
        try withLoopbackSocket(port: port) { fd, address, length in
            guard connect(fd, address, length) == 0 else { throw HarnessError("connect() failed") }
            var timeout = timeval(tv_sec: 60, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            let bytes = Array(text.utf8)
            _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, bytes.count, 0) }
            let started = Date()
            var buffer = [UInt8](repeating: 0, count: 1024)
            while true {
                let count = recv(fd, &buffer, buffer.count, 0)
                if count <= 0 { return Date().timeIntervalSince(started) }
            }
        }
    }

    /// One message onto a topic with kcat, as any producer could.
    func produce(_ hub: HubUnderTest, topic: String, key: String, value: String) async throws {
        let file = "\(hub.directory)/message-\(UUID().uuidString.prefix(6)).json"
        try Data(value.utf8).write(to: URL(fileURLWithPath: file))
        let process = try RunningProcess(
            name: "kcat-produce", executable: "/bin/sh",
            arguments: ["-c", "/usr/bin/kcat -b \"$KAFKA_BROKERS\" -P -t \(topic) -k \(key) -D '\\0' < \(file)"],
            environment: hub.environment, logPath: "\(hub.directory)/kcat-produce-\(UUID().uuidString.prefix(6)).log")
        let code = try await process.waitForExit(timeout: 30)
        guard code == 0 else { throw HarnessError("kcat failed: \(process.output)") }
    }
}
