import DevTrackCore
import DevTrackStore
import DevTrackTestSupport
import Foundation
import Testing

/// `GoalsController`: `/goals`, `/goals/{id}`, `/goals/{id}/history`.
@Suite(.timeLimit(.minutes(2)))
struct GoalsRouterTests {
    static let routes = [
        APIRoute(.post, "/api/v1/goals"), APIRoute(.get, "/api/v1/goals"), APIRoute(.get, "/api/v1/goals/{id}"),
        APIRoute(.patch, "/api/v1/goals/{id}"), APIRoute(.delete, "/api/v1/goals/{id}"), APIRoute(.get, "/api/v1/goals/{id}/history"),
    ]

    @Test func everyRouteRequiresAValidBearerToken() async throws {
        try await APIRouterTest.run { api in try await expectEveryRouteRequiresAToken(Self.routes, api) }
    }

    @Test func aNewGoalIsRefusedNamingTheFieldThatIsWrong() async throws {
        try await APIRouterTest.run { api in
            let today = APIRouterTest.today
            let kiritimati = LocalDate(Date(), in: TimeZone(identifier: "Pacific/Kiritimati")!)
            let cases: [(field: String, value: String?)] =
                [
                    ("title", nil), ("title", "null"), ("title", #""""#), ("title", #""   ""#),
                    ("title", #""\#(String(repeating: "t", count: 201))""#),
                    ("title", #""bad\u0000title""#), ("title", #""bell\u0007""#),
                    ("target", nil), ("target", "null"), ("target", "0"), ("target", "-1"), ("target", "1000000001"), ("target", "3000000000"),
                    ("unit", nil), ("unit", #""lines""#), ("unit", #""Commits""#), ("unit", #""custom:""#), ("unit", #""custom:Deploy""#),
                    ("unit", #""custom:a b""#),
                    ("period", nil), ("period", #""yearly""#), ("period", #""Daily""#), ("period", #""""#),
                    ("timezone", #""Mars/Base""#), ("timezone", #""UTC+0530""#), ("timezone", #""GMT+5""#), ("timezone", #""Etc/GMT+5""#),
                    ("timezone", #""""#), ("timezone", #""Europe/Berlin\u0000""#),
                    ("deadline", #""2024-13-01""#), ("deadline", #""tomorrow""#), ("deadline", #""2001-01-01""#), ("deadline", #""0000-01-01""#),
                    ("deadline", #""\#(today.adding(days: -1))""#), ("deadline", #""\#(today.adding(days: 3_654))""#),
                    ("deadline", #""2400-01-01""#), ("deadline", #""""#), ("deadline", #""\#(today)T00:00:00Z""#),
                ]
            for (field, value) in cases {
                let body = goal([field: value])
                expectBadRequest(try await api.call(.post, "/api/v1/goals", body), "invalid_\(field)", naming: field, body)
            }
            // The deadline is checked against today in the goal's own zone.
            let behind = goal(["timezone": #""Pacific/Kiritimati""#, "period": #""once""#, "deadline": #""\#(kiritimati.adding(days: -1))""#])
            expectBadRequest(try await api.call(.post, "/api/v1/goals", behind), "invalid_deadline", naming: "deadline", behind)
            for (field, value) in [("target", #""5""#), ("target", "true"), ("title", "5"), ("unit", #"["commits"]"#), ("deadline", "20240101")] {
                let body = goal([field: value])
                expectBadRequest(try await api.call(.post, "/api/v1/goals", body), "invalid_body", naming: field, body)
            }
            try await expectMalformedBodiesRefused(.post, "/api/v1/goals", api)
            try await expectBodyTooLarge(.post, "/api/v1/goals", api)
            let goals = try await api.call(.get, "/api/v1/goals")
            #expect(goals.value("goals", as: [Any].self)?.isEmpty == true, "nothing refused was stored: \(goals)")
        }
    }

    /// A target that is a number but not a whole one (or too large for one) is `invalid_target`.
    @Test func aTargetThatIsNotAWholeNumberIsInvalid() async throws {
        try await APIRouterTest.run { api in
            for value in ["1.5", "1e20"] {
                let body = goal(["target": value])
                expectBadRequest(try await api.call(.post, "/api/v1/goals", body), "invalid_target", naming: "target", body)
            }
            #expect(try await api.call(.post, "/api/v1/goals", goal(["target": "5.0"])).value("target", as: Int.self) == 5)
        }
    }

    @Test func theLimitsOfEachFieldAreAccepted() async throws {
        try await APIRouterTest.run { api in
            let today = APIRouterTest.today
            let kiritimati = LocalDate(Date(), in: TimeZone(identifier: "Pacific/Kiritimati")!)
            for body in [
                goal(["title": #""\#(String(repeating: "t", count: 200))""#]), goal(["target": "1"]), goal(["target": "1000000000"]),
                goal(["period": #""once""#, "deadline": #""\#(today)""#]),
                goal(["period": #""once""#, "deadline": #""\#(today.adding(days: 3_653))""#]),
                goal(["period": #""once""#]), goal(["unit": #""custom:deploy.prod_v-2""#, "period": #""monthly""#]),
                goal(["timezone": #""Asia/Kolkata""#, "period": #""daily""#]), goal(["timezone": #""Etc/UTC""#]),
                goal(["timezone": #""Pacific/Kiritimati""#, "period": #""once""#, "deadline": #""\#(kiritimati)""#]),
                goal(["unit": #""coding_minutes""#]), goal(["unit": #""active_days""#]), goal(["unit": #""issues_closed""#]),
            ] {
                let response = try await api.call(.post, "/api/v1/goals", body)
                #expect(response.status == .created, "\(body) → \(response)")
            }
        }
    }

    @Test func aGoalIsCreatedReadChangedAndDeletedWithItsProgress() async throws {
        try await APIRouterTest.run { api in
            let today = APIRouterTest.today
            let created = try await api.call(
                .post, "/api/v1/goals", #"{"title": "  Ship  ", "target": 5, "unit": "commits", "period": "weekly"}"#)
            #expect(created.status == .created, "\(created)")
            #expect(
                created.keys() == [
                    "id", "title", "target", "unit", "period", "deadline", "timezone", "current", "percent", "period_start", "period_end",
                    "completed_at", "created_at",
                ], "\(created)")
            let id = try #require(created.value("id", as: String.self))
            #expect(id == id.lowercased() && UUID(uuidString: id) != nil)
            #expect(created.value("title", as: String.self) == "Ship", "trimmed")
            #expect(created.value("target", as: Int.self) == 5 && created.value("unit", as: String.self) == "commits")
            #expect(created.value("period", as: String.self) == "weekly")
            #expect(created.isNull("deadline") && created.isNull("completed_at"))
            #expect(created.value("timezone", as: String.self) == "UTC", "the user's zone when the goal has none")
            #expect(created.value("current", as: Int.self) == 0 && created.value("percent", as: Double.self) == 0)
            let start = try #require(created.value("period_start", as: String.self).flatMap { LocalDate($0) })
            let end = try #require(created.value("period_end", as: String.self).flatMap { LocalDate($0) })
            #expect(start <= today && today <= end && end - start == 6 && start.weekdayFromMonday == 0, "this ISO week: \(created)")

            // A commit now moves it; someone else's does not.
            let other = try await api.newUser("other")
            let facts = [api.user.id, other.id, other.id].enumerated().map { index, user in
                ActivityFact(id: "commit:\(index)", userID: user, kind: .commit, occurredAt: Date(), repo: "o/r", language: nil, source: "github-app")
            }
            _ = try await api.store.database.transaction { try await api.store.activity.applyFacts(facts, on: $0) }
            let read = try await api.call(.get, "/api/v1/goals/\(id)")
            #expect(read.status == .ok, "\(read)")
            #expect(read.value("current", as: Int.self) == 1 && read.value("percent", as: Double.self) == 20, "\(read)")

            let deadline = today.adding(days: 10)
            let once = try await api.call(
                .post, "/api/v1/goals",
                #"{"title": "Deploy", "target": 2, "unit": "custom:deploy", "period": "once", "deadline": "\#(deadline)", "timezone": "Asia/Tokyo"}"#
            )
            #expect(once.status == .created, "\(once)")
            #expect(once.value("unit", as: String.self) == "custom:deploy" && once.value("timezone", as: String.self) == "Asia/Tokyo")
            #expect(once.value("deadline", as: String.self) == today.adding(days: 10).description)
            #expect(once.value("period_end", as: String.self) == today.adding(days: 10).description, "a once goal ends at its deadline")

            let list = try await api.call(.get, "/api/v1/goals")
            #expect(list.status == .ok && list.keys() == ["goals"], "\(list)")
            #expect(list.value("goals", as: [[String: Any]].self)?.compactMap { $0["id"] as? String }.sorted().contains(id) == true)
            #expect(list.value("goals", as: [Any].self)?.count == 2)
            #expect(try await api.call(.get, "/api/v1/goals", token: other.token).value("goals", as: [Any].self)?.isEmpty == true)

            let history = try await api.call(.get, "/api/v1/goals/\(id)/history")
            #expect(history.status == .ok && history.keys() == ["history"], "\(history)")
            #expect(history.value("history", as: [Any].self)?.isEmpty == true, "created this week: no finished period")

            let patched = try await api.call(.patch, "/api/v1/goals/\(id)", #"{"title": "Ship it", "target": 4, "timezone": "Europe/Berlin"}"#)
            #expect(patched.status == .ok, "\(patched)")
            #expect(patched.value("title", as: String.self) == "Ship it" && patched.value("target", as: Int.self) == 4)
            #expect(patched.value("percent", as: Double.self) == 25 && patched.value("timezone", as: String.self) == "Europe/Berlin")
            let unchanged = try await api.call(.patch, "/api/v1/goals/\(id)", "{}")
            #expect(unchanged.status == .ok && unchanged.value("title", as: String.self) == "Ship it", "\(unchanged)")
            let reached = try await api.call(.patch, "/api/v1/goals/\(id)", #"{"target": 1}"#)
            #expect(reached.value("percent", as: Double.self) == 100 && reached.value("completed_at", as: String.self) != nil, "\(reached)")

            let deleted = try await api.call(.delete, "/api/v1/goals/\(id)")
            #expect(deleted.status == .noContent && deleted.body.isEmpty, "\(deleted)")
            expectError(try await api.call(.get, "/api/v1/goals/\(id)"), .notFound, "not_found", "a deleted goal")
            expectError(try await api.call(.delete, "/api/v1/goals/\(id)"), .notFound, "not_found", "deleted twice")
        }
    }

    @Test func aChangeIsValidatedLikeACreationAndCannotChangeUnitOrPeriod() async throws {
        try await APIRouterTest.run { api in
            let today = APIRouterTest.today
            let created = try await api.call(.post, "/api/v1/goals", goal())
            let path = "/api/v1/goals/\(try #require(created.value("id", as: String.self)))"
            for body in [#"{"unit": "prs_opened"}"#, #"{"period": "daily"}"#, #"{"unit": "commits", "period": "weekly"}"#] {
                let response = try await api.call(.patch, path, body)
                expectBadRequest(response, "invalid_field", naming: "unit and period", body)
            }
            for (body, field) in [
                (#"{"title": ""}"#, "title"), (#"{"title": "   "}"#, "title"), (#"{"title": "a\u0000"}"#, "title"),
                (#"{"title": "\#(String(repeating: "t", count: 201))"}"#, "title"), (#"{"target": 0}"#, "target"),
                (#"{"target": 1000000001}"#, "target"), (#"{"timezone": "UTC+0530"}"#, "timezone"), (#"{"timezone": "Mars/Base"}"#, "timezone"),
                (#"{"deadline": "\#(today.adding(days: -1))"}"#, "deadline"), (#"{"deadline": "2024-02-30"}"#, "deadline"),
                (#"{"deadline": "\#(today.adding(days: 3_654))"}"#, "deadline"),
            ] {
                expectBadRequest(try await api.call(.patch, path, body), "invalid_\(field)", naming: field, body)
            }
            for (body, field) in [(#"{"target": "5"}"#, "target"), (#"{"title": 5}"#, "title"), (#"{"deadline": 5}"#, "deadline")] {
                expectBadRequest(try await api.call(.patch, path, body), "invalid_body", naming: field, body)
            }
            try await expectMalformedBodiesRefused(.patch, path, api)
            try await expectBodyTooLarge(.patch, path, api)
            let read = try await api.call(.get, path)
            #expect(read.value("title", as: String.self) == "x" && read.value("target", as: Int.self) == 5, "nothing refused changed it: \(read)")
            #expect(read.value("unit", as: String.self) == "commits" && read.value("period", as: String.self) == "weekly")
        }
    }

    @Test func anotherUsersGoalDoesNotExist() async throws {
        try await APIRouterTest.run { api in
            let other = try await api.newUser("other")
            let theirs = try await api.call(.post, "/api/v1/goals", goal(), token: other.token)
            let id = try #require(theirs.value("id", as: String.self))
            try await expectNotFound(.get, "/api/v1/goals/{id}", othersID: id, in: api)
            try await expectNotFound(.get, "/api/v1/goals/{id}/history", othersID: id, in: api)
            try await expectNotFound(.patch, "/api/v1/goals/{id}", othersID: id, body: #"{"title": "mine now"}"#, in: api)
            // Ownership is checked before the body: a bad body on someone else's goal is still a 404.
            try await expectNotFound(.patch, "/api/v1/goals/{id}", othersID: id, body: #"{"unit": "reviews", "target": "x"}"#, in: api)
            try await expectNotFound(.delete, "/api/v1/goals/{id}", othersID: id, in: api)
            let still = try await api.call(.get, "/api/v1/goals/\(id)", token: other.token)
            #expect(still.status == .ok && still.value("title", as: String.self) == "x", "untouched: \(still)")
        }
    }
}

/// A valid goal with `change` applied (a field replaced, or removed when its value is nil).
private func goal(_ change: [String: String?] = [:]) -> String {
    var fields: [String: String] = [#""title""#: #""x""#, #""target""#: "5", #""unit""#: #""commits""#, #""period""#: #""weekly""#]
    for (key, value) in change { fields[#""\#(key)""#] = value }
    return "{" + fields.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "}"
}
