import DevTrackCore
import DevTrackTestSupport
import Foundation
import Testing

/// An encryption key rotated on the built binary as an operator does it: every process gets the new key first and the
/// old one after it, `devtrack keys rotate` re-seals everything, then the old key goes — and a user's GitHub and custom
/// sources, webhook endpoint and Discord URL (the API's test message, the deliverer's notifications) keep working throughout.
@Suite(.timeLimit(.minutes(5)))
struct KeyRotationEndToEndTests {
    @Test func rotatingTheKeyKeepsSourcesWebhooksAndDiscordWorking() async throws {
        // The stages' pushes complete a daily goal together: they must fall on one UTC day (the test takes about a minute).
        let secondsToMidnight = 86_400 - Int(Date().timeIntervalSince1970) % 86_400
        if secondsToMidnight < 300 { try await Task.sleep(for: .seconds(secondsToMidnight + 1)) }
        let receiver = FakeDiscord()
        try await receiver.serving { base in
            try await withHub { hub in
                let user = try await hub.createUser(login: "Codertocat", githubID: 21031067)
                func call(_ method: String, _ path: String, _ body: String? = nil) async throws -> HubUnderTest.Response {
                    try await hub.api(method, path, body, token: user.token)
                }
                let source = try await call("POST", "/api/v1/sources", #"{"kind":"github"}"#)
                let sourcePath = String(try #require(source.json?["url"] as? String).dropFirst(hub.ingestURL.count))
                let sourceSecret = try #require(source.json?["secret"] as? String)
                let hook = "400000000000000001"
                let endpoint = try await call(
                    "POST", "/api/v1/webhooks", #"{"name": "CI", "url": "\#(base)/api/webhooks/\#(hook)/t", "events": ["test"]}"#)
                let endpointID = try #require(endpoint.json?["id"] as? String)
                let endpointSecret = try #require(endpoint.json?["secret"] as? String)
                let discordHook = "123456789012345678"
                #expect(
                    try await call("PATCH", "/api/v1/settings", #"{"discord_webhook_url": "\#(base)/api/webhooks/\#(discordHook)/token"}"#).status
                        == 200)
                let custom = try await call("POST", "/api/v1/sources", #"{"kind":"custom"}"#)
                let customPath = String(try #require(custom.json?["url"] as? String).dropFirst(hub.ingestURL.count))
                let customSecret = try #require(custom.json?["secret"] as? String)
                let customKey = try #require(StandardWebhooks.key(of: customSecret))
                // Completed by the third stage's push: a notification the deliverer sends to Discord after the rotation.
                #expect(
                    try await call("POST", "/api/v1/goals", #"{"title": "Three a day", "target": 3, "unit": "commits", "period": "daily"}"#)
                        .status == 201)
                func discordTitles() -> [String] {
                    receiver.requests(to: discordHook).compactMap { request in
                        let message = (try? JSONSerialization.jsonObject(with: Data(request.body))) as? [String: Any]
                        return ((message?["embeds"] as? [[String: Any]])?.first?["title"]) as? String
                    }
                }

                /// A push through the GitHub source and an event through the custom one (their secrets opened by ingest), a
                /// test delivery signed with the endpoint's secret (opened by the deliverer), a Discord test message (the URL
                /// opened by the API) and the URL shown masked.
                var pushes = 0
                func everythingWorks(_ stage: String) async throws {
                    pushes += 1
                    let push = String(decoding: try Fixtures.push(sha: Hex.encode(Credentials.randomBytes(20))), as: UTF8.self)
                        .replacingOccurrences(of: "2019-05-15T15:19:25Z", with: Timestamps.format(Date()))
                    let accepted = try await hub.postGitHub(
                        "push", Array(push.utf8), delivery: "\(stage)-push", path: sourcePath, secret: sourceSecret)
                    #expect(accepted.status == 202, "\(stage): \(accepted.text)")
                    let event = Array(#"{"type": "deploy", "occurred_at": "\#(Timestamps.format(Date()))"}"#.utf8)
                    let (id, timestamp) = ("\(stage)-deploy", Int(Date().timeIntervalSince1970))
                    let signed = try await hub.request(
                        "POST", hub.ingestURL + customPath,
                        headers: [
                            "webhook-id": id, "webhook-timestamp": "\(timestamp)", "content-type": "application/json",
                            "webhook-signature": StandardWebhooks.signature(id: id, timestamp: timestamp, body: event, key: customKey),
                        ], body: event)
                    #expect(signed.status == 202, "\(stage): \(signed.text)")
                    let expected = pushes
                    let today = "\(LocalDate(Date(), in: .gmt))"
                    _ = try await eventually(
                        within: 90, { try await hub.summary(token: user.token, from: today, to: today) }, until: { $0["commits"] == expected })
                    _ = try await eventually(
                        within: 90, { try await call("GET", "/api/v1/metrics/custom") },
                        until: { (($0.json?["totals"] as? [[String: Any]])?.first?["count"] as? Int) == expected })
                    let tested = try await call("POST", "/api/v1/settings/discord/test")
                    #expect(tested.json?["delivered"] as? Bool == true, "\(stage): \(tested.text)")
                    let before = receiver.requests(to: hook).count
                    #expect(try await call("POST", "/api/v1/webhooks/\(endpointID)/test").status == 202, "\(stage)")
                    let received = try await eventually(within: 60, { receiver.requests(to: hook) }, until: { $0.count == before + 1 })
                    let last = try #require(received.last)
                    #expect(
                        last.header("X-Webhook-Signature") == GitHubSignature.sign(body: last.body, secret: Array(endpointSecret.utf8)), "\(stage)")
                    let settings = try await call("GET", "/api/v1/settings")
                    #expect(settings.json?["discord_webhook_url"] as? String == "https://discord.com/api/webhooks/\(discordHook)/…", "\(stage)")
                }
                try await everythingWorks("before")
                // The deliverer opened the Discord URL under the old key: the first commit's achievement.
                _ = try await eventually(
                    within: 60, { discordTitles() }, until: { $0.contains { $0.hasPrefix("Achievement unlocked: First commit") } })

                let old = try #require(hub.environment["DEVTRACK_ENCRYPTION_KEY"])
                let generated = try await hub.run(["keys", "generate"])
                let new = try #require(generated.output.split(separator: "\n").last.map(String.init))
                #expect(Data(base64Encoded: new)?.count == 32)

                // 1. Every process has the new key first: it seals with it and still opens the old.
                try await hub.restartRoles(encryptionKeys: [new, old])
                try await everythingWorks("both-keys")

                // 2. The rotation re-seals the three secrets (and is a no-op the second time).
                func rotate() async throws -> [String: [String: Any]] {
                    let result = try await hub.run(["keys", "rotate"])
                    #expect(result.code == 0, "\(result.output)")
                    var columns: [String: [String: Any]] = [:]
                    for line in result.output.split(separator: "\n") where line.hasPrefix("{") {
                        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                        columns[object["column"] as? String ?? ""] = object
                    }
                    return columns
                }
                let first = try await rotate()
                #expect(first["webhook_sources.secret_sealed"]?["resealed"] as? Int == 2, "the GitHub and the custom source: \(first)")
                for column in ["webhook_endpoints.secret_sealed", "users.discord_webhook_sealed"] {
                    #expect(first[column]?["resealed"] as? Int == 1 && first[column]?["unreadable"] as? Int == 0, "\(column): \(first)")
                }
                let second = try await rotate()
                #expect(second.values.allSatisfy { $0["resealed"] as? Int == 0 }, "\(second)")
                #expect(second["webhook_sources.secret_sealed"]?["current"] as? Int == 2)

                // 3. The old key goes (and the key now comes from a key file): everything still opens.
                try await hub.restartRoles(encryptionKeys: [new], inFile: true)
                try await everythingWorks("new-key-only")
                // ... and under the new key alone, re-sealed by the rotation: the goal the third push completed.
                _ = try await eventually(within: 60, { discordTitles() }, until: { $0.contains { $0.hasPrefix("Goal completed") } })

                // Without the key a secret was sealed under, rotate says so and fails.
                try await hub.restartRoles(encryptionKeys: [SecretBox.newBase64Key()])
                let lost = try await hub.run(["keys", "rotate"])
                #expect(lost.code != 0 && lost.output.contains("\"unreadable\":1"), "\(lost.output)")
            }
        }
    }
}
