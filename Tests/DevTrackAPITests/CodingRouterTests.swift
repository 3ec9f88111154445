import DevTrackCore
import DevTrackStore
import DevTrackTestSupport
import Foundation
import Testing

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
}
