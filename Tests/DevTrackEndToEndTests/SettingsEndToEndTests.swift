import DevTrackCore
import DevTrackTestSupport
import Foundation
import Testing

/// `GET|PATCH /api/v1/settings` through the built binary: Discord settings validated, the URL never shown back whole.
@Suite(.timeLimit(.minutes(5)))
struct SettingsEndToEndTests {
    @Test func discordSettingsAreValidatedStoredAndMasked() async throws {
        try await withHub { hub in
            let user = try await hub.createUser(login: "Codertocat", githubID: 21031067)
            func call(_ method: String, _ body: String? = nil) async throws -> HubUnderTest.Response {
                try await hub.request(
                    method, hub.apiURL + "/api/v1/settings",
                    headers: [
                        "Authorization": "Bearer \(user.token)", "Content-Type": "application/json",
                    ], body: body.map { Array($0.utf8) })
            }
            let initial = try await call("GET")
            #expect(initial.status == 200)
            #expect(initial.json?["discord_webhook_url"] is NSNull)
            #expect(initial.json?["discord_opt_outs"] as? [String] == [])

            for (body, code) in [
                (#"{"discord_webhook_url": "https://evil.example/api/webhooks/123456789012345678/token"}"#, "invalid_discord_webhook_url"),
                (#"{"discord_webhook_url": "http://discord.com/api/webhooks/123456789012345678/token"}"#, "invalid_discord_webhook_url"),
                (#"{"discord_muted_until": "tomorrow"}"#, "invalid_discord_muted_until"),
                (#"{"discord_opt_outs": ["goal.completed", "spam"]}"#, "invalid_discord_opt_outs"),
                (#"{"discord_webhook_url": 5}"#, "invalid_body"),
                (#"{"timezone": "Mars/Base"}"#, "invalid_timezone"),
            ] {
                let response = try await call("PATCH", body)
                #expect(response.status == 400, "\(body)")
                #expect((response.json?["error"] as? [String: Any])?["code"] as? String == code, "\(body) → \(response.text)")
            }
            #expect(try await call("GET").json?["discord_webhook_url"] is NSNull, "a refused change changes nothing")

            let token = "s3cr3t-Token_value"
            let set = try await call(
                "PATCH",
                #"""
                {"discord_webhook_url": "https://discord.com/api/webhooks/123456789012345678/\#(token)",
                 "discord_muted_until": "2030-01-01T00:00:00Z", "discord_opt_outs": ["daily.summary", "daily.summary", "weekly.summary"]}
                """#)
            #expect(set.status == 200, "\(set.text)")
            #expect(set.json?["discord_webhook_url"] as? String == "https://discord.com/api/webhooks/123456789012345678/…")
            #expect(!set.text.contains(token), "the token is never shown back")
            #expect(set.json?["discord_muted_until"] as? String == "2030-01-01T00:00:00.000Z")
            #expect(set.json?["discord_opt_outs"] as? [String] == ["daily.summary", "weekly.summary"])
            #expect(set.json?["timezone"] as? String == "UTC")

            // Only what a PATCH names changes; null clears.
            let unmuted = try await call("PATCH", #"{"discord_muted_until": null}"#)
            #expect(unmuted.json?["discord_muted_until"] is NSNull)
            #expect(unmuted.json?["discord_webhook_url"] as? String != nil)
            #expect(unmuted.json?["discord_opt_outs"] as? [String] == ["daily.summary", "weekly.summary"])
            let cleared = try await call("PATCH", #"{"discord_webhook_url": null, "timezone": "Asia/Kolkata"}"#)
            #expect(cleared.json?["discord_webhook_url"] is NSNull)
            #expect(cleared.json?["timezone"] as? String == "Asia/Kolkata")
        }
    }

    @Test func discordGetsTheTestMessageAndNotificationsUntilTheWebhookIsGone() async throws {
        let discord = FakeDiscord()
        try await discord.serving { base in
            try await withHub { hub in
                let user = try await hub.createUser(login: "Codertocat", githubID: 21031067)
                func call(_ method: String, _ path: String, _ body: String? = nil) async throws -> HubUnderTest.Response {
                    try await hub.api(method, path, body, token: user.token)
                }
                let untested = try await call("POST", "/api/v1/settings/discord/test")
                #expect(untested.status == 409, "no URL yet")
                #expect((untested.json?["error"] as? [String: Any])?["code"] as? String == "discord_not_configured")
                let webhook = "123456789012345678"
                let set = try await call("PATCH", "/api/v1/settings", #"{"discord_webhook_url": "\#(base)/api/webhooks/\#(webhook)/token"}"#)
                #expect(set.status == 200, "\(set.text)")

                let tested = try await call("POST", "/api/v1/settings/discord/test")
                #expect(tested.status == 200)
                #expect(tested.json?["delivered"] as? Bool == true, "\(tested.text)")
                #expect(tested.json?["status_code"] as? Int == 204)
                func titles() -> [String] {
                    discord.requests(to: webhook).compactMap { request in
                        let message = (try? JSONSerialization.jsonObject(with: Data(request.body))) as? [String: Any]
                        return ((message?["embeds"] as? [[String: Any]])?.first?["title"]) as? String
                    }
                }
                #expect(titles() == ["DevTrack test message"])

                // A commit now unlocks "first commit": the notification reaches Discord, once.
                let push = String(decoding: try Fixtures.push(sha: Hex.encode(Credentials.randomBytes(20))), as: UTF8.self)
                    .replacingOccurrences(of: "2019-05-15T15:19:25Z", with: Timestamps.format(Date()))
                #expect(try await hub.postGitHub("push", Array(push.utf8), delivery: "d-1").status == 202)
                let received = try await eventually(within: 60, { titles() }, until: { $0.contains { $0.hasPrefix("Achievement unlocked") } })
                #expect(received.filter { $0.hasPrefix("Achievement unlocked: First commit") }.count == 1, "\(received)")

                // The webhook is deleted in Discord: the test reports it and the URL is disabled.
                discord.scripts.withLock {
                    $0[webhook] = [FakeDiscord.Answer(status: .notFound, body: #"{"message": "Unknown Webhook", "code": 10015}"#)]
                }
                let gone = try await call("POST", "/api/v1/settings/discord/test")
                #expect(gone.json?["delivered"] as? Bool == false)
                #expect(gone.json?["status_code"] as? Int == 404)
                let settings = try await call("GET", "/api/v1/settings")
                #expect((settings.json?["discord_disabled_reason"] as? String)?.contains("Unknown Webhook") == true)
                let notifications = try await call("GET", "/api/v1/notifications")
                let types = (notifications.json?["notifications"] as? [[String: Any]])?.compactMap { $0["type"] as? String } ?? []
                #expect(types.contains("discord.disabled"))
            }
        }
    }
}
