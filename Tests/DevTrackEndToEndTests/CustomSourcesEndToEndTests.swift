import DevTrackCore
import DevTrackTestSupport
import Foundation
import Testing

/// Custom webhook sources through the built binary: a signed post in the native format ends as a goal's
/// progress and in `GET /api/v1/metrics/custom`; every refusal has its status and code.
@Suite(.timeLimit(.minutes(5)))
struct CustomSourcesEndToEndTests {
    @Test func signedCustomEventsCountOnceForMetricsAndGoalsAndEveryRefusalIsClear() async throws {
        try await withHub { hub in
            let user = try await hub.createUser(login: "Codertocat", githubID: 21031067)
            func call(_ method: String, _ path: String, _ body: String? = nil) async throws -> HubUnderTest.Response {
                try await hub.api(method, path, body, token: user.token)
            }
            let created = try await call("POST", "/api/v1/sources", #"{"kind": "custom", "name": "CI"}"#)
            #expect(created.status == 201, "\(created.text)")
            let sourceID = try #require(created.json?["id"] as? String)
            let secret = try #require(created.json?["secret"] as? String)
            #expect(secret.hasPrefix("whsec_"))
            #expect(created.json?["url"] as? String == "\(hub.ingestURL)/webhooks/custom/\(sourceID)")
            let github = try #require(try await call("POST", "/api/v1/sources", #"{"kind": "github"}"#).json?["id"] as? String)
            #expect(try await call("POST", "/api/v1/sources", #"{"kind": "gitlab"}"#).status == 400)

            let goal = try await call("POST", "/api/v1/goals", #"{"title": "Ship", "target": 3, "unit": "custom:deploy", "period": "monthly"}"#)
            let goalID = try #require(goal.json?["id"] as? String)

            let url = "\(hub.ingestURL)/webhooks/custom/\(sourceID)"
            func post(
                _ body: String, id: String = UUID().uuidString, timestamp: Int = Int(Date().timeIntervalSince1970),
                signedWith signingSecret: String? = nil, to target: String? = nil, headers extra: [String: String] = [:]
            ) async throws -> HubUnderTest.Response {
                let bytes = Array(body.utf8)
                let key = StandardWebhooks.key(of: signingSecret ?? secret)!
                var headers = ["Content-Type": "application/json"]
                for (name, value) in StandardWebhooks.headers(id: id, timestamp: timestamp, body: bytes, keys: [key]) { headers[name] = value }
                for (name, value) in extra { headers[name] = value }
                return try await hub.request("POST", target ?? url, headers: headers, body: bytes)
            }
            let now = Timestamps.format(Date())
            let deploy = #"{"type": "deploy", "occurred_at": "\#(now)"}"#
            let first = try await post(deploy, id: "msg_1")
            #expect(first.status == 202, "\(first.text)")
            #expect(first.json?["delivery_id"] as? String == "msg_1")
            #expect(
                try await post(
                    #"[{"type": "deploy", "occurred_at": "\#(now)"}, {"type": "leetcode.solved", "occurred_at": "\#(now)", "value": 3}]"#, id: "msg_2"
                ).status == 202)
            #expect(try await post(deploy, id: "msg_1").status == 202, "a replay is accepted again")

            // Refusals, each with its status and code.
            func code(_ response: HubUnderTest.Response) -> String? { (response.json?["error"] as? [String: Any])?["code"] as? String }
            let stale = try await post(deploy, timestamp: Int(Date().timeIntervalSince1970) - 600)
            #expect(stale.status == 401 && code(stale) == "timestamp_stale")
            #expect(((stale.json?["error"] as? [String: Any])?["message"] as? String)?.contains("s old") == true, "\(stale.text)")
            let forged = try await post(deploy, signedWith: StandardWebhooks.newSecret())
            #expect(forged.status == 401 && code(forged) == "signature_mismatch")
            let unsigned = try await hub.request("POST", url, headers: ["Content-Type": "application/json"], body: Array(deploy.utf8))
            #expect(unsigned.status == 401 && code(unsigned) == "signature_missing")
            let invalid = try await post(#"{"occurred_at": "\#(now)"}"#)
            #expect(invalid.status == 400 && code(invalid) == "invalid_body")
            #expect(((invalid.json?["error"] as? [String: Any])?["message"] as? String) == "type is required (a string)")
            #expect(try await post(deploy, to: "\(hub.ingestURL)/webhooks/custom/\(UUID().uuidString)").status == 404)
            #expect(try await post(deploy, to: "\(hub.ingestURL)/webhooks/custom/\(github)").status == 404, "a GitHub source is not a custom one")
            let huge = try await post(#"{"type": "deploy", "occurred_at": "\#(now)", "repo": "\#(String(repeating: "x", count: 1 << 20))"}"#)
            #expect(huge.status == 413)

            // A sender with only an HMAC of the body (GitHub-style header) works too.
            let plain = Array(#"{"type": "deploy", "occurred_at": "\#(now)", "id": "hmac-1"}"#.utf8)
            let hmac = try await hub.request(
                "POST", url,
                headers: [
                    "Content-Type": "application/json", "X-Hub-Signature-256": GitHubSignature.sign(body: plain, secret: Array(secret.utf8)),
                ], body: plain)
            #expect(hmac.status == 202, "\(hmac.text)")

            // Three deploys (msg_1 once, msg_2's first, hmac-1) and one solved problem worth 3.
            let metrics = try await eventually(
                within: 60, { try await call("GET", "/api/v1/metrics/custom") },
                until: { response in
                    ((response.json?["totals"] as? [[String: Any]]) ?? []).contains { $0["kind"] as? String == "deploy" && $0["count"] as? Int == 3 }
                })
            let totals = (metrics.json?["totals"] as? [[String: Any]]) ?? []
            #expect(totals.map { $0["kind"] as? String } == ["deploy", "leetcode.solved"])
            #expect(totals.last?["count"] as? Int == 1 && totals.last?["value"] as? Double == 3)
            #expect(((metrics.json?["days"] as? [[String: Any]]) ?? []).count == 2)
            let progress = try await eventually(
                within: 30, { try await call("GET", "/api/v1/goals/\(goalID)") }, until: { $0.json?["current"] as? Int == 3 })
            #expect(progress.json?["completed_at"] != nil, "\(progress.text)")
            try await hub.settled()
            let again = try await call("GET", "/api/v1/metrics/custom")
            #expect(((again.json?["totals"] as? [[String: Any]]) ?? []).first?["count"] as? Int == 3, "the replay added no fact")

            // The hub's own test delivery goes the whole way and is logged, and counts for nothing.
            let test = try await call("POST", "/api/v1/sources/\(sourceID)/test")
            #expect(test.status == 200 && test.json?["status_code"] as? Int == 202, "\(test.text)")
            let testID = try #require(test.json?["delivery_id"] as? String)
            let logged = try await eventually(
                within: 30, { try await call("GET", "/api/v1/sources/\(sourceID)/deliveries?limit=100") },
                until: { response in
                    ((response.json?["deliveries"] as? [[String: Any]]) ?? []).contains {
                        $0["delivery_id"] as? String == testID && $0["status"] as? String == "processed"
                    }
                })
            let entries = (logged.json?["deliveries"] as? [[String: Any]]) ?? []
            func entry(_ id: String) -> [String: Any]? { entries.first { $0["delivery_id"] as? String == id } }
            #expect(entry(testID)?["facts"] as? Int == 0)
            #expect(entry("msg_1")?["facts"] as? Int == 1 && entry("msg_1")?["signature"] as? String == "standard-webhooks")
            #expect(entry("msg_1")?["bytes"] as? Int == deploy.utf8.count)
            #expect(entry("msg_2")?["facts"] as? Int == 2)
            #expect(entry("hmac-1") == nil && entries.contains { $0["signature"] as? String == "hmac-sha256" && $0["facts"] as? Int == 1 })
            let refused = entries.filter { $0["status"] as? String == "refused" }.compactMap { $0["signature"] as? String }
            #expect(
                Set(refused) == ["timestamp_stale", "signature_mismatch", "signature_missing", "invalid_body", "payload_too_large"], "\(refused)")
            #expect(!(try await call("GET", "/api/v1/sources/\(sourceID)/deliveries").text.contains("whsec_")), "never the secret")
            let counted = try await call("GET", "/api/v1/metrics/custom")
            #expect(((counted.json?["totals"] as? [[String: Any]]) ?? []).map { $0["kind"] as? String } == ["deploy", "leetcode.solved"])

            // Rotation: the previous secret keeps verifying during the grace period, the new one too.
            let rotated = try await call("POST", "/api/v1/sources/\(sourceID)/rotate-secret")
            let newSecret = try #require(rotated.json?["secret"] as? String)
            #expect(newSecret.hasPrefix("whsec_") && newSecret != secret)
            #expect(try await post(deploy, signedWith: secret).status == 202)
            #expect(try await post(deploy, signedWith: newSecret).status == 202)

            // One source: read, renamed, disabled (410), deleted (404).
            let one = try await call("GET", "/api/v1/sources/\(sourceID)")
            #expect(one.json?["name"] as? String == "CI" && one.json?["secret"] == nil)
            #expect(try await call("PATCH", "/api/v1/sources/\(sourceID)", #"{"name": "\#(String(repeating: "n", count: 101))"}"#).status == 400)
            let disabled = try await call("PATCH", "/api/v1/sources/\(sourceID)", #"{"name": "CI (old)", "enabled": false}"#)
            #expect(disabled.json?["enabled"] as? Bool == false && disabled.json?["name"] as? String == "CI (old)")
            let gone = try await post(deploy, signedWith: newSecret)
            #expect(gone.status == 410 && code(gone) == "source_disabled")
            #expect(try await call("DELETE", "/api/v1/sources/\(sourceID)").status == 204)
            #expect(try await call("GET", "/api/v1/sources/\(sourceID)").status == 404)
            #expect(try await post(deploy, signedWith: newSecret).status == 404)
        }
    }

    @Test func gitLabPayloadsThroughPresetsCountLikeGitHubsAndWhatTheMappingCannotReadIsLogged() async throws {
        try await withHub { hub in
            let user = try await hub.createUser(login: "jexample", githubID: 4)
            func call(_ method: String, _ path: String, _ body: String? = nil) async throws -> HubUnderTest.Response {
                try await hub.api(method, path, body, token: user.token)
            }
            func code(_ response: HubUnderTest.Response) -> String? { (response.json?["error"] as? [String: Any])?["code"] as? String }
            #expect(code(try await call("POST", "/api/v1/sources", #"{"kind": "custom", "preset": "svn"}"#)) == "invalid_mapping")
            #expect(code(try await call("POST", "/api/v1/sources", #"{"kind": "github", "preset": "gitlab-push"}"#)) == "invalid_mapping")
            let badMapping = try await call("POST", "/api/v1/sources", #"{"kind": "custom", "mapping": {"kind": "deploys", "occurred_at": "/t"}}"#)
            #expect(code(badMapping) == "invalid_mapping" && (badMapping.json?["error"] as? [String: Any])?["message"] as? String != nil)

            let pushes = try await call(
                "POST", "/api/v1/sources", #"{"kind": "custom", "name": "GitLab", "preset": "gitlab-push", "authors": ["jordan@example.com"]}"#)
            #expect(pushes.status == 201, "\(pushes.text)")
            #expect((pushes.json?["mapping"] as? [String: Any])?["events"] as? String == "/commits")
            #expect((pushes.json?["mapping"] as? [String: Any])?["authors"] as? [String] == ["jordan@example.com"])
            let merges = try await call("POST", "/api/v1/sources", #"{"kind": "custom", "preset": "gitlab-merge-request"}"#)
            func post(
                _ source: HubUnderTest.Response, _ body: [UInt8], token: String? = nil, uuid: String = UUID().uuidString
            ) async throws -> HubUnderTest.Response {
                try await hub.request(
                    "POST", try #require(source.json?["url"] as? String),
                    headers: [
                        "Content-Type": "application/json", "X-Gitlab-Event": "Push Hook", "X-Gitlab-Event-UUID": uuid,
                        "X-Gitlab-Token": token ?? (source.json?["secret"] as? String ?? ""),
                    ], body: body)
            }
            let wrongToken = try await post(pushes, try OtherFixtures.data("push.json"), token: "not-the-secret")
            #expect(wrongToken.status == 401 && code(wrongToken) == "signature_mismatch", "\(wrongToken.status) \(wrongToken.text)")
            #expect(try await post(pushes, try OtherFixtures.data("push.json"), uuid: "push-1").status == 202)
            #expect(try await post(pushes, try OtherFixtures.data("push.json"), uuid: "push-1").status == 202, "GitLab's retry")
            #expect(try await post(merges, try OtherFixtures.data("merge-request-merged.json")).status == 202)
            #expect(try await post(merges, try OtherFixtures.data("merge-request-updated.json")).status == 202)
            // A tag push has no commits: accepted (the mapping is the worker's to apply), then dead-lettered and logged.
            #expect(try await post(pushes, Array(#"{"object_kind": "tag_push", "ref": "refs/tags/v1"}"#.utf8), uuid: "tag-1").status == 202)

            let day = "/api/v1/metrics/summary?from=2026-11-20&to=2026-11-20"
            let summary = try await eventually(
                within: 60, { try await call("GET", day) },
                until: {
                    $0.json?["commits"] as? Int == 2 && $0.json?["prs_merged"] as? Int == 1
                })
            #expect(summary.json?["commits"] as? Int == 2, "each commit once, though GitLab sent the push twice: \(summary.text)")
            #expect(summary.json?["prs_merged"] as? Int == 1 && summary.json?["prs_opened"] as? Int == 0, "an edited merge request is no activity")
            let pushesID = try #require(pushes.json?["id"] as? String)
            let log = try await eventually(
                within: 30, { try await call("GET", "/api/v1/sources/\(pushesID)/deliveries") },
                until: { response in
                    ((response.json?["deliveries"] as? [[String: Any]]) ?? []).contains { $0["delivery_id"] as? String == "tag-1" }
                })
            let tag = ((log.json?["deliveries"] as? [[String: Any]]) ?? []).first { $0["delivery_id"] as? String == "tag-1" }
            #expect(tag?["status"] as? String == "dead_lettered")
            #expect(tag?["error"] as? String == "mapping.events /commits is not an array in the payload")
            #expect(tag?["signature"] as? String == "gitlab-token")
            try await hub.settled()
            #expect(try await call("GET", day).json?["commits"] as? Int == 2)

            // A new mapping by PATCH: someone else's identity counts nothing, the owner's again does.
            func push(_ first: String, _ second: String) throws -> [UInt8] {
                Array(
                    String(decoding: try OtherFixtures.data("push.json"), as: UTF8.self)
                        .replacingOccurrences(of: "b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327", with: first)
                        .replacingOccurrences(of: "da1560886d4f094c3e6c9ef40349f7d38b5d27d7", with: second).utf8)
            }
            let narrowed = try await call("PATCH", "/api/v1/sources/\(pushesID)", #"{"preset": "gitlab-push", "authors": ["nobody@example.com"]}"#)
            #expect((narrowed.json?["mapping"] as? [String: Any])?["authors"] as? [String] == ["nobody@example.com"], "\(narrowed.text)")
            #expect(try await post(pushes, try push("c1", "c2"), uuid: "push-2").status == 202)
            let none = try await eventually(
                within: 30, { try await call("GET", "/api/v1/sources/\(pushesID)/deliveries") },
                until: { response in
                    ((response.json?["deliveries"] as? [[String: Any]]) ?? []).contains { $0["delivery_id"] as? String == "push-2" }
                })
            #expect(((none.json?["deliveries"] as? [[String: Any]]) ?? []).first { $0["delivery_id"] as? String == "push-2" }?["facts"] as? Int == 0)
            #expect(
                try await call("PATCH", "/api/v1/sources/\(pushesID)", #"{"preset": "gitlab-push", "authors": ["jordan@example.com"]}"#).status == 200
            )
            #expect(try await post(pushes, try push("c3", "c4"), uuid: "push-3").status == 202)
            let four = try await eventually(within: 30, { try await call("GET", day) }, until: { $0.json?["commits"] as? Int == 4 })
            #expect(four.json?["commits"] as? Int == 4)
        }
    }
}
