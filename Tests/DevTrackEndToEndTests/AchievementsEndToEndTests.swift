import DevTrackCore
import DevTrackTestSupport
import Foundation
import Testing

/// Achievements, streak milestones, coding goals and deadline reminders through the built binary: webhooks
/// and heartbeats in, `GET /api/v1/achievements` and the exact notification intents out — each intent once,
/// even after a redelivery and after `devtrack replay` rewinds the goals and achievements groups.
@Suite(.timeLimit(.minutes(5)))
struct AchievementsEndToEndTests {
    @Test func unlocksMilestonesAndRemindersArriveOnceThroughRedeliveryAndReplay() async throws {
        try await withHub { hub in
            let user = try await hub.createUser(login: "Codertocat", githubID: 21031067)
            func call(
                _ method: String, _ path: String, _ body: String? = nil, base: String? = nil, auth: String? = nil
            ) async throws -> HubUnderTest.Response {
                try await hub.request(
                    method, (base ?? hub.apiURL) + path,
                    headers: [
                        "Authorization": auth ?? "Bearer \(user.token)", "Content-Type": "application/json",
                    ], body: body.map { Array($0.utf8) })
            }
            let key = try #require(try await call("POST", "/api/v1/coding/keys", #"{"name":"laptop"}"#).json?["key"] as? String)
            let today = LocalDate(Date(), in: .gmt)
            #expect(
                try await call("POST", "/api/v1/goals", #"{"title": "Code daily", "target": 1, "unit": "coding_minutes", "period": "daily"}"#).status
                    == 201)
            let sprint = try await call(
                "POST", "/api/v1/goals", #"{"title": "Sprint", "target": 100, "unit": "commits", "period": "once", "deadline": "\#(today)"}"#)
            let sprintID = try #require(sprint.json?["id"] as? String)

            // Seven days in a row of coding (today and the six before), five minutes a day, each day's two heartbeats on that
            // day even just after midnight (then today's are a few minutes ahead, which ingest accepts).
            let now = Date().timeIntervalSince1970.rounded()
            let startOfToday = today.startOfDay(in: .gmt).timeIntervalSince1970
            let anchor = startOfToday + min(max(now - startOfToday, 400), 43_200)
            var beats: [String] = []
            for day in 0..<7 {
                let instant = anchor - Double(day) * 86_400
                for time in [instant - 360, instant - 60] {
                    beats.append(#"{"time": \#(time), "entity": "main.swift", "language": "Swift", "project": "hub"}"#)
                }
            }
            let posted = try await call(
                "POST", "/api/v1/heartbeats", "[" + beats.joined(separator: ",") + "]", base: hub.ingestURL, auth: "Bearer \(key)")
            #expect(posted.status == 201, "\(posted.text)")
            // And a commit today.
            func pushNow() throws -> [UInt8] {
                let push = String(decoding: try Fixtures.push(sha: Hex.encode(Credentials.randomBytes(20))), as: UTF8.self)
                return Array(push.replacingOccurrences(of: "2019-05-15T15:19:25Z", with: Timestamps.format(Date())).utf8)
            }
            let push = try pushNow()
            #expect(try await hub.postGitHub("push", push, delivery: "a-1").status == 202)

            let achievements = try await eventually(
                within: 30, { try await call("GET", "/api/v1/achievements") },
                until: { response in
                    let unlocked = Set(
                        ((response.json?["achievements"] as? [[String: Any]]) ?? []).filter { $0["unlocked"] as? Bool == true }.compactMap {
                            $0["id"] as? String
                        })
                    return unlocked.isSuperset(of: ["first_commit", "streak_7"])
                })
            let items = Dictionary(
                uniqueKeysWithValues: ((achievements.json?["achievements"] as? [[String: Any]]) ?? []).map { ($0["id"] as? String ?? "", $0) })
            #expect(items.count == AchievementCatalogue.all.count)
            #expect((items["first_commit"]?["fact_id"] as? String)?.hasPrefix("commit:") == true)
            #expect(items["first_commit"]?["unlocked_at"] as? String != nil)
            #expect(items["commits_100"]?["current"] as? Int == 1 && items["commits_100"]?["unlocked"] as? Bool == false)
            #expect(items["streak_30"]?["current"] as? Int == 7)
            #expect(items["coding_hours_10"]?["unlocked"] as? Bool == false)

            // The intents for this user, by dedupe key.
            func intents() async throws -> [String: Int] {
                var counts: [String: Int] = [:]
                for line in try await hub.topicValues("devtrack.notifications") {
                    guard let intent = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                        intent["user_id"] as? String == user.id, let key = intent["dedupe_key"] as? String
                    else { continue }
                    counts[key, default: 0] += 1
                }
                return counts
            }
            let expected: Set<String> = [
                "achievement.unlocked:\(user.id):first_commit", "achievement.unlocked:\(user.id):streak_7",
                "streak.milestone:\(user.id):7", "goal.deadline_near:\(sprintID):\(today)",
                "daily.summary:\(user.id):\(today.adding(days: -1))",
            ]
            // (A `weekly.summary` also comes when this runs on a Monday after 09:00 UTC: it has its own test.)
            func daily(_ keys: [String: Int]) -> Int { keys.keys.filter { !$0.hasPrefix("weekly.summary:") }.count }
            let sent = try await eventually(within: 30, { try await intents() }, until: { Set($0.keys).isSuperset(of: expected) && daily($0) == 6 })
            #expect(Set(sent.keys).isSuperset(of: expected), "\(sent)")
            #expect(sent.keys.filter { $0.hasPrefix("goal.completed:") }.count == 1, "the coding goal, from heartbeats: \(sent)")
            #expect(sent.values.allSatisfy { $0 == 1 }, "\(sent)")

            // A redelivery changes nothing.
            #expect(try await hub.postGitHub("push", push, delivery: "a-1").status == 202)
            // Replay: stop the workers, rewind goals + achievements to the start of devtrack.activity, restart.
            await hub.worker.stop()
            let replay = try await hub.run(["replay", "goals", "achievements"])
            #expect(replay.code == 0, "\(replay.output)")
            #expect(replay.output.contains("devtrack-goals rewound") && replay.output.contains("devtrack-achievements rewound"), "\(replay.output)")
            try await hub.startWorker()
            // A new commit behind the replayed ones on the user's partition: once it counts, the replay is through.
            #expect(try await hub.postGitHub("push", try pushNow(), delivery: "a-2").status == 202)
            // The restarted worker rejoins its groups first (on the mock that has taken 30 s under the suite's load).
            _ = try await eventually(
                within: 90, { try await call("GET", "/api/v1/achievements") },
                until: { response in
                    ((response.json?["achievements"] as? [[String: Any]]) ?? []).first { $0["id"] as? String == "commits_100" }?["current"] as? Int
                        == 2
                })
            try await hub.settled()
            let after = try await intents()
            #expect(after == sent, "nothing sent twice after redelivery and replay")
            #expect(try await call("GET", "/api/v1/achievements").json?["unlocked_count"] as? Int == 2)

            // The notify worker turned each intent into one in-app notification.
            let inbox = try await eventually(
                within: 30, { try await call("GET", "/api/v1/notifications?limit=2") },
                until: {
                    $0.json?["unread_count"] as? Int == sent.count
                })
            let page = (inbox.json?["notifications"] as? [[String: Any]]) ?? []
            #expect(page.count == 2 && inbox.json?["next_cursor"] is String, "\(inbox.text)")
            let cursor = try #require(inbox.json?["next_cursor"] as? String)
            let rest = (try await call("GET", "/api/v1/notifications?cursor=\(cursor)&limit=100").json?["notifications"] as? [[String: Any]]) ?? []
            #expect(Set((page + rest).compactMap { $0["id"] as? String }).count == sent.count)
            let first = try #require(page.first?["id"] as? String)
            #expect(try await call("POST", "/api/v1/notifications/\(first)/read").json?["read_at"] is String)
            #expect(try await call("POST", "/api/v1/notifications/\(UUID().uuidString)/read").status == 404)
            #expect(try await call("GET", "/api/v1/notifications?limit=0").status == 400)
            #expect(try await call("GET", "/api/v1/notifications?cursor=nope").status == 400)
            #expect(try await call("POST", "/api/v1/notifications/read-all").json?["marked"] as? Int == sent.count - 1)
            #expect(try await call("GET", "/api/v1/notifications?unread=true").json?["unread_count"] as? Int == 0)
        }
    }
}
