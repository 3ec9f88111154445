import DevTrackCore
import DevTrackTestSupport
import Foundation
import Testing

/// Heartbeats from the real `wakatime` CLI (13.1.0, what editor plugins run) and over plain HTTP, through
/// ingest, Kafka and the coding worker, read back from the API.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct HeartbeatEndToEndTests {
    static let cliFolder = "\(RepositoryPaths.root)/.build/tools/wakatime-13.1.0"

    func codingKey(_ hub: HubUnderTest, token: String) async throws -> String {
        let created = try await hub.request(
            "POST", hub.apiURL + "/api/v1/coding/keys",
            headers: ["Authorization": "Bearer \(token)", "Content-Type": "application/json"], body: Array(#"{"name":"laptop"}"#.utf8))
        #expect(created.status == 201, "\(created.text)")
        return try #require(created.json?["key"] as? String)
    }

    /// One run of the CLI, as an editor plugin would start it; returns its exit code.
    func wakatime(_ hub: HubUnderTest, home: String, key: String, file: String, time: Double, project: String, language: String) async throws -> Int32
    {
        var environment = ProcessInfo.processInfo.environment
        environment["HOME"] = home
        environment["PYTHONPATH"] = "\(Self.cliFolder):\(RepositoryPaths.root)/Tests/Fixtures/wakatime-shim"
        let process = try RunningProcess(
            name: "wakatime", executable: "/usr/bin/env",
            arguments: [
                "python3", "\(Self.cliFolder)/bin/wakatime",
                "--key", key, "--api-url", hub.ingestURL + "/api/compat/wakatime/v1/users/current/heartbeats.bulk",
                "--entity", file, "--time", String(time), "--project", project, "--language", language,
                "--plugin", "vscode/1.80.0 vscode-wakatime/24.0.0", "--hostname", "e2e-laptop", "--timeout", "5",
            ],
            environment: environment, logPath: "\(home)/cli-\(UUID().uuidString.prefix(6)).log")
        return try await process.waitForExit(timeout: 60)
    }

    @Test func theWakatimeCLIsHeartbeatsIncludingItsOfflineQueueBecomeExactCodingTime() async throws {
        try #require(FileManager.default.fileExists(atPath: "\(Self.cliFolder)/bin/wakatime"), "run scripts/install-deps first")
        try await withHub { hub in
            let user = try await hub.createUser(login: "Codertocat", githubID: 21031067)
            let key = try await codingKey(hub, token: user.token)
            let home = hub.directory + "/home"
            for folder in ["hub", "site"] {
                try FileManager.default.createDirectory(atPath: "\(home)/\(folder)", withIntermediateDirectories: true)
            }
            let files = [
                "\(home)/hub/main.swift": ("hub", "Swift"), "\(home)/hub/tool.py": ("hub", "Python"), "\(home)/site/index.js": ("site", "JavaScript"),
            ]
            for file in files.keys { try Data("x\n".utf8).write(to: URL(fileURLWithPath: file)) }
            let order = [
                "\(home)/hub/main.swift", "\(home)/hub/main.swift", "\(home)/hub/tool.py", "\(home)/site/index.js",
                "\(home)/site/index.js", "\(home)/hub/main.swift", "\(home)/hub/tool.py", "\(home)/hub/main.swift",
            ]
            // Two hours ago, a heartbeat a minute, with one 20-minute break after the 5th (over the timeout).
            let start = (Date().timeIntervalSince1970 - 7200).rounded()
            let times = order.indices.map { start + Double($0) * 60 + ($0 >= 5 ? 1200 : 0) }

            var sent: [Heartbeat] = []
            func send(_ index: Int) async throws -> Int32 {
                let (project, language) = files[order[index]]!
                sent.append(Heartbeat(time: times[index], entity: order[index], project: project, language: language))
                return try await wakatime(hub, home: home, key: key, file: order[index], time: times[index], project: project, language: language)
            }
            for index in 0..<4 { #expect(try await send(index) == 0) }
            // The hub is down: the CLI keeps these in its offline queue…
            await hub.ingest.stop()
            for index in 4..<7 { #expect(try await send(index) != 0, "the CLI reports the API error") }
            // …and sends them with its next heartbeat once the hub is back.
            try await hub.startIngest()
            #expect(try await send(7) == 0)

            let expected = CodingDurations.slices(sent, timeout: 900, timeZone: TimeZone(identifier: "UTC")!)
            let total = Int(expected.reduce(0) { $0 + $1.seconds })
            #expect(total == 4 * 60 + 2 * 60, "7 one-minute gaps, one of them 21 minutes long")
            let from = LocalDate(Date(timeIntervalSince1970: start), in: .gmt)
            let to = LocalDate(Date(), in: .gmt)
            let summary =
                try await eventually(
                    within: 60,
                    {
                        try await hub.get("/api/v1/coding/summary?from=\(from)&to=\(to)", token: user.token)
                    }, until: { $0.json?["total_seconds"] as? Int == total }
                ).json ?? [:]
            #expect(summary["total_seconds"] as? Int == total, "\(summary)")
            func seconds(_ field: String) -> [String: Int] {
                Dictionary(
                    ((summary[field] as? [[String: Any]]) ?? []).map { ($0["name"] as? String ?? "", $0["seconds"] as? Int ?? -1) },
                    uniquingKeysWith: +)
            }
            func expectedSeconds(_ name: (CodingDimensions) -> String) -> [String: Int] {
                Dictionary(expected.map { (name($0.dimensions), Int($0.seconds)) }, uniquingKeysWith: +)
            }
            #expect(seconds("projects") == expectedSeconds(\.project))
            #expect(seconds("languages") == expectedSeconds(\.language))
            #expect(seconds("editors") == ["vscode": total])
            #expect(seconds("machines") == ["e2e-laptop": total])
            // The WakaTime-shaped reads that plugins and widgets use, with the key as the CLI sends it.
            let basic = ["Authorization": "Basic " + Data(key.utf8).base64EncodedString()]
            let compat = hub.ingestURL + "/api/compat/wakatime/v1/users/current"
            let summaries = try await hub.request("GET", compat + "/summaries?start=\(from)&end=\(to)", headers: basic)
            #expect(summaries.status == 200, "\(summaries.text)")
            let days = summaries.json?["data"] as? [[String: Any]] ?? []
            #expect(days.count == (to - from) + 1)
            #expect(days.compactMap { ($0["grand_total"] as? [String: Any])?["total_seconds"] as? Double }.reduce(0, +) == Double(total))
            let todaySeconds = expected.filter { $0.date == to }.reduce(0) { $0 + $1.seconds }
            let statusBar = try await hub.request("GET", compat + "/statusbar/today", headers: basic)
            #expect(((statusBar.json?["data"] as? [String: Any])?["grand_total"] as? [String: Any])?["total_seconds"] as? Double == todaySeconds)
            // The same totals in the metrics the dashboard reads.
            let metrics = try await hub.get("/api/v1/metrics/summary?from=\(from)&to=\(to)", token: user.token)
            #expect(metrics.json?["coding_seconds"] as? Int == total)
        }
    }

    @Test func badKeysBodiesAndItemsGetClearErrorsAndGoodItemsAreKept() async throws {
        try await withHub { hub in
            let user = try await hub.createUser(login: "dev", githubID: 7)
            let key = try await codingKey(hub, token: user.token)
            let url = hub.ingestURL + "/api/v1/heartbeats"
            func post(_ body: String, key: String) async throws -> HubUnderTest.Response {
                try await hub.request(
                    "POST", url, headers: ["Authorization": "Bearer \(key)", "Content-Type": "application/json"], body: Array(body.utf8))
            }
            let now = Date().timeIntervalSince1970.rounded() - 600
            let wrong = try await post(#"[{"time": \#(now), "entity": "a.swift"}]"#, key: UUID().uuidString.lowercased())
            #expect(wrong.status == 401)
            #expect((wrong.json?["error"] as? [String: Any])?["code"] as? String == "invalid_key")
            #expect(try await post("{not json", key: key).status == 400)

            // One bad item among good ones: its own slot says 400; the others are stored.
            let mixed = try await post(
                """
                [{"time": \(now), "entity": "a.swift", "project": "p"},
                 {"entity": "no-time.swift"},
                 {"time": \(now + 120), "entity": "a.swift", "project": "p"}]
                """, key: key)
            #expect(mixed.status == 201, "\(mixed.text)")
            let slots = (mixed.json?["responses"] as? [[Any]]) ?? []
            #expect(slots.map { $0.last as? Int } == [201, 400, 201])
            #expect(((slots[safe: 1]?.first as? [String: Any])?["error"] as? String)?.contains("time") == true)
            // Basic auth, as the CLI sends it, and the `waka_` prefix newer clients use.
            let basic = "Basic " + Data("waka_\(key)".utf8).base64EncodedString()
            let viaBasic = try await hub.request(
                "POST", url, headers: ["Authorization": basic, "Content-Type": "application/json"],
                body: Array(#"{"time": \#(now + 180), "entity": "a.swift", "project": "p"}"#.utf8))
            #expect(viaBasic.status == 201, "\(viaBasic.text)")

            let today = LocalDate(Date(timeIntervalSince1970: now), in: .gmt)
            let summary =
                try await eventually(
                    {
                        try await hub.get("/api/v1/coding/summary?from=\(today)&to=\(today.adding(days: 1))", token: user.token)
                    }, until: { $0.json?["total_seconds"] as? Int == 180 }
                ).json ?? [:]
            #expect(summary["total_seconds"] as? Int == 180)

            // A revoked key is refused at once.
            let keys = try await hub.get("/api/v1/coding/keys", token: user.token).json?["keys"] as? [[String: Any]] ?? []
            let id = try #require(keys.first?["id"] as? String)
            #expect(keys.first?["key"] == nil, "the key is shown only once")
            let revoked = try await hub.request(
                "DELETE", hub.apiURL + "/api/v1/coding/keys/\(id)", headers: ["Authorization": "Bearer \(user.token)"])
            #expect(revoked.status == 204)
            #expect(try await post(#"{"time": \#(now), "entity": "a.swift"}"#, key: key).status == 401)
        }
    }
}

extension HeartbeatEndToEndTests {
    @Test func theOriginalPluginsDailyTotalsCountAsTheLargerSourcePerDayAndAreRateLimited() async throws {
        try await withHub { hub in
            let user = try await hub.createUser(login: "dev", githubID: 8)
            let key = try await codingKey(hub, token: user.token)
            let syncURL = hub.ingestURL + "/api/local-coding/sync"
            func sync(_ body: String) async throws -> HubUnderTest.Response {
                try await hub.request(
                    "POST", syncURL, headers: ["Authorization": "Bearer \(key)", "Content-Type": "application/json"], body: Array(body.utf8))
            }
            var now = Date().timeIntervalSince1970.rounded() - 600
            // The three heartbeats below span 180 s: keep them on one UTC day when the test runs just after midnight.
            if LocalDate(Date(timeIntervalSince1970: now), in: .gmt) != LocalDate(Date(timeIntervalSince1970: now + 180), in: .gmt) { now -= 300 }
            let today = LocalDate(Date(timeIntervalSince1970: now), in: .gmt)
            let yesterday = today.adding(days: -1)

            let first = try await sync(
                #"{"sessions":[{"date":"\#(yesterday)","totalSeconds":1000,"fileCount":4},{"date":"\#(today)","totalSeconds":50}]}"#)
            #expect(first.status == 200, "\(first.text)")
            #expect(first.json?["success"] as? Bool == true && first.json?["synced"] as? Int == 2)
            // The plugin re-sends cumulative totals: the later one replaces the day.
            #expect(try await sync(#"{"sessions":[{"date":"\#(yesterday)","totalSeconds":1200}]}"#).status == 200)
            // Heartbeats for 180 s today: more than the 50 s reported for today.
            let beats = (0..<3).map { #"{"time": \#(now + Double($0) * 90), "entity": "a.swift", "project": "p"}"# }.joined(separator: ",")
            let posted = try await hub.request(
                "POST", hub.ingestURL + "/api/v1/heartbeats", headers: ["Authorization": "Bearer \(key)", "Content-Type": "application/json"],
                body: Array("[\(beats)]".utf8))
            #expect(posted.status == 201)

            let bad = try await sync(#"{"sessions":[{"date":"2024-02-30","totalSeconds":10}]}"#)
            #expect(bad.status == 400)
            #expect(((bad.json?["error"] as? [String: Any])?["message"] as? String)?.contains("sessions[0].date") == true, "\(bad.text)")
            #expect(try await sync(#"{"sessions":[{"date":"\#(today)","totalSeconds":90000}]}"#).status == 400)

            let path = "/api/v1/metrics/summary?from=\(yesterday)&to=\(today)"
            let summary =
                try await eventually(
                    { try await hub.get(path, token: user.token) },
                    until: {
                        $0.json?["coding_seconds"] as? Int == 1380 && $0.json?["coding_reported_seconds"] as? Int == 1250
                    }
                ).json ?? [:]
            #expect(summary["coding_seconds"] as? Int == 1200 + 180, "per day the larger source: \(summary)")
            #expect(summary["coding_heartbeat_seconds"] as? Int == 180)
            #expect(summary["coding_reported_seconds"] as? Int == 1250)
            #expect(summary["active_days"] as? Int == 2, "days with coding time are active")

            let listed = try await hub.request("GET", syncURL + "?days=7", headers: ["Authorization": "Bearer \(key)"])
            let sessions = listed.json?["sessions"] as? [[String: Any]] ?? []
            #expect(sessions.map { $0["date"] as? String } == [today.description, yesterday.description])
            #expect(sessions.last?["totalSeconds"] as? Int == 1200)
            #expect(try await hub.request("GET", syncURL + "?days=8", headers: ["Authorization": "Bearer \(key)"]).status == 400)

            // The e2e configuration allows 5 sync requests a minute per key; 4 were made.
            #expect(try await sync(#"{"sessions":[{"date":"\#(today)","totalSeconds":60}]}"#).status == 200)
            let limited = try await sync(#"{"sessions":[{"date":"\#(today)","totalSeconds":70}]}"#)
            #expect(limited.status == 429)
            #expect(limited.headers["retry-after"] != nil)
        }
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
