import DevTrackCore
import DevTrackTestSupport
import Foundation
import Testing

/// `GET /api/v1/stream` through the built binary: a user's open stream hears of new facts and new
/// notifications and goals' progress once they are committed, and only the user's own.
@Suite(.timeLimit(.minutes(5)))
struct StreamEndToEndTests {
    @Test func aUsersStreamCarriesTheirMetricsAndNotificationsOnly() async throws {
        try await withHub { hub in
            let user = try await hub.createUser(login: "Codertocat", githubID: 21031067)
            let other = try await hub.createUser(login: "other", githubID: 5)
            let unauthorized = try await hub.request("GET", hub.apiURL + "/api/v1/stream")
            #expect(unauthorized.status == 401)

            let goal = try await hub.request(
                "POST", hub.apiURL + "/api/v1/goals",
                headers: [
                    "Authorization": "Bearer \(user.token)", "Content-Type": "application/json",
                ], body: Array(#"{"title": "Ship it", "target": 3, "unit": "commits", "period": "weekly"}"#.utf8))
            let goalID = try #require(goal.json?["id"] as? String)

            let mine = try hub.openStream(token: user.token)
            let theirs = try hub.openStream(token: other.token)
            defer {
                Task {
                    await mine.stop(); await theirs.stop()
                }
            }
            _ = try await eventually({ mine.output }, until: { $0.contains(": connected") })
            _ = try await eventually({ theirs.output }, until: { $0.contains(": connected") })

            let push = String(decoding: try Fixtures.push(sha: Hex.encode(Credentials.randomBytes(20))), as: UTF8.self)
                .replacingOccurrences(of: "2019-05-15T15:19:25Z", with: Timestamps.format(Date()))
            #expect(try await hub.postGitHub("push", Array(push.utf8), delivery: "s-1").status == 202)

            let seen = try await eventually(
                within: 60, { mine.output },
                until: {
                    $0.contains("event: metrics.updated") && $0.contains("Achievement unlocked: First commit") && $0.contains("event: goal.progress")
                })
            #expect(seen.contains("event: metrics.updated\ndata: {\"new_facts\":1}"))
            #expect(seen.contains(#"event: goal.progress\#ndata: {"goals":[{"id":"\#(goalID)","target":3,"progress":1,"completed":false}]}"#))
            let notification = try #require(seen.components(separatedBy: "\n\n").first { $0.contains("First commit") })
            #expect(notification.hasPrefix("event: notification\ndata: {"))
            let json = try #require(notification.components(separatedBy: "data: ").last)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: String])
            #expect(object["type"] == "achievement.unlocked")
            #expect(object["id"] != nil && object["created_at"] != nil)
            #expect(!theirs.output.contains("event:"), "someone else's stream hears nothing")
        }
    }
}
