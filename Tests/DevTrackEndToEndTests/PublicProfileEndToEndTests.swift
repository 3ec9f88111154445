import DevTrackCore
import DevTrackTestSupport
import Foundation
import Testing

/// Public profiles, cards and badges on the built binary: private until the user says otherwise (and then
/// indistinguishable from unknown), a private repository never named, and the per-address rate limit held across
/// two api processes.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct PublicProfileEndToEndTests {
    static let privateRepository = "Codertocat/secret-plans"

    /// The fixture's push, of a new commit, in a private repository of another name.
    static func privatePush() throws -> [UInt8] {
        let text = String(decoding: try Fixtures.push(sha: Hex.encode(Credentials.randomBytes(20))), as: UTF8.self)
            .replacingOccurrences(of: "Codertocat/Hello-World", with: privateRepository)
            .replacingOccurrences(of: "\"private\": false", with: "\"private\": true")
            .replacingOccurrences(of: "\"private\":false", with: "\"private\":true")
        #expect(text.contains(privateRepository) && !text.contains("\"private\": false") && !text.contains("\"private\":false"))
        return Array(text.utf8)
    }

    static let imagePaths = [
        "cards/streak.svg", "cards/stats.svg?range=30d&theme=dark", "cards/languages.svg", "badges/commits.svg", "shields/commits.json",
    ]

    @Test func privateUntilPublishedAndPrivateRepositoriesAreNeverNamed() async throws {
        try await withHub { hub in
            let user = try await hub.createUser(login: "Codertocat", githubID: 21031067)
            #expect(try await hub.postGitHub("push", Array(try Fixtures.data("push/branch-created.json")), delivery: "public-1").status == 202)
            #expect(try await hub.postGitHub("push", try Self.privatePush(), delivery: "private-1").status == 202)
            _ = try await eventually({ try await hub.summary(token: user.token) }, until: { $0["commits"] == 2 })

            // Private (the default) and unknown answer alike: the same 404 code, the same neutral image.
            let hidden = try await hub.request("GET", hub.apiURL + "/api/v1/public/Codertocat")
            let unknown = try await hub.request("GET", hub.apiURL + "/api/v1/public/nobody-here")
            #expect(hidden.status == 404 && unknown.status == 404, "\(hidden.text) \(unknown.text)")
            #expect((hidden.json?["error"] as? [String: Any])?["code"] as? String == (unknown.json?["error"] as? [String: Any])?["code"] as? String)
            for path in Self.imagePaths {
                let mine = try await hub.request("GET", hub.apiURL + "/api/v1/public/Codertocat/\(path)")
                let nobody = try await hub.request("GET", hub.apiURL + "/api/v1/public/nobody-here/\(path)")
                #expect(mine.status == 200 && mine.body == nobody.body, "\(path): a private profile's image is the unknown one")
                #expect(mine.text.contains("not available"), "\(path): \(mine.text)")
            }

            let published = try await hub.api(
                "PATCH", "/api/v1/settings", #"{"is_public": true, "display_name": "The Octocat", "bio": "Hello"}"#, token: user.token)
            #expect(published.status == 200 && published.json?["is_public"] as? Bool == true, "\(published.text)")
            // The api caches public answers for `api.public_cache_seconds` (2 here): the profile shows once that has passed,
            // under any case of the login.
            let profile = try await eventually(
                within: 10, { try await hub.request("GET", hub.apiURL + "/api/v1/public/codertocat") }, until: { $0.status == 200 })
            #expect(profile.status == 200, "\(profile.text)")
            #expect(profile.json?["display_name"] as? String == "The Octocat" && profile.json?["login"] as? String == "Codertocat")
            let repositories = (profile.json?["repositories"] as? [[String: Any]])?.compactMap { $0["repo"] as? String }
            #expect(repositories == ["Codertocat/Hello-World"], "only the repository known public: \(profile.text)")
            #expect(!profile.text.contains("secret-plans"), "\(profile.text)")
            let allTime = (profile.json?["summary"] as? [String: Any])?["all_time"] as? [String: Any]
            #expect(allTime?["commits"] as? Int == 2, "both commits count, the private one unnamed: \(profile.text)")
            let tag = try #require(profile.headers["etag"])
            #expect(profile.headers["cache-control"] == "public, max-age=2")
            let revalidated = try await hub.request("GET", hub.apiURL + "/api/v1/public/codertocat", headers: ["If-None-Match": tag])
            #expect(revalidated.status == 304 && revalidated.body.isEmpty)

            for path in Self.imagePaths {
                let image = try await hub.request("GET", hub.apiURL + "/api/v1/public/Codertocat/\(path)")
                #expect(
                    image.status == 200 && !image.text.contains("not available") && !image.text.contains("secret-plans"), "\(path): \(image.text)")
            }
            let badge = try await hub.request("GET", hub.apiURL + "/api/v1/public/Codertocat/badges/commits.svg")
            #expect(badge.headers["content-type"] == "image/svg+xml; charset=utf-8" && badge.text.contains(">2<"), "\(badge.text)")
            let shields = try await hub.request("GET", hub.apiURL + "/api/v1/public/Codertocat/shields/commits.json")
            #expect(shields.json?["schemaVersion"] as? Int == 1 && shields.json?["message"] as? String == "2", "\(shields.text)")

            // Opting in puts the user on the leaderboard at the scheduler's next tick (1 s here), with both commits.
            #expect(try await hub.api("PATCH", "/api/v1/settings", #"{"leaderboard_opt_in": true}"#, token: user.token).status == 200)
            let board = try await eventually(
                within: 20, { try await hub.request("GET", hub.apiURL + "/api/v1/leaderboard?metric=commits&period=all") },
                until: { (($0.json?["entries"] as? [[String: Any]]) ?? []).count == 1 })
            let entry = (board.json?["entries"] as? [[String: Any]])?.first
            #expect(entry?["login"] as? String == "Codertocat" && entry?["score"] as? Int == 2 && entry?["rank"] as? Int == 1, "\(board.text)")

            // The owner's own feed names both, with the commit's message and link from the payload.
            let feed = try await hub.get("/api/v1/activity", token: user.token)
            let items = feed.json?["items"] as? [[String: Any]] ?? []
            #expect(Set(items.compactMap { $0["repo"] as? String }) == ["Codertocat/Hello-World", Self.privateRepository], "\(feed.text)")
            #expect(
                items.allSatisfy { $0["title"] as? String == "Initial commit" && ($0["url"] as? String)?.hasPrefix("https://github.com/") == true })
        }
    }

    @Test func theRateLimitHoldsAcrossAPIProcesses() async throws {
        try await withHub(publicRequestsPerMinute: 30) { hub in
            let second = try await hub.startSecondAPI()
            defer { Task { await second.process.stop() } }
            // The limit counts in fixed minutes of the clock: start early in one, so that all requests fall in it (with
            // 18 hubs at once, 40 requests took over 20 s).
            let secondOfMinute = Int(Date().timeIntervalSince1970) % 60
            if secondOfMinute > 10 { try await Task.sleep(for: .seconds(61 - secondOfMinute)) }
            let minute = Int(Date().timeIntervalSince1970) / 60
            var first: [Int] = []
            for _ in 0..<20 { first.append(try await hub.request("GET", hub.apiURL + "/api/v1/public/nobody").status) }
            // Both processes share their counts through PostgreSQL every 200 ms: the first one's 20 are there.
            _ = try await eventually(
                within: 10, { try await hub.query("SELECT coalesce(sum(requests), 0) FROM request_windows") }, until: { $0 == ["20"] })
            var other: [HubUnderTest.Response] = []
            for _ in 0..<20 { other.append(try await hub.request("GET", second.url + "/api/v1/public/nobody")) }
            try #require(Int(Date().timeIntervalSince1970) / 60 == minute, "the requests fell in one minute of the limit's clock")
            #expect(first.allSatisfy { $0 == 404 }, "\(first)")
            let admitted = other.filter { $0.status == 404 }.count
            #expect(admitted == 10, "the second process admits what is left of the address's 30, not 20 of its own: \(other.map(\.status))")
            let refused = try #require(other.first { $0.status == 429 })
            #expect((refused.json?["error"] as? [String: Any])?["code"] as? String == "rate_limited", "\(refused.text)")
            let retryAfter = try #require(refused.headers["retry-after"].flatMap { Int($0) })
            #expect((1...60).contains(retryAfter))
        }
    }
}
