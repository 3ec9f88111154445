import DevTrackCore
import DevTrackTestSupport
import Foundation
import Testing

/// Hostile values sent to the query API through the built binary: each is a 400 naming the field (never a 500
/// from PostgreSQL), what was refused changes nothing, and the hub keeps answering. One hub for every check.
@Suite(.timeLimit(.minutes(5)))
struct HostileAPIInputEndToEndTests {
    @Test func hostileValuesAreRefusedNamingTheFieldAndTheHubStaysUp() async throws {
        try await withHub { hub in
            let user = try await hub.createUser(login: "Codertocat", githubID: 21031067)
            func call(_ method: String, _ path: String, _ body: String? = nil) async throws -> HubHTTPResult {
                let response = try await hub.api(method, path, body, token: user.token)
                return HubHTTPResult(
                    status: response.status, code: (response.json?["error"] as? [String: Any])?["code"] as? String,
                    message: (response.json?["error"] as? [String: Any])?["message"] as? String, text: response.text)
            }
            func expectRefused(
                _ method: String, _ path: String, _ body: String?, code: String, field: String? = nil,
                sourceLocation: SourceLocation = #_sourceLocation
            ) async throws {
                let result = try await call(method, path, body)
                #expect(result.status == 400, "\(method) \(path) \(body ?? "") → \(result.status) \(result.text)", sourceLocation: sourceLocation)
                #expect(result.code == code, "\(method) \(path) \(body ?? "") → \(result.text)", sourceLocation: sourceLocation)
                if let field {
                    #expect(result.message?.hasPrefix(field) == true, "the message names \(field): \(result.text)", sourceLocation: sourceLocation)
                }
            }

            // Time zones Foundation takes but PostgreSQL rejects or reads with the opposite sign.
            for zone in ["UTC+0530", "GMT+5", "GMT-3", "Etc/GMT+5", "Europe/Berlin\\u0000"] {
                try await expectRefused("PATCH", "/api/v1/settings", #"{"timezone": "\#(zone)"}"#, code: "invalid_timezone", field: "timezone")
            }
            let settings = try await hub.get("/api/v1/settings", token: user.token)
            #expect(settings.status == 200 && settings.json?["timezone"] as? String == "UTC", "a refused zone changes nothing: \(settings.text)")
            #expect(try await call("PATCH", "/api/v1/settings", #"{"timezone": "Asia/Kolkata"}"#).status == 200, "an IANA link still works")
            try await expectRefused(
                "POST", "/api/v1/goals", #"{"title": "x", "target": 5, "unit": "commits", "period": "daily", "timezone": "UTC+0530"}"#,
                code: "invalid_timezone", field: "timezone")

            // Goals: far or past deadlines, control characters in titles, targets beyond int4.
            try await expectRefused(
                "POST", "/api/v1/goals", #"{"title": "x", "target": 5, "unit": "commits", "period": "once", "deadline": "2400-01-01"}"#,
                code: "invalid_deadline", field: "deadline")
            try await expectRefused(
                "POST", "/api/v1/goals", #"{"title": "x", "target": 5, "unit": "commits", "period": "once", "deadline": "2001-01-01"}"#,
                code: "invalid_deadline", field: "deadline")
            try await expectRefused(
                "POST", "/api/v1/goals", #"{"title": "x", "target": 5, "unit": "commits", "period": "once", "deadline": "0000-01-01"}"#,
                code: "invalid_deadline", field: "deadline")
            try await expectRefused(
                "POST", "/api/v1/goals", #"{"title": "bad\u0000title", "target": 5, "unit": "commits", "period": "weekly"}"#,
                code: "invalid_title", field: "title")
            try await expectRefused(
                "POST", "/api/v1/goals", #"{"title": "x", "target": 3000000000, "unit": "commits", "period": "weekly"}"#,
                code: "invalid_target", field: "target")
            let farDeadline = LocalDate(Date(), in: .gmt).adding(days: 3_000)
            let goal = try await call(
                "POST", "/api/v1/goals",
                #"{"title": "Long run", "target": 1000000000, "unit": "commits", "period": "once", "deadline": "\#(farDeadline)"}"#)
            #expect(goal.status == 201, "a deadline within ten years and the largest target are accepted: \(goal.text)")
            let goals = try await hub.get("/api/v1/goals", token: user.token)
            let titles = (goals.json?["goals"] as? [[String: Any]])?.compactMap { $0["title"] as? String }
            #expect(goals.status == 200 && titles == ["Long run"], "only the accepted goal is stored: \(goals.text)")

            // Names and URLs stored as text: no NUL, no control characters.
            try await expectRefused("POST", "/api/v1/sources", #"{"kind": "custom", "name": "CI\u0000"}"#, code: "invalid_name", field: "name")
            try await expectRefused("POST", "/api/v1/coding/keys", #"{"name": "laptop\u0000"}"#, code: "invalid_name", field: "name")
            try await expectRefused(
                "POST", "/api/v1/webhooks", #"{"name": "hook\u0007", "url": "https://example.com/h", "events": ["goal.completed"]}"#,
                code: "invalid_name", field: "name")
            try await expectRefused(
                "POST", "/api/v1/webhooks", #"{"name": "hook", "url": "https://example.com/\u0000", "events": ["goal.completed"]}"#,
                code: "invalid_url", field: "url")
            try await expectRefused(
                "POST", "/api/v1/sources", #"{"kind": "custom", "mapping": {"kind": "commit", "occurred_at": "/t\u0000"}}"#,
                code: "invalid_mapping")

            // Dates PostgreSQL has no room for, and cursors far outside any notification's time.
            for query in ["from=0000-01-01", "from=0001-01-01", "from=1969-12-31&to=1970-01-01", "to=0000-12-31"] {
                try await expectRefused("GET", "/api/v1/metrics/daily?\(query)", nil, code: "invalid_date")
            }
            #expect(try await call("GET", "/api/v1/metrics/summary?from=2019-01-01&to=2019-12-31").status == 200)
            for cursor in ["9223372036854775807_00000000-0000-0000-0000-000000000000", "-9223372036854775808_00000000-0000-0000-0000-000000000000"] {
                try await expectRefused("GET", "/api/v1/notifications?cursor=\(cursor)", nil, code: "invalid_cursor")
            }
            #expect(try await call("GET", "/api/v1/notifications").status == 200)

            #expect(try await hub.request("GET", hub.apiURL + "/healthz").status == 200, "the hub still answers")

            // A served path asked with another method: 405 with Allow, on both servers; an unknown path stays 404.
            let wrongMethod = try await hub.request("PUT", hub.apiURL + "/api/v1/me", headers: ["Authorization": "Bearer \(user.token)"])
            #expect(wrongMethod.status == 405 && wrongMethod.headers["allow"] == "DELETE, GET", "\(wrongMethod.status) \(wrongMethod.headers)")
            #expect((wrongMethod.json?["error"] as? [String: Any])?["code"] as? String == "method_not_allowed")
            let wrongGoalMethod = try await hub.request("PUT", hub.apiURL + "/api/v1/goals/\(UUID().uuidString)")
            #expect(wrongGoalMethod.status == 405 && wrongGoalMethod.headers["allow"] == "DELETE, GET, PATCH", "\(wrongGoalMethod.headers)")
            let ingestGet = try await hub.request("GET", hub.ingestURL + "/webhooks/github")
            #expect(ingestGet.status == 405 && ingestGet.headers["allow"] == "POST")
            #expect(try await hub.request("GET", hub.apiURL + "/api/v1/nothing-here").status == 404)

            // The contract is served, as YAML and as JSON, and names the routes just exercised.
            let yaml = try await hub.request("GET", hub.apiURL + "/api/v1/openapi.yaml")
            #expect(yaml.status == 200 && yaml.headers["content-type"] == "application/yaml" && yaml.text.hasPrefix("# DevTrack Hub HTTP contract"))
            let contract = try await hub.request("GET", hub.apiURL + "/api/v1/openapi.json")
            #expect(contract.json?["openapi"] as? String == "3.1.0")
            let paths = (contract.json?["paths"] as? [String: Any]) ?? [:]
            #expect(paths["/api/v1/goals"] != nil && paths["/api/v1/settings"] != nil && paths["/webhooks/github"] != nil)
            #expect(try await call("GET", "/api/v1/goals").status == 200)
        }
    }
}

/// What a refused request answered, read once.
private struct HubHTTPResult {
    let status: Int
    let code: String?
    let message: String?
    let text: String
}
