import DevTrackCore
import DevTrackStore
import DevTrackTestSupport
import Foundation
import Testing

/// `SourcesController`: `/sources`, `/sources/{id}`, its secret rotation, delivery log and test send.
@Suite(.timeLimit(.minutes(2)))
struct SourcesRouterTests {
    static let routes = [
        APIRoute(.post, "/api/v1/sources"), APIRoute(.get, "/api/v1/sources"), APIRoute(.get, "/api/v1/sources/{id}"),
        APIRoute(.patch, "/api/v1/sources/{id}"), APIRoute(.delete, "/api/v1/sources/{id}"), APIRoute(.post, "/api/v1/sources/{id}/rotate-secret"),
        APIRoute(.get, "/api/v1/sources/{id}/deliveries"), APIRoute(.post, "/api/v1/sources/{id}/test"),
    ]

    @Test func everyRouteRequiresAValidBearerToken() async throws {
        try await APIRouterTest.run { api in try await expectEveryRouteRequiresAToken(Self.routes, api) }
    }

    static let mappingBodies: [String] = [
        #"{"kind": "custom", "preset": "gitlab-push", "mapping": {"kind": "commit", "occurred_at": "/t"}}"#,
        #"{"kind": "custom", "preset": "jenkins"}"#, #"{"kind": "github", "preset": "gitlab-push"}"#,
        #"{"kind": "github", "mapping": {"kind": "commit", "occurred_at": "/t"}}"#,
        #"{"kind": "custom", "mapping": {"kind": "lines", "occurred_at": "/t"}}"#,
        #"{"kind": "custom", "mapping": {"occurred_at": "/t"}}"#,
        #"{"kind": "custom", "mapping": {"kind": "commit", "kind_pointer": "/a", "kinds": {"x": "commit"}, "occurred_at": "/t"}}"#,
        #"{"kind": "custom", "mapping": {"kind_pointer": "/a", "occurred_at": "/t"}}"#,
        #"{"kind": "custom", "mapping": {"kind": "commit", "occurred_at": "yesterday"}}"#,
        #"{"kind": "custom", "mapping": {"kind": "commit", "occurred_at": "/t", "events": "commits"}}"#,
        #"{"kind": "custom", "mapping": {"kind": "commit", "occurred_at": "/t\u0000"}}"#,
        #"{"kind": "custom", "mapping": {"kind": "commit", "occurred_at": "/t", "authors": ["me@example.com"]}}"#,
        #"{"kind": "custom", "preset": "gitlab-push", "authors": ["bad\u0000"]}"#,
    ]

