import DevTrackCore
import DevTrackStore
import DevTrackTestSupport
import Foundation
import Testing

/// `ActivityFeedController`: `GET /activity`, the user's stored facts newest first with cursor paging.
@Suite(.timeLimit(.minutes(2)))
struct ActivityFeedRouterTests {
    static let routes = [APIRoute(.get, "/api/v1/activity")]

    @Test func everyRouteRequiresAValidBearerToken() async throws {
        try await APIRouterTest.run { api in try await expectEveryRouteRequiresAToken(Self.routes, api) }
    }

    /// Seven facts of the test's user (two at the same microsecond, on either side of a page of three), and
    /// facts of another user, newer than all of them and one with the same natural id.
    static func seed(_ api: APIRouterTest) async throws {
        let other = try await api.newUser("other")
        let me = api.user.id
        func fact(
            _ id: String, _ user: UUID, _ kind: ActivityKind, _ at: String, value: Double = 1, repo: String? = "octo/app",
            title: String? = nil, url: String? = nil, source: String = "github-app"
        ) -> ActivityFact {
            ActivityFact(
                id: id, userID: user, kind: kind, occurredAt: Timestamps.parse(at)!, value: value, repo: repo, language: "Swift", source: source,
                repoPrivate: false, title: title, url: url)
        }
        let facts = [
            fact("commit:a", me, .commit, "2024-03-01T10:00:00Z", title: "Fix the build", url: "https://github.com/octo/app/commit/a"),
            fact(
                "pr_opened:7", me, .prOpened, "2024-03-02T09:30:00.123Z", title: "Add the activity feed", url: "https://github.com/octo/app/pull/7"),
            fact("custom:deploy:1", me, ActivityKind.custom("deploy")!, "2024-03-03T00:00:00Z", value: 2.5, repo: nil, source: "custom:ci"),
            fact("review:1", me, .review, "2024-03-04T12:00:00.123456Z", title: "Reviewed change"),
            fact("review:2", me, .review, "2024-03-04T12:00:00.123456Z", url: "https://github.com/octo/app/pull/9#pullrequestreview-2"),
            fact("commit:b", me, .commit, "2024-03-05T08:00:00Z"),
            fact("commit:c", me, .commit, "2024-03-06T08:00:00Z", repo: "octo/site"),
            fact("commit:b", other.id, .commit, "2024-03-07T08:00:00Z", repo: "them/theirs", title: "Their commit"),
            fact("commit:theirs", other.id, .commit, "2024-03-08T08:00:00Z", repo: "them/theirs"),
        ]
        _ = try await api.store.database.transaction { try await api.store.activity.applyFacts(facts, on: $0) }
    }

    static let newestFirst = ["commit:c", "commit:b", "review:2", "review:1", "custom:deploy:1", "pr_opened:7", "commit:a"]

