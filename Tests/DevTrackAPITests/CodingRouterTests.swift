import DevTrackCore
import DevTrackStore
import DevTrackTestSupport
import Foundation
import Testing

@testable import DevTrackAPI

/// `CodingController`: coding keys (`/coding/keys`) and `/coding/summary`.
@Suite(.timeLimit(.minutes(2)))
struct CodingRouterTests {
    static let routes = [
        APIRoute(.post, "/api/v1/coding/keys"), APIRoute(.get, "/api/v1/coding/keys"), APIRoute(.delete, "/api/v1/coding/keys/{id}"),
        APIRoute(.get, "/api/v1/coding/summary"),
    ]

    @Test func everyRouteRequiresAValidBearerToken() async throws {
        try await APIRouterTest.run { api in try await expectEveryRouteRequiresAToken(Self.routes, api) }
    }

    @Test func aNewKeyNeedsAValidName() async throws {
        try await APIRouterTest.run { api in
            for body in [
                "{}", #"{"name": null}"#, #"{"name": ""}"#, #"{"name": "   "}"#, #"{"name": "\#(String(repeating: "k", count: 101))"}"#,
                #"{"name": "laptop\u0000"}"#, #"{"name": "lap\ntop"}"#, #"{"name": "\#(String(repeating: "é", count: 100))\u0007"}"#,
            ] {
                expectBadRequest(try await api.call(.post, "/api/v1/coding/keys", body), "invalid_name", naming: "name", body)
            }
            expectBadRequest(try await api.call(.post, "/api/v1/coding/keys", #"{"name": 5}"#), "invalid_body", naming: "name")
            expectBadRequest(try await api.call(.post, "/api/v1/coding/keys", #"{"name": ["a"]}"#), "invalid_body", naming: "name")
            try await expectMalformedBodiesRefused(.post, "/api/v1/coding/keys", api)
            try await expectBodyTooLarge(.post, "/api/v1/coding/keys", api)
            let keys = try await api.call(.get, "/api/v1/coding/keys")
            #expect(keys.value("keys", as: [Any].self)?.isEmpty == true, "nothing refused was stored: \(keys)")
        }
    }

    @Test func keysAreShownOnceListedWithoutThemAndRevoked() async throws {
        try await APIRouterTest.run { api in
            let created = try await api.call(.post, "/api/v1/coding/keys", #"{"name": "  laptop  "}"#)
            #expect(created.status == .created, "\(created)")
            #expect(created.keys() == ["id", "name", "key", "hint", "created_at", "last_used_at"], "\(created)")
            #expect(created.value("name", as: String.self) == "laptop", "trimmed")
            let key = try #require(created.value("key", as: String.self))
            #expect(UUID(uuidString: key) != nil && key == key.lowercased(), "a lower-case UUID: \(key)")
            #expect(created.value("hint", as: String.self)?.hasSuffix(String(key.suffix(4))) == true)
            #expect(created.isNull("last_used_at"))
            #expect(created.value("created_at", as: String.self).flatMap(Timestamps.parse) != nil)
            let id = try #require(created.value("id", as: String.self))
            let longest = try await api.call(.post, "/api/v1/coding/keys", #"{"name": "\#(String(repeating: "k", count: 100))"}"#)
            #expect(longest.status == .created, "100 characters are accepted: \(longest)")

            let list = try await api.call(.get, "/api/v1/coding/keys")
            #expect(list.status == .ok)
            #expect(list.value("keys", as: [Any].self)?.count == 2)
            #expect(!list.text.contains(key), "the key is never shown again: \(list)")
            #expect(list.keys("keys.0") == ["id", "name", "hint", "created_at", "last_used_at"], "\(list)")
            #expect(try await api.store.codingKeys.user(codingKey: key)?.id == api.user.id)

            let other = try await api.newUser("other")
            let theirs = try await api.call(.post, "/api/v1/coding/keys", #"{"name": "theirs"}"#, token: other.token)
            let theirID = try #require(theirs.value("id", as: String.self))
            #expect(try await api.call(.get, "/api/v1/coding/keys", token: other.token).value("keys", as: [Any].self)?.count == 1)
            try await expectNotFound(.delete, "/api/v1/coding/keys/{id}", othersID: theirID, in: api)

            let revoked = try await api.call(.delete, "/api/v1/coding/keys/\(id)")
            #expect(revoked.status == .noContent && revoked.body.isEmpty, "\(revoked)")
            #expect(try await api.store.codingKeys.user(codingKey: key) == nil, "refused at once")
            expectError(try await api.call(.delete, "/api/v1/coding/keys/\(id)"), .notFound, "not_found", "revoked twice")
        }
    }

    @Test func theCodingSummaryValidatesItsRange() async throws {
        try await APIRouterTest.run { api in try await expectDateRangeValidated("/api/v1/coding/summary", api) }
    }

    @Test func theCodingSummaryHasEveryDayAndEveryBreakdown() async throws {
        try await APIRouterTest.run { api in
            let summary = try await api.call(.get, "/api/v1/coding/summary?from=2024-03-01&to=2024-03-03")
            #expect(summary.status == .ok, "\(summary)")
            #expect(
                summary.keys() == [
                    "timezone", "from", "to", "total_seconds", "daily", "projects", "languages", "editors", "machines", "branches", "categories",
                ], "\(summary)")
            #expect(summary.value("total_seconds", as: Int.self) == 0)
            #expect(summary.value("from", as: String.self) == "2024-03-01" && summary.value("to", as: String.self) == "2024-03-03")
            let daily = try #require(summary.value("daily", as: [[String: Any]].self))
            #expect(daily.compactMap { $0["date"] as? String } == ["2024-03-01", "2024-03-02", "2024-03-03"])
            #expect(daily.allSatisfy { $0["seconds"] as? Int == 0 })
            #expect(summary.value("projects", as: [Any].self)?.isEmpty == true)
        }
    }

    /// `?stack=language|project`: each day's seconds split for a stacked chart, adding up to the day's total.
    @Test func theCodingSummaryStacksEachDayByLanguageOrProject() async throws {
        try await APIRouterTest.run { api in
            func beats(_ start: String, count: Int, every step: Double = 60, project: String, language: String) -> [Heartbeat] {
                let first = Timestamps.parse(start)!.timeIntervalSince1970
                return (0..<count).map {
                    Heartbeat(
                        time: first + Double($0) * step, entity: "\(project)/\(language).file", project: project, language: language, editor: "vim")
                }
            }
            // 2024-03-04: hub in Swift, then hub in Python, then docs without a language; 2024-03-05: site in Swift.
            let heartbeats =
                beats("2024-03-04T10:00:00Z", count: 11, project: "hub", language: "Swift")
                + beats("2024-03-04T10:11:00Z", count: 6, project: "hub", language: "Python")
                + beats("2024-03-04T12:00:00Z", count: 3, every: 100, project: "docs", language: "")
                + beats("2024-03-05T09:00:00Z", count: 31, project: "site", language: "Swift")
            _ = try await api.store.database.transaction {
                try await api.store.codingTime.applyHeartbeats([api.user.id: heartbeats], timeout: 900, on: $0)
            }
            let range = "from=2024-03-03&to=2024-03-05"
            let plain = try await api.call(.get, "/api/v1/coding/summary?\(range)")
            let plainDaily = try #require(plain.value("daily", as: [[String: Any]].self), "\(plain)")
            #expect(plainDaily.allSatisfy { Set($0.keys) == ["date", "seconds"] }, "no parts without stack: \(plain)")
            let seconds = plainDaily.compactMap { $0["seconds"] as? Int }
            #expect(seconds.count == 3 && seconds[0] == 0 && seconds[1] > 0 && seconds[2] > 0, "\(plain)")

            for (stack, expected) in [
                ("language", [[String](), ["Swift", "Python", "unknown"], ["Swift"]]), ("project", [[], ["hub", "docs"], ["site"]]),
            ] {
                let summary = try await api.call(.get, "/api/v1/coding/summary?\(range)&stack=\(stack)")
                #expect(summary.status == .ok, "\(summary)")
                let daily = try #require(summary.value("daily", as: [[String: Any]].self), "\(summary)")
                #expect(daily.count == 3)
                for (index, day) in daily.enumerated() {
                    #expect(Set(day.keys) == ["date", "seconds", "parts"], "\(day)")
                    let parts = try #require(day["parts"] as? [[String: Any]], "\(day)")
                    #expect(parts.allSatisfy { Set($0.keys) == ["name", "seconds"] }, "\(parts)")
                    #expect(parts.compactMap { $0["name"] as? String } == expected[index], "\(stack), \(day["date"] ?? ""): most first → \(parts)")
                    let partSeconds = parts.compactMap { $0["seconds"] as? Int }
                    #expect(partSeconds == partSeconds.sorted(by: >) && partSeconds.allSatisfy { $0 > 0 }, "\(parts)")
                    #expect(partSeconds.reduce(0, +) == day["seconds"] as? Int, "\(stack), \(day["date"] ?? ""): the parts add up → \(day)")
                    #expect(day["seconds"] as? Int == seconds[index], "the same day total as without stack")
                }
                #expect(summary.value("total_seconds", as: Int.self) == plain.value("total_seconds", as: Int.self))
                #expect(summary.value("languages", as: [Any].self)?.count == 3 && summary.value("projects", as: [Any].self)?.count == 3)
            }
            let languages = try await api.call(.get, "/api/v1/coding/summary?\(range)&stack=language")
            #expect(
                (languages.value("daily.1.parts", as: [[String: Any]].self) ?? []).compactMap { $0["seconds"] as? Int } == [660, 300, 200],
                "Swift 10:00–10:11, Python 10:11–10:16, docs 12:00–12:03:20 → \(languages)")
        }
    }

    @Test func stackedPartsAddUpToTheDayWhateverTheirFractions() {
        // 100.6 + 100.6 = 201.2 → a day of 201: rounding each part on its own would give 202.
        let parts = CodingSummaryBody.parts([("Swift", 100.6), ("Go", 100.6)], summingTo: 201)
        #expect(parts.map(\.seconds).reduce(0, +) == 201 && parts.map(\.name) == ["Swift", "Go"], "\(parts)")
        // Three parts of 0.4 (a day of 1 s): the second left over goes to one of them, none goes negative.
        let small = CodingSummaryBody.parts([("a", 0.4), ("b", 0.4), ("c", 0.4)], summingTo: 1)
        #expect(small.map(\.seconds).sorted() == [0, 0, 1], "\(small)")
        let exact = CodingSummaryBody.parts([("a", 660), ("b", 300)], summingTo: 960)
        #expect(exact.map(\.seconds) == [660, 300])
        #expect(CodingSummaryBody.parts([], summingTo: 0).isEmpty)
    }

    @Test func anUnknownStackIsRefused() async throws {
        try await APIRouterTest.run { api in
            for value in ["", "Language", "PROJECT", "editor", "languages", "language,project", "language%00", "%20language", "project+"] {
                let response = try await api.call(.get, "/api/v1/coding/summary?stack=\(value)")
                expectBadRequest(response, "invalid_stack", naming: "stack", "stack=\(value)")
            }
            // Given twice, the first counts (Hummingbird's `queryParameters.get`).
            let repeated = try await api.call(.get, "/api/v1/coding/summary?stack=language&stack=editor")
            #expect(repeated.status == .ok && repeated.value("daily.0.parts", as: [Any].self) != nil, "\(repeated)")
        }
    }
}