    @Test func aNewSourceIsRefusedNamingWhatIsWrong() async throws {
        try await APIRouterTest.run { api in
            for body in [#"{"kind": "gitlab"}"#, #"{"kind": ""}"#, #"{"kind": "GitHub"}"#] {
                expectBadRequest(try await api.call(.post, "/api/v1/sources", body), "invalid_kind", naming: "kind", body)
            }
            for body in [
                #"{"kind": "custom", "name": "\#(String(repeating: "n", count: 101))"}"#, #"{"kind": "custom", "name": "CI\u0000"}"#,
                #"{"kind": "github", "name": "line\nbreak"}"#,
            ] {
                expectBadRequest(try await api.call(.post, "/api/v1/sources", body), "invalid_name", naming: "name", body)
            }
            for body in Self.mappingBodies {
                expectBadRequest(try await api.call(.post, "/api/v1/sources", body), "invalid_mapping", body)
            }
            // The message says where a written-out mapping is wrong.
            let wrongKind = try await api.call(.post, "/api/v1/sources", #"{"kind": "custom", "mapping": {"kind": "lines", "occurred_at": "/t"}}"#)
            expectBadRequest(wrongKind, "invalid_mapping", naming: "mapping.kind")
            let wrongTime = try await api.call(.post, "/api/v1/sources", #"{"kind": "custom", "mapping": {"kind": "commit", "occurred_at": "x"}}"#)
            expectBadRequest(wrongTime, "invalid_mapping", naming: "mapping.occurred_at")
            for (body, field) in [
                ("{}", "kind"), (#"{"kind": 5}"#, "kind"), (#"{"kind": "custom", "name": 5}"#, "name"),
                (#"{"kind": "custom", "mapping": "x"}"#, "mapping"),
                (#"{"kind": "custom", "mapping": {"kind": "commit"}}"#, "occurred_at"), (#"{"kind": "custom", "authors": "me"}"#, "authors"),
                (#"{"kind": "custom", "preset": 1}"#, "preset"),
            ] {
                expectBadRequest(try await api.call(.post, "/api/v1/sources", body), "invalid_body", naming: field, body)
            }
            try await expectMalformedBodiesRefused(.post, "/api/v1/sources", api)
            try await expectBodyTooLarge(.post, "/api/v1/sources", api)
            let sources = try await api.call(.get, "/api/v1/sources")
            #expect(sources.value("sources", as: [Any].self)?.isEmpty == true, "nothing refused was stored: \(sources)")
        }
    }

    @Test func sourcesAreCreatedWithTheirSecretOnceAndReadWithout() async throws {
        try await APIRouterTest.run { api in
            let github = try await api.call(.post, "/api/v1/sources", #"{"kind": "github", "name": "my repos"}"#)
            #expect(github.status == .created, "\(github)")
            #expect(github.keys() == ["id", "kind", "name", "url", "enabled", "secret", "created_at", "rotated_at", "mapping"], "\(github)")
            let id = try #require(github.value("id", as: String.self))
            #expect(github.value("url", as: String.self) == "\(APIRouterTest.ingestURL)/webhooks/github/\(id)")
            #expect(github.value("kind", as: String.self) == "github" && github.value("name", as: String.self) == "my repos")
            #expect(github.value("enabled", as: Bool.self) == true && github.isNull("rotated_at") && github.isNull("mapping"))
            let secret = try #require(github.value("secret", as: String.self))
            #expect(secret.count >= 32 && !secret.hasPrefix("whsec_"), "\(secret)")

            let custom = try await api.call(.post, "/api/v1/sources", #"{"kind": "custom"}"#)
            #expect(custom.status == .created && custom.value("name", as: String.self) == "", "\(custom)")
            #expect(custom.value("secret", as: String.self)?.hasPrefix("whsec_") == true, "Standard Webhooks secrets for custom sources")
            let customID = try #require(custom.value("id", as: String.self))
            #expect(custom.value("url", as: String.self) == "\(APIRouterTest.ingestURL)/webhooks/custom/\(customID)")

            let preset = try await api.call(.post, "/api/v1/sources", #"{"kind": "custom", "preset": "gitlab-push", "authors": ["me@example.com"]}"#)
            #expect(preset.status == .created, "\(preset)")
            #expect(preset.value("mapping.events", as: String.self) == "/commits" && preset.value("mapping.kind", as: String.self) == "commit")
            #expect(preset.value("mapping.authors", as: [String].self) == ["me@example.com"], "\(preset)")
            let mapped = try await api.call(
                .post, "/api/v1/sources",
                #"{"kind": "custom", "name": "LeetCode", "mapping": {"kind": "custom:leetcode", "events": "/solved", "occurred_at": "$received"}}"#)
            #expect(mapped.status == .created && mapped.value("mapping.occurred_at", as: String.self) == "$received", "\(mapped)")
            let longest = try await api.call(.post, "/api/v1/sources", #"{"kind": "github", "name": "\#(String(repeating: "n", count: 100))"}"#)
            #expect(longest.status == .created, "100 characters are accepted: \(longest)")

            let list = try await api.call(.get, "/api/v1/sources")
            #expect(list.status == .ok && list.value("sources", as: [Any].self)?.count == 5, "\(list)")
            #expect(!list.keys("sources.0").contains("secret") && !list.text.contains(secret), "never the secret: \(list)")
            let one = try await api.call(.get, "/api/v1/sources/\(id)")
            #expect(one.status == .ok && one.value("id", as: String.self) == id, "\(one)")
            #expect(one.keys() == ["id", "kind", "name", "url", "enabled", "created_at", "rotated_at", "mapping"], "\(one)")
            #expect(try await api.call(.get, "/api/v1/sources/\(id.uppercased())").status == .ok, "ids are UUIDs in any case")
        }
    }

    @Test func aChangeIsValidatedAndOnlyChangesWhatItNames() async throws {
        try await APIRouterTest.run { api in
            let github = try await api.call(.post, "/api/v1/sources", #"{"kind": "github", "name": "repos"}"#)
            let githubPath = "/api/v1/sources/\(try #require(github.value("id", as: String.self)))"
            let custom = try await api.call(.post, "/api/v1/sources", #"{"kind": "custom", "name": "CI"}"#)
            let customPath = "/api/v1/sources/\(try #require(custom.value("id", as: String.self)))"

            let disabled = try await api.call(.patch, githubPath, #"{"enabled": false}"#)
            #expect(disabled.status == .ok && disabled.value("enabled", as: Bool.self) == false, "\(disabled)")
            #expect(disabled.value("name", as: String.self) == "repos", "the name stays")
            let renamed = try await api.call(.patch, githubPath, #"{"name": "all repos"}"#)
            #expect(renamed.value("name", as: String.self) == "all repos" && renamed.value("enabled", as: Bool.self) == false, "\(renamed)")
            let mapped = try await api.call(.patch, customPath, #"{"preset": "ci-pipeline"}"#)
            #expect(mapped.status == .ok && mapped.value("mapping.kind", as: String.self) == "custom:pipeline", "\(mapped)")
            // `authors` alone changes the mapping's authors, checked like any mapping's; without a mapping it is refused.
            expectBadRequest(
                try await api.call(.patch, customPath, #"{"authors": ["b@example.com"]}"#), "invalid_mapping", naming: "mapping.author",
                "this preset names no author")
            let gitlab = try await api.call(.post, "/api/v1/sources", #"{"kind": "custom", "preset": "gitlab-push"}"#)
            let gitlabPath = "/api/v1/sources/\(try #require(gitlab.value("id", as: String.self)))"
            let authored = try await api.call(.patch, gitlabPath, #"{"authors": ["b@example.com"]}"#)
            #expect(authored.status == .ok && authored.value("mapping.authors", as: [String].self) == ["b@example.com"], "\(authored)")
            #expect(authored.value("mapping.kind", as: String.self) == "commit", "the rest of the mapping stays")
            expectBadRequest(try await api.call(.patch, gitlabPath, #"{"authors": ["b\u0000"]}"#), "invalid_mapping", "a control character")
            expectBadRequest(try await api.call(.patch, githubPath, #"{"authors": ["b@example.com"]}"#), "invalid_mapping", "no mapping")
            expectBadRequest(
                try await api.call(.post, "/api/v1/sources", #"{"kind": "custom", "authors": ["b@example.com"]}"#), "invalid_mapping",
                "authors without a preset or mapping")

            for body in [#"{"name": "\#(String(repeating: "n", count: 101))"}"#, #"{"name": "a\u0000"}"#] {
                expectBadRequest(try await api.call(.patch, customPath, body), "invalid_name", naming: "name", body)
            }
            for body in [
                #"{"preset": "gitlab-push"}"#, #"{"mapping": {"kind": "commit", "occurred_at": "/t"}}"#,
            ] {
                expectBadRequest(try await api.call(.patch, githubPath, body), "invalid_mapping", "a GitHub source: \(body)")
            }
            for body in [
                #"{"preset": "nope"}"#, #"{"preset": "gitlab-push", "mapping": {"kind": "commit", "occurred_at": "/t"}}"#,
                #"{"mapping": {"kind": "nope", "occurred_at": "/t"}}"#,
            ] {
                expectBadRequest(try await api.call(.patch, customPath, body), "invalid_mapping", body)
            }
            for (body, field) in [(#"{"enabled": "yes"}"#, "enabled"), (#"{"name": 1}"#, "name"), (#"{"mapping": []}"#, "mapping")] {
                expectBadRequest(try await api.call(.patch, customPath, body), "invalid_body", naming: field, body)
            }
            try await expectMalformedBodiesRefused(.patch, customPath, api)
            try await expectBodyTooLarge(.patch, customPath, api)
            let read = try await api.call(.get, customPath)
            #expect(read.value("name", as: String.self) == "CI" && read.value("enabled", as: Bool.self) == true, "\(read)")
            #expect(read.value("mapping.kind", as: String.self) == "custom:pipeline", "a refused change keeps the mapping: \(read)")
        }
    }

    @Test func aRotationShowsTheNewSecretOnce() async throws {
        try await APIRouterTest.run { api in
            let created = try await api.call(.post, "/api/v1/sources", #"{"kind": "custom"}"#)
            let id = try #require(created.value("id", as: String.self))
            let rotated = try await api.call(.post, "/api/v1/sources/\(id)/rotate-secret")
            #expect(rotated.status == .ok, "\(rotated)")
            let secret = try #require(rotated.value("secret", as: String.self))
            #expect(secret.hasPrefix("whsec_") && secret != created.value("secret", as: String.self))
            #expect(rotated.value("rotated_at", as: String.self).flatMap(Timestamps.parse) != nil, "\(rotated)")
            #expect(try await api.call(.get, "/api/v1/sources/\(id)").value("rotated_at", as: String.self) != nil)
        }
    }

    @Test func theDeliveryLogIsPagedAndValidatesItsLimit() async throws {
        try await APIRouterTest.run { api in
            let created = try await api.call(.post, "/api/v1/sources", #"{"kind": "custom"}"#)
            let id = try #require(created.value("id", as: String.self))
            let path = "/api/v1/sources/\(id)/deliveries"
            for limit in ["0", "101", "-1", "abc", "1.5", "", "1e2", "%20"] {
                expectBadRequest(try await api.call(.get, "\(path)?limit=\(limit)"), "invalid_limit", naming: "limit", "limit=\(limit)")
            }
            let empty = try await api.call(.get, path)
            #expect(empty.status == .ok && empty.keys() == ["deliveries"] && empty.value("deliveries", as: [Any].self)?.isEmpty == true)

            let received = Date(timeIntervalSince1970: 1_700_000_000)
            func outcome(_ index: Int, refused: Bool = false) -> DeliveryOutcome {
                DeliveryOutcome(
                    source: id, deliveryID: "d-\(index)", event: "custom", status: refused ? .refused : .processed, facts: refused ? 0 : 1,
                    error: refused ? "webhook-timestamp is 400 s away" : nil, receivedAt: received.addingTimeInterval(Double(index)), bytes: 120,
                    signature: refused ? "timestamp_stale" : "standard-webhooks")
            }
            try await api.store.sources.recordInboundDeliveries([outcome(0), outcome(1), outcome(2, refused: true)])
            let log = try await api.call(.get, "\(path)?limit=2")
            #expect(log.status == .ok, "\(log)")
            #expect(log.value("deliveries", as: [Any].self)?.count == 2, "\(log)")
            #expect(log.keys("deliveries.0") == ["delivery_id", "status", "facts", "error", "received_at", "bytes", "signature"], "\(log)")
            let all = try await api.call(.get, "\(path)?limit=100")
            let deliveries = try #require(all.value("deliveries", as: [[String: Any]].self))
            #expect(Set(deliveries.compactMap { $0["delivery_id"] as? String }) == ["d-0", "d-1", "d-2"])
            let refused = try #require(deliveries.first { $0["delivery_id"] as? String == "d-2" })
            #expect(refused["status"] as? String == "refused" && refused["signature"] as? String == "timestamp_stale", "\(refused)")
            #expect(refused["bytes"] as? Int == 120 && refused["facts"] as? Int == 0)
            let processed = try #require(deliveries.first { $0["delivery_id"] as? String == "d-0" })
            #expect(processed["error"] is NSNull && processed["status"] as? String == "processed", "\(processed)")
        }
    }

    @Test func aTestSendIsForCustomSourcesAndReportsWhatIngestAnswered() async throws {
        try await APIRouterTest.run { api in
            let github = try await api.call(.post, "/api/v1/sources", #"{"kind": "github"}"#)
            let githubID = try #require(github.value("id", as: String.self))
            expectError(try await api.call(.post, "/api/v1/sources/\(githubID)/test"), .conflict, "not_custom", "a GitHub source")
            // Nothing listens at the configured ingest URL (port 1 on loopback): the answer says so, still a 200.
            let custom = try await api.call(.post, "/api/v1/sources", #"{"kind": "custom"}"#)
            let customID = try #require(custom.value("id", as: String.self))
            let sent = try await api.call(.post, "/api/v1/sources/\(customID)/test")
            #expect(sent.status == .ok, "\(sent)")
            #expect(sent.keys() == ["delivery_id", "status_code", "latency_ms", "response", "error"], "\(sent)")
            #expect(sent.value("delivery_id", as: String.self)?.hasPrefix("test_") == true)
            #expect(sent.isNull("status_code") && sent.isNull("response") && sent.value("error", as: String.self)?.isEmpty == false, "\(sent)")
        }
    }

    @Test func anotherUsersSourceDoesNotExist() async throws {
        try await APIRouterTest.run { api in
            let other = try await api.newUser("other")
            let theirs = try await api.call(.post, "/api/v1/sources", #"{"kind": "custom", "name": "theirs"}"#, token: other.token)
            let id = try #require(theirs.value("id", as: String.self))
            try await expectNotFound(.get, "/api/v1/sources/{id}", othersID: id, in: api)
            try await expectNotFound(.patch, "/api/v1/sources/{id}", othersID: id, body: #"{"enabled": false}"#, in: api)
            try await expectNotFound(.patch, "/api/v1/sources/{id}", othersID: id, body: #"{"enabled": "x"}"#, in: api)
            try await expectNotFound(.post, "/api/v1/sources/{id}/rotate-secret", othersID: id, in: api)
            try await expectNotFound(.get, "/api/v1/sources/{id}/deliveries", othersID: id, in: api)
            try await expectNotFound(.post, "/api/v1/sources/{id}/test", othersID: id, in: api)
            try await expectNotFound(.delete, "/api/v1/sources/{id}", othersID: id, in: api)
            let still = try await api.call(.get, "/api/v1/sources/\(id)", token: other.token)
            #expect(still.status == .ok && still.value("enabled", as: Bool.self) == true && still.isNull("rotated_at"), "untouched: \(still)")

            let mine = try await api.call(.post, "/api/v1/sources", #"{"kind": "github"}"#)
            let myID = try #require(mine.value("id", as: String.self))
            let deleted = try await api.call(.delete, "/api/v1/sources/\(myID)")
            #expect(deleted.status == .noContent && deleted.body.isEmpty, "\(deleted)")
            expectError(try await api.call(.get, "/api/v1/sources/\(myID)"), .notFound, "not_found", "a deleted source")
            expectError(try await api.call(.delete, "/api/v1/sources/\(myID)"), .notFound, "not_found", "deleted twice")
        }
    }
}
