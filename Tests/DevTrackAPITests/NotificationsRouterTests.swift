import DevTrackCore
import DevTrackStore
import DevTrackTestSupport
import Foundation
import Testing

/// `NotificationsController`: `GET /notifications`, `POST /notifications/read-all`, `POST /notifications/{id}/read`.
@Suite(.timeLimit(.minutes(2)))
struct NotificationsRouterTests {
    static let routes = [
        APIRoute(.get, "/api/v1/notifications"), APIRoute(.post, "/api/v1/notifications/read-all"),
        APIRoute(.post, "/api/v1/notifications/{id}/read"),
    ]

    @Test func everyRouteRequiresAValidBearerToken() async throws {
        try await APIRouterTest.run { api in try await expectEveryRouteRequiresAToken(Self.routes, api) }
    }

    /// Notifications of `user`, each in a transaction of its own (so each is newer than the one before), as the
    /// notify worker stores them; returns their ids, newest first.
    @discardableResult
    static func seed(_ api: APIRouterTest, for user: UUID, count: Int = 3) async throws -> [String] {
        var ids: [String] = []
        for index in 0..<count {
            let intent = NotificationIntent(
                userID: user, type: "achievement.unlocked", title: "Unlocked \(index)", body: "body \(index)", data: ["n": "\(index)"],
                dedupeKey: "test:\(user):\(index)")
            try await api.store.database.transaction { transaction in
                _ = try await api.store.notifications.storeNotifications([intent], on: transaction)
            }
            ids.insert(intent.id.uuidString.lowercased(), at: 0)
        }
        return ids
    }

    @Test func theListValidatesItsParameters() async throws {
        try await APIRouterTest.run { api in
            for limit in ["0", "101", "-1", "abc", "1.5", "", "20abc"] {
                let response = try await api.call(.get, "/api/v1/notifications?limit=\(limit)")
                expectBadRequest(response, "invalid_limit", naming: "limit", "limit=\(limit)")
            }
            let future = Int64((Date().timeIntervalSince1970 + 2 * 86_400) * 1_000_000)
            for cursor in [
                "abc", "1_2", "123", "_\(UUID().uuidString)", "\(UUID().uuidString)_1", "-1_\(UUID().uuidString)", "\(future)_\(UUID().uuidString)",
                "9223372036854775807_00000000-0000-0000-0000-000000000000", "99999999999999999999_00000000-0000-0000-0000-000000000000",
                "1_\(UUID().uuidString)_x", String(repeating: "1", count: 120),
            ] {
                let response = try await api.call(.get, "/api/v1/notifications?cursor=\(cursor)")
                expectBadRequest(response, "invalid_cursor", naming: "cursor", "cursor=\(cursor)")
            }
            for unread in ["yes", "1", "TRUE", "", "false%00"] {
                let response = try await api.call(.get, "/api/v1/notifications?unread=\(unread)")
                expectBadRequest(response, "invalid_unread", naming: "unread", "unread=\(unread)")
            }
            for query in ["limit=1", "limit=100", "unread=true", "unread=false", "cursor=0_\(UUID().uuidString)"] {
                let response = try await api.call(.get, "/api/v1/notifications?\(query)")
                #expect(response.status == .ok, "\(query) → \(response)")
            }
        }
    }

    @Test func pagesFollowTheCursorNewestFirst() async throws {
        try await APIRouterTest.run { api in
            let ids = try await Self.seed(api, for: api.user.id)
            let other = try await api.newUser("other")
            try await Self.seed(api, for: other.id, count: 2)

            let first = try await api.call(.get, "/api/v1/notifications?limit=2")
            #expect(first.status == .ok, "\(first)")
            #expect(first.keys() == ["notifications", "unread_count", "next_cursor"], "\(first)")
            #expect(first.value("unread_count", as: Int.self) == 3, "only the user's own: \(first)")
            let page = try #require(first.value("notifications", as: [[String: Any]].self))
            #expect(page.compactMap { $0["id"] as? String } == Array(ids.prefix(2)), "newest first: \(first)")
            #expect(first.keys("notifications.0") == ["id", "type", "title", "body", "data", "created_at", "read_at"], "\(first)")
            #expect(first.value("notifications.0.type", as: String.self) == "achievement.unlocked")
            #expect(first.value("notifications.0.title", as: String.self) == "Unlocked 2")
            #expect(first.value("notifications.0.data", as: [String: String].self) == ["n": "2"])
            #expect(first.value("notifications.0.created_at", as: String.self).flatMap(Timestamps.parse) != nil, "\(first)")
            #expect(first.isNull("notifications.0.read_at"))
            let cursor = try #require(first.value("next_cursor", as: String.self))

            let second = try await api.call(.get, "/api/v1/notifications?limit=2&cursor=\(cursor)")
            #expect(second.value("notifications", as: [[String: Any]].self)?.compactMap { $0["id"] as? String } == [ids[2]], "\(second)")
            #expect(second.isNull("next_cursor"), "the last page: \(second)")
            let everything = try await api.call(.get, "/api/v1/notifications")
            #expect(everything.value("notifications", as: [Any].self)?.count == 3 && everything.isNull("next_cursor"), "\(everything)")
        }
    }

    @Test func notificationsAreMarkedReadOnceAndAllAtOnce() async throws {
        try await APIRouterTest.run { api in
            let ids = try await Self.seed(api, for: api.user.id)
            let read = try await api.call(.post, "/api/v1/notifications/\(ids[0])/read")
            #expect(read.status == .ok, "\(read)")
            #expect(read.keys() == ["id", "type", "title", "body", "data", "created_at", "read_at"], "\(read)")
            #expect(read.value("id", as: String.self) == ids[0])
            let readAt = try #require(read.value("read_at", as: String.self))
            #expect(Timestamps.parse(readAt) != nil)
            let again = try await api.call(.post, "/api/v1/notifications/\(ids[0].uppercased())/read")
            #expect(again.value("read_at", as: String.self) == readAt, "the first read time is kept: \(again)")

            let unread = try await api.call(.get, "/api/v1/notifications?unread=true")
            #expect(unread.value("notifications", as: [[String: Any]].self)?.compactMap { $0["id"] as? String } == Array(ids.suffix(2)))
            #expect(unread.value("unread_count", as: Int.self) == 2, "\(unread)")

            let all = try await api.call(.post, "/api/v1/notifications/read-all")
            #expect(all.status == .ok && all.keys() == ["marked"] && all.value("marked", as: Int.self) == 2, "\(all)")
            #expect(try await api.call(.post, "/api/v1/notifications/read-all").value("marked", as: Int.self) == 0)
            #expect(try await api.call(.get, "/api/v1/notifications").value("unread_count", as: Int.self) == 0)
        }
    }

    @Test func anotherUsersNotificationDoesNotExist() async throws {
        try await APIRouterTest.run { api in
            let other = try await api.newUser("other")
            let theirs = try await Self.seed(api, for: other.id, count: 1)
            try await expectNotFound(.post, "/api/v1/notifications/{id}/read", othersID: theirs[0], in: api)
            let mine = try await api.call(.post, "/api/v1/notifications/read-all")
            #expect(mine.value("marked", as: Int.self) == 0, "read-all marks only the user's own: \(mine)")
            let still = try await api.call(.get, "/api/v1/notifications", token: other.token)
            #expect(still.value("unread_count", as: Int.self) == 1 && still.isNull("notifications.0.read_at"), "untouched: \(still)")
        }
    }
}