    @Test func factsComeNewestFirstAcrossPagesUntilTheLastPageSaysNull() async throws {
        try await APIRouterTest.run { api in
            try await Self.seed(api)
            var ids: [String] = []
            var cursor: String?
            var pages: [Int] = []
            repeat {
                let response = try await api.call(.get, "/api/v1/activity?limit=3" + (cursor.map { "&cursor=\($0)" } ?? ""))
                #expect(response.status == .ok, "\(response)")
                #expect(response.keys() == ["items", "next_cursor"], "\(response)")
                let items = try #require(response.value("items", as: [[String: Any]].self))
                ids += items.compactMap { $0["id"] as? String }
                pages.append(items.count)
                cursor = response.value("next_cursor", as: String.self)
                if cursor == nil { #expect(response.isNull("next_cursor"), "null on the last page, not absent: \(response)") }
            } while cursor != nil && pages.count < 10
            #expect(pages == [3, 3, 1], "\(ids)")
            #expect(ids == Self.newestFirst, "ties at the same instant by id, newest first, none twice across pages")

            let all = try await api.call(.get, "/api/v1/activity")
            #expect(all.value("items", as: [[String: Any]].self)?.compactMap { $0["id"] as? String } == Self.newestFirst, "20 by default: \(all)")
            #expect(all.isNull("next_cursor"))
            // A page that ends exactly at the oldest fact still has a cursor; it leads to an empty page.
            let exact = try await api.call(.get, "/api/v1/activity?limit=7")
            #expect(exact.value("items", as: [Any].self)?.count == 7)
            let after = try #require(exact.value("next_cursor", as: String.self), "\(exact)")
            let empty = try await api.call(.get, "/api/v1/activity?limit=7&cursor=\(after)")
            #expect(empty.status == .ok && empty.value("items", as: [Any].self)?.isEmpty == true && empty.isNull("next_cursor"), "\(empty)")
            let one = try await api.call(.get, "/api/v1/activity?limit=1")
            #expect(one.value("items.0.id", as: String.self) == "commit:c" && one.value("next_cursor", as: String.self) != nil, "\(one)")
            let hundred = try await api.call(.get, "/api/v1/activity?limit=100")
            #expect(hundred.value("items", as: [Any].self)?.count == 7 && hundred.isNull("next_cursor"), "\(hundred)")
        }
    }

    /// Ids whose base64url has `_` (the cursor's separator) and `-`, and ids beyond ASCII, at one instant.
    @Test func aPageOfOneAtATimeWalksEveryIdOnce() async throws {
        try await APIRouterTest.run { api in
            let ids = ["custom:deploy:??>", "custom:deploy:~~~", "custom:deploy:é✓", "custom:deploy:a", "custom:deploy:A"]
            let at = Timestamps.parse("2024-03-04T12:00:00.000001Z")!
            let facts = ids.map {
                ActivityFact(
                    id: $0, userID: api.user.id, kind: ActivityKind.custom("deploy")!, occurredAt: at, repo: nil, language: nil, source: "custom:ci")
            }
            _ = try await api.store.database.transaction { try await api.store.activity.applyFacts(facts, on: $0) }
            var seen: [String] = []
            var cursor: String?
            repeat {
                let page = try await api.call(.get, "/api/v1/activity?limit=1" + (cursor.map { "&cursor=\($0)" } ?? ""))
                #expect(page.status == .ok, "\(page)")
                seen += page.value("items", as: [[String: Any]].self)?.compactMap { $0["id"] as? String } ?? []
                cursor = page.value("next_cursor", as: String.self)
                #expect(
                    cursor?.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") } != false, "URL-safe: \(cursor ?? "")")
            } while cursor != nil && seen.count < 10
            #expect(seen.count == ids.count && Set(seen) == Set(ids), "every id once: \(seen)")
            let all = try await api.call(.get, "/api/v1/activity")
            #expect(all.value("items", as: [[String: Any]].self)?.compactMap { $0["id"] as? String } == seen, "the same order as one page")
        }
    }

    @Test func everyItemHasEveryFieldWithTitleAndURLOnlyWhereTheSourceGaveThem() async throws {
        try await APIRouterTest.run { api in
            try await Self.seed(api)
            let response = try await api.call(.get, "/api/v1/activity")
            let items = try #require(response.value("items", as: [[String: Any]].self), "\(response)")
            #expect(items.count == 7)
            for (index, item) in items.enumerated() {
                #expect(
                    Set(item.keys) == ["id", "kind", "occurred_at", "value", "repo", "title", "url", "source"],
                    "every field, null when unknown: \(item)")
                #expect((item["occurred_at"] as? String).flatMap(Timestamps.parse) != nil, "\(item)")
                #expect(response.value("items.\(index).value", as: Double.self) != nil)
            }
            let byID = Dictionary(uniqueKeysWithValues: items.map { ($0["id"] as? String ?? "", $0) })
            let pull = try #require(byID["pr_opened:7"])
            #expect(pull["kind"] as? String == "pr_opened" && pull["occurred_at"] as? String == "2024-03-02T09:30:00.123Z", "\(pull)")
            #expect(pull["value"] as? Double == 1 && pull["repo"] as? String == "octo/app" && pull["source"] as? String == "github-app")
            #expect(pull["title"] as? String == "Add the activity feed" && pull["url"] as? String == "https://github.com/octo/app/pull/7")
            let commit = try #require(byID["commit:a"])
            #expect(commit["title"] as? String == "Fix the build" && commit["url"] as? String == "https://github.com/octo/app/commit/a")
            #expect(commit["occurred_at"] as? String == "2024-03-01T10:00:00.000Z")
            let plain = try #require(byID["commit:b"])
            #expect(plain["title"] is NSNull && plain["url"] is NSNull, "no title or link from the source: \(plain)")
            #expect(plain["repo"] as? String == "octo/app", "my commit:b, not the other user's: \(plain)")
            #expect(plain["occurred_at"] as? String == "2024-03-05T08:00:00.000Z")
            let titled = try #require(byID["review:1"])
            #expect(titled["title"] as? String == "Reviewed change" && titled["url"] is NSNull, "\(titled)")
            #expect(titled["occurred_at"] as? String == "2024-03-04T12:00:00.123Z")
            let linked = try #require(byID["review:2"])
            #expect(linked["title"] is NSNull && linked["url"] as? String == "https://github.com/octo/app/pull/9#pullrequestreview-2")
            let custom = try #require(byID["custom:deploy:1"])
            #expect(custom["kind"] as? String == "custom:deploy" && custom["value"] as? Double == 2.5, "\(custom)")
            #expect(custom["repo"] is NSNull && custom["source"] as? String == "custom:ci", "\(custom)")
            #expect(!response.text.contains("them/theirs") && !response.text.contains("Their commit"), "nothing of another user: \(response)")

            let other = try await api.call(.get, "/api/v1/activity", token: try await api.newUser("third").token)
            #expect(other.status == .ok && other.value("items", as: [Any].self)?.isEmpty == true && other.isNull("next_cursor"), "\(other)")
        }
    }

