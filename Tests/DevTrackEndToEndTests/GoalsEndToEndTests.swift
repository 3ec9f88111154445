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
                try await hub.request(method, hub.apiURL + path, headers: [
                    "Authorization": "Bearer \(token ?? user.token)", "Content-Type": "application/json",
                ], body: body.map { Array($0.utf8) })
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

            // This week's commits (a push timestamped now) move it.
            let sha = Hex.encode(Credentials.randomBytes(20))
            let now = Timestamps.format(Date())
            let push = String(decoding: try Fixtures.push(sha: sha), as: UTF8.self).replacingOccurrences(of: "2019-05-15T15:19:25Z", with: now)
            #expect(try await hub.postGitHub("push", Array(push.utf8), delivery: "g-2").status == 202)
            let progressed = try await eventually({ try await call("GET", "/api/v1/goals/\(id)") }, until: { $0.json?["current"] as? Int == 1 })
            #expect(progressed.json?["percent"] as? Double == 50)

            let patched = try await call("PATCH", "/api/v1/goals/\(id)", #"{"target": 1, "title": "Ship it"}"#)
            #expect(patched.json?["percent"] as? Double == 100)
            #expect(patched.json?["completed_at"] as? String != nil, "\(patched.text)")
            #expect(try await call("PATCH", "/api/v1/goals/\(id)", #"{"period": "daily"}"#).status == 400)
            #expect((try await call("GET", "/api/v1/goals").json?["goals"] as? [[String: Any]])?.count == 1)

            // Someone else's goal does not exist for them.
            #expect(try await call("GET", "/api/v1/goals/\(id)", token: other.token).status == 404)
            #expect(try await call("DELETE", "/api/v1/goals/\(id)", token: other.token).status == 404)
            #expect(try await call("DELETE", "/api/v1/goals/\(id)").status == 204)
            #expect(try await call("GET", "/api/v1/goals/\(id)").status == 404)
        }
    }
}
