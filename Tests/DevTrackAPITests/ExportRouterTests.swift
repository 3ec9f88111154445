import DevTrackCore
import DevTrackTestSupport
import Foundation
import HTTPTypes
import Testing

/// `ExportController`: an export holds exactly the user's rows (and no secret), another user's never; it is limited,
/// and a download can be told whole by its last line.
@Suite(.timeLimit(.minutes(2)))
struct ExportRouterTests {
    static let routes = [
        APIRoute(.post, "/api/v1/export"), APIRoute(.get, "/api/v1/export/{id}"), APIRoute(.get, "/api/v1/export/{id}/download"),
    ]

    @Test func everyRouteRequiresAValidBearerToken() async throws {
        try await APIRouterTest.run { api in try await expectEveryRouteRequiresAToken(Self.routes, api) }
    }

    /// The lines of a download, parsed; the first and the last apart.
    static func download(
        _ api: APIRouterTest, _ url: String, token: String? = nil
    ) async throws
        -> (header: [String: Any], lines: [[String: Any]], end: [String: Any], response: APIResponse)
    {
        let response = try await api.call(.get, url, token: token)
        #expect(response.status == .ok, "\(response)")
        let objects = try response.text.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any], "\($0)")
        }
        return (try #require(objects.first), Array(objects.dropFirst().dropLast()), try #require(objects.last), response)
    }

    @Test func anExportHoldsExactlyTheUsersRowsAndNoSecret() async throws {
        try await APIRouterTest.run { api in
            let other = try await api.newUser("other")
            let me = api.user.id
            func fact(_ id: String, _ user: UUID, _ at: String) -> ActivityFact {
                ActivityFact(
                    id: id, userID: user, kind: .commit, occurredAt: Timestamps.parse(at)!, repo: "octo/app", language: "Swift", source: "github-app")
            }
            let facts = [
                fact("commit:1", me, "2024-03-01T10:00:00Z"), fact("commit:2", me, "2024-03-02T10:00:00Z"),
                fact("commit:x", other.id, "2024-03-01T10:00:00Z"),
            ]
            _ = try await api.store.database.transaction { try await api.store.activity.applyFacts(facts, on: $0) }
            try await api.store.client.query(
                """
                INSERT INTO heartbeats (user_id, time, entity, type, category, project, branch, language, editor, machine, is_write)
                SELECT \(me), 1709287200 + n * 60, 'main.swift', 'file', 'coding', 'app', 'main', 'Swift', 'vim', 'laptop', false
                FROM generate_series(1, 250) AS n
                """)
            let source = try await api.call(.post, "/api/v1/sources", #"{"kind": "github", "name": "mine"}"#)
            let secret = try #require(source.value("secret", as: String.self))
            let key = try #require(try await api.call(.post, "/api/v1/coding/keys", #"{"name": "laptop"}"#).value("key", as: String.self))
            #expect(
                try await api.call(.post, "/api/v1/goals", #"{"title": "Ship", "target": 3, "unit": "commits", "period": "weekly"}"#).status
                    == .created)

            let created = try await api.call(.post, "/api/v1/export", "{}")
            #expect(created.status == .accepted, "\(created)")
            let id = try #require(created.value("id", as: String.self))
            #expect(created.value("status", as: String.self) == "ready")
            #expect(created.value("download_url", as: String.self) == "/api/v1/export/\(id)/download")
            let expiresAt = try #require(created.value("expires_at", as: String.self).flatMap(Timestamps.parse))
            #expect(abs(expiresAt.timeIntervalSinceNow - 86_400) < 60)
            let rows = try #require(created.value("rows", as: [String: Int].self))
            #expect(rows["facts"] == 2 && rows["heartbeats"] == 250 && rows["goals"] == 1 && rows["sources"] == 1, "\(created)")
            #expect(rows["coding_keys"] == 1 && rows["tokens"] == 1 && rows["profile"] == 1, "\(created)")
            #expect(try await api.call(.get, "/api/v1/export/\(id)").value("rows", as: [String: Int].self) == rows)

            let (header, lines, end, response) = try await Self.download(api, "/api/v1/export/\(id)/download")
            #expect(response.headers[.contentType] == "application/x-ndjson; charset=utf-8")
            #expect(response.headers[.contentDisposition]?.hasPrefix("attachment; filename=\"devtrack-export-Codertocat-") == true)
            #expect(
                header["type"] as? String == "export" && header["format"] as? String == "devtrack-export/1"
                    && header["login"] as? String == "Codertocat")
            #expect(end["type"] as? String == "end")
            #expect(end["rows"] as? [String: Int] == rows, "the download holds what was counted")
            #expect(lines.count == rows.values.reduce(0, +))
            let sections = header["sections"] as? [String] ?? []
            #expect(
                lines.map { $0["section"] as? String ?? "" }
                    == lines.map { $0["section"] as? String ?? "" }.sorted {
                        sections.firstIndex(of: $0)! < sections.firstIndex(of: $1)!
                    }, "sections in the header's order")
            func data(_ section: String) -> [[String: Any]] {
                lines.filter { $0["section"] as? String == section }.compactMap { $0["data"] as? [String: Any] }
            }
            #expect(data("facts").map { $0["id"] as? String } == ["commit:1", "commit:2"], "only mine, oldest first")
            #expect(data("facts").first?["occurred_at"] as? String == "2024-03-01T10:00:00+00:00")
            #expect(data("heartbeats").count == 250 && data("heartbeats").first?["time"] as? Double == 1_709_287_260)
            #expect(data("profile").first?["login"] as? String == "Codertocat")
            #expect(data("goals").first?["title"] as? String == "Ship")
            #expect(!response.text.contains(secret) && !response.text.contains(key) && !response.text.contains(api.user.token), "no secret")
            #expect(!response.text.contains("hash") && !response.text.contains("sealed"), "no hash or sealed column")
            #expect(!response.text.contains("commit:x"), "nothing of another user")

            // Another user's export is not found, under any of its routes.
            for path in ["/api/v1/export/\(id)", "/api/v1/export/\(id)/download"] {
                expectError(try await api.call(.get, path, token: other.token), .notFound, "not_found", path)
            }
            expectError(try await api.call(.get, "/api/v1/export/not-an-id"), .notFound, "not_found")
        }
    }

    @Test func aUserHasAtMostThreeDownloadableExportsAndExpiredOnesGo() async throws {
        try await APIRouterTest.run { api in
            var ids: [String] = []
            for _ in 1...3 { ids.append(try #require(try await api.call(.post, "/api/v1/export", "{}").value("id", as: String.self))) }
            let refused = try await api.call(.post, "/api/v1/export", "{}")
            expectError(refused, .tooManyRequests, "export_limit")
            let wait = try #require(refused.headers[.retryAfter].flatMap { Int($0) })
            #expect((86_300...86_400).contains(wait), "until the oldest expires: \(wait)")
            #expect(try await api.call(.post, "/api/v1/export", "{}", token: try await api.newUser("other").token).status == .accepted, "per user")
            try await api.store.client.query(
                "UPDATE data_exports SET expires_at = now() - interval '1 second' WHERE id = \(UUID(uuidString: ids[0])!)")
            expectError(try await api.call(.get, "/api/v1/export/\(ids[0])/download"), .notFound, "not_found", "expired")
            #expect(try await api.call(.post, "/api/v1/export", "{}").status == .accepted, "an expired one no longer counts")
        }
    }
}
