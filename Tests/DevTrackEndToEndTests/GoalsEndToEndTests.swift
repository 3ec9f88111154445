import DevTrackCore
import DevTrackTestSupport
import Foundation
import Testing

/// Goals through the built binary: validation, CRUD, someone else's goal, and progress from webhooks.
@Suite(.timeLimit(.minutes(5)))
struct GoalsEndToEndTests {
    @Test func goalsAreValidatedOwnedAndProgressFromActivity() async throws {
        try await withHub { hub in
            let user = try await hub.createUser(login: "Codertocat", githubID: 21031067)
            let other = try await hub.createUser(login: "other", githubID: 5)
            func call(_ method: String, _ path: String, _ body: String? = nil, token: String? = nil) async throws -> HubUnderTest.Response {
                try await hub.api(method, path, body, token: token ?? user.token)
            }
            for (body, code) in [
                (#"{"target": 5, "unit": "commits", "period": "weekly"}"#, "invalid_title"),
                (#"{"title": "x", "target": 0, "unit": "commits", "period": "weekly"}"#, "invalid_target"),
                (#"{"title": "x", "target": 5, "unit": "lines", "period": "weekly"}"#, "invalid_unit"),
                (#"{"title": "x", "target": 5, "unit": "commits", "period": "yearly"}"#, "invalid_period"),
                (#"{"title": "x", "target": 5, "unit": "commits", "period": "once", "deadline": "2024-13-01"}"#, "invalid_deadline"),
                (#"{"title": "x", "target": 5, "unit": "commits", "period": "daily", "timezone": "Mars/Base"}"#, "invalid_timezone"),
            ] {
                let response = try await call("POST", "/api/v1/goals", body)
                #expect(response.status == 400)
                #expect((response.json?["error"] as? [String: Any])?["code"] as? String == code, "\(body) → \(response.text)")
            }

            // Activity from 2019 (the fixture's push); a once-goal from then on counts it.
            #expect(try await hub.postGitHub("push", Array(try Fixtures.data("push/branch-created.json")), delivery: "g-1").status == 202)
            let created = try await call("POST", "/api/v1/goals", #"{"title": "Ship", "target": 2, "unit": "commits", "period": "weekly"}"#)
            #expect(created.status == 201, "\(created.text)")
            let id = try #require(created.json?["id"] as? String)
            #expect(created.json?["current"] as? Int == 0, "2019's commit is not in this week")
            #expect(created.json?["percent"] as? Double == 0)
            #expect(created.json?["period_start"] as? String != nil && created.json?["completed_at"] is NSNull)

            let daily = try await call("POST", "/api/v1/goals", #"{"title": "A commit a day", "target": 1, "unit": "commits", "period": "daily"}"#)
            let dailyID = try #require(daily.json?["id"] as? String)

            // This week's commits (a push timestamped now) move it.
            func pushNow() throws -> [UInt8] {
                let push = String(decoding: try Fixtures.push(sha: Hex.encode(Credentials.randomBytes(20))), as: UTF8.self)
                return Array(push.replacingOccurrences(of: "2019-05-15T15:19:25Z", with: Timestamps.format(Date())).utf8)
            }
            let todaysPush = try pushNow()
            #expect(try await hub.postGitHub("push", todaysPush, delivery: "g-2").status == 202)
            let progressed = try await eventually({ try await call("GET", "/api/v1/goals/\(id)") }, until: { $0.json?["current"] as? Int == 1 })
            #expect(progressed.json?["percent"] as? Double == 50)

            // The daily goal is complete: one `goal.completed` intent on devtrack.notifications, with a
            // stable dedupe key — and still one after a redelivery and a second commit the same day.
            func completions() async throws -> [String] {
                try await hub.topicValues("devtrack.notifications").filter { line in
                    let intent = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
                    return intent?["type"] as? String == "goal.completed" && (intent?["data"] as? [String: String])?["goal_id"] == dailyID
                }
            }
            let first = try await eventually(within: 30, { try await completions() }, until: { !$0.isEmpty })
            #expect(first.count == 1)
            let intent = try JSONSerialization.jsonObject(with: Data((first.first ?? "{}").utf8)) as? [String: Any]
            #expect((intent?["dedupe_key"] as? String)?.hasPrefix("goal.completed:\(dailyID):") == true, "\(first)")
            #expect(try await hub.postGitHub("push", todaysPush, delivery: "g-2").status == 202)
            #expect(try await hub.postGitHub("push", try pushNow(), delivery: "g-3").status == 202)
            _ = try await eventually({ try await call("GET", "/api/v1/goals/\(id)") }, until: { $0.json?["current"] as? Int == 2 })
            try await hub.settled()
            #expect(try await completions().count == 1, "goal.completed fires once per goal and period")
            // The weekly goal (target 2) completed with the second commit.
            #expect(try await hub.topicValues("devtrack.notifications").filter { $0.contains("\"goal_id\":\"\(id)\"") }.count == 1)

            let patched = try await call("PATCH", "/api/v1/goals/\(id)", #"{"target": 3, "title": "Ship it"}"#)
            #expect(patched.json?["percent"] as? Double == 66.67)
            #expect(patched.json?["completed_at"] is NSNull)
            let lowered = try await call("PATCH", "/api/v1/goals/\(id)", #"{"target": 1}"#)
            #expect(lowered.json?["percent"] as? Double == 100)
            #expect(lowered.json?["completed_at"] as? String != nil, "\(lowered.text)")
            #expect(try await call("PATCH", "/api/v1/goals/\(id)", #"{"period": "daily"}"#).status == 400)
            #expect((try await call("GET", "/api/v1/goals").json?["goals"] as? [[String: Any]])?.count == 2)

            let history = try await call("GET", "/api/v1/goals/\(dailyID)/history")
            #expect(history.status == 200)
            #expect((history.json?["history"] as? [Any])?.isEmpty == true, "created today: no finished period yet")
            #expect(try await call("GET", "/api/v1/goals/\(dailyID)/history", token: other.token).status == 404)
            // Someone else's goal does not exist for them.
            #expect(try await call("GET", "/api/v1/goals/\(id)", token: other.token).status == 404)
            #expect(try await call("DELETE", "/api/v1/goals/\(id)", token: other.token).status == 404)
            #expect(try await call("DELETE", "/api/v1/goals/\(id)").status == 204)
            #expect(try await call("GET", "/api/v1/goals/\(id)").status == 404)
        }
    }

    @Test func aStreakFreezeKeepsTheStreakAlive() async throws {
        try await withHub { hub in
            let user = try await hub.createUser(login: "Codertocat", githubID: 21031067)
            // A commit two days ago, nothing yesterday or today.
            let twoDaysAgo = Date().addingTimeInterval(-2 * 86400)
            let push = String(decoding: try Fixtures.push(sha: Hex.encode(Credentials.randomBytes(20))), as: UTF8.self)
                .replacingOccurrences(of: "2019-05-15T15:19:25Z", with: Timestamps.format(twoDaysAgo))
            #expect(try await hub.postGitHub("push", Array(push.utf8), delivery: "s-1").status == 202)
            let before = try await eventually(
                { try await hub.get("/api/v1/metrics/streak", token: user.token) }, until: { $0.json?["longest"] as? Int == 1 })
            #expect(before.json?["current"] as? Int == 0, "yesterday was missed")

            let yesterday = LocalDate(Date().addingTimeInterval(-86400), in: .gmt)
            let freeze = try await hub.request(
                "POST", hub.apiURL + "/api/v1/streak/freezes",
                headers: ["Authorization": "Bearer \(user.token)", "Content-Type": "application/json"], body: Array(#"{"date":"\#(yesterday)"}"#.utf8)
            )
            #expect(freeze.status == 201, "\(freeze.text)")
            #expect(freeze.json?["remaining_this_month"] as? Int != nil)
            let after = try await hub.get("/api/v1/metrics/streak", token: user.token)
            #expect(after.json?["current"] as? Int == 1, "the frozen day bridges to today, without counting: \(after.text)")
            let bad = try await hub.request(
                "POST", hub.apiURL + "/api/v1/streak/freezes",
                headers: ["Authorization": "Bearer \(user.token)", "Content-Type": "application/json"], body: Array(#"{"date":"2001-01-01"}"#.utf8))
            #expect(bad.status == 400)
        }
    }
}