    @Test func theLimitIsValidated() async throws {
        try await APIRouterTest.run { api in
            for limit in ["0", "101", "-1", "x", "", "1.5", "1e2", "%20", "99999999999999999999"] {
                expectBadRequest(try await api.call(.get, "/api/v1/activity?limit=\(limit)"), "invalid_limit", naming: "limit", "limit=\(limit)")
            }
            for limit in ["1", "100"] {
                let response = try await api.call(.get, "/api/v1/activity?limit=\(limit)")
                #expect(response.status == .ok, "limit=\(limit) → \(response)")
            }
        }
    }

    @Test func aCursorTheEndpointCannotHaveGivenIsRefused() async throws {
        try await APIRouterTest.run { api in
            try await Self.seed(api)
            let first = try await api.call(.get, "/api/v1/activity?limit=2")
            let cursor = try #require(first.value("next_cursor", as: String.self), "\(first)")
            let (micros, id) = try #require(cursor.split(separator: "_", maxSplits: 1).map(String.init).pairs)
            #expect(Int64(micros) != nil, "\(cursor)")
            let farFuture = Int64((Date().timeIntervalSince1970 + 2 * 86_400) * 1_000_000)
            let nearFuture = Int64((Date().timeIntervalSince1970 + 20 * 3_600) * 1_000_000)
            for garbage in [
                "", "garbage", "_", "123", "123_", "_\(id)", "x\(micros)_\(id)", "\(micros)x_\(id)", "-1_\(id)", "99999999999999999999_\(id)",
                "\(farFuture)_\(id)",  // more than a day ahead of the hub's clock
                "\(micros)_\(id)%21",  // tampered: not base64url any more
                "\(micros)_\(id.dropLast())%2A",
                "\(micros)_%2F%2F%2F%2F",  // base64 of bytes that are not UTF-8
                "\(micros)_YQBi",  // "a\0b": a control character no stored id has
                "\(micros)_\(String(repeating: "A", count: 400))",  // longer than any cursor the endpoint gives
                "\(micros)%20_\(id)", "%00",
            ] {
                let response = try await api.call(.get, "/api/v1/activity?cursor=\(garbage)")
                expectBadRequest(response, "invalid_cursor", naming: "cursor", "cursor=\(garbage)")
            }
            // What the endpoint could have given is served: the page after it, or nothing before 1970.
            let next = try await api.call(.get, "/api/v1/activity?limit=2&cursor=\(cursor)")
            #expect(next.value("items", as: [[String: Any]].self)?.compactMap { $0["id"] as? String } == ["review:2", "review:1"], "\(next)")
            let epoch = try await api.call(.get, "/api/v1/activity?cursor=0_\(id)")
            #expect(epoch.status == .ok && epoch.value("items", as: [Any].self)?.isEmpty == true, "\(epoch)")
            let soon = try await api.call(.get, "/api/v1/activity?cursor=\(nearFuture)_\(id)")
            #expect(soon.value("items", as: [Any].self)?.count == 7, "a cursor within a day ahead is accepted: \(soon)")
        }
    }
}

extension Array {
    /// The two elements of a two-element array.
    fileprivate var pairs: (Element, Element)? { count == 2 ? (self[0], self[1]) : nil }
}
