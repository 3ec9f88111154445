import DevTrackCore
import Foundation
import Testing

@Suite struct DiscordWebhookURLTests {
    @Test func acceptsWhatDiscordHandsOut() {
        let token = "AbC-def_123" + String(repeating: "x", count: 57)
        for text in [
            "https://discord.com/api/webhooks/123456789012345678/\(token)",
            "https://discordapp.com/api/webhooks/123456789012345678/\(token)/",
            "https://canary.discord.com/api/v10/webhooks/123456789012345678/\(token)",
            "HTTPS://PTB.Discord.com/api/webhooks/123456789012345678/\(token)",
        ] {
            let url = DiscordWebhookURL(text)
            #expect(url?.webhookID == "123456789012345678", "\(text)")
            #expect(url?.url.hasPrefix("https://") == true)
            #expect(url?.masked.contains(token) == false, "the token is never shown back")
        }
    }

    @Test func refusesEverythingElse() {
        let token = "tokentokentoken"
        for text in [
            "http://discord.com/api/webhooks/123456789012345678/\(token)",  // not https
            "https://discord.com.evil.example/api/webhooks/123456789012345678/\(token)",
            "https://evil.example/api/webhooks/123456789012345678/\(token)",
            "https://discord.com:8443/api/webhooks/123456789012345678/\(token)",
            "https://user:pw@discord.com/api/webhooks/123456789012345678/\(token)",
            "https://discord.com/api/webhooks/123456789012345678/\(token)?wait=true",
            "https://discord.com/api/webhooks/12345/\(token)",  // id too short
            "https://discord.com/api/webhooks/1234567890123456789a/\(token)",
            "https://discord.com/api/webhooks/123456789012345678/",
            "https://discord.com/api/webhooks/123456789012345678/tok%2Fen",
            "https://discord.com/api/channels/123456789012345678/\(token)",
            "https://discord.com/api/vx/webhooks/123456789012345678/\(token)",
            "not a url", "",
        ] {
            #expect(DiscordWebhookURL(text) == nil, "\(text)")
        }
    }
}

@Suite struct DiscordMessageTests {
    let user = UUID()

    @Test func aNotificationBecomesOneEmbedWithItsFiguresAndColour() throws {
        let intent = NotificationIntent.streakAtRisk(userID: user, days: 12, date: LocalDate("2026-11-25")!)
        let message = DiscordMessage.notification(intent, profileURL: "https://hub.example/u/dev", at: Date(timeIntervalSince1970: 0))
        #expect(message.embeds.count == 1)
        let embed = message.embeds[0]
        #expect(embed.title == intent.title)
        #expect(embed.description == intent.body)
        #expect(embed.url == "https://hub.example/u/dev")
        #expect(embed.color == DiscordMessage.colour(of: "streak.at_risk"))
        #expect(embed.fields.map(\.name) == ["Date", "Days"])
        #expect(embed.fields.map(\.value) == ["2026-11-25", "12"])
        #expect(embed.timestamp == "1970-01-01T00:00:00.000Z")
        let json = String(decoding: try JSONEncoder().encode(message), as: UTF8.self)
        #expect(json.contains(#""embeds":[{"#))
        let ids = NotificationIntent.goalCompleted(
            userID: user, goalID: UUID(), title: "t", target: 3, unit: .commits,
            window: GoalWindow(start: LocalDate("2026-11-25")!, end: LocalDate("2026-11-25")!))
        #expect(
            !DiscordMessage.notification(ids, profileURL: nil, at: Date()).embeds[0].fields.contains { $0.name.contains("Id") },
            "ids are not shown to people")
    }

    @Test func everyLimitHolds() {
        let long = String(repeating: "é", count: 10_000)
        let field = DiscordMessage.Embed.Field(name: long, value: long, inline: false)
        let embed = DiscordMessage.Embed(
            title: long, description: long, url: nil, color: 0, fields: Array(repeating: field, count: 40),
            footer: .init(text: long), timestamp: nil)
        let fitted = DiscordLimits.fit(DiscordMessage(content: long, username: nil, embeds: Array(repeating: embed, count: 14)))
        #expect(fitted.content?.count == DiscordLimits.content)
        #expect(fitted.content?.hasSuffix("…") == true)
        #expect(fitted.embeds.count <= DiscordLimits.embeds)
        #expect(fitted.embeds.count >= 1)
        for embed in fitted.embeds {
            #expect(embed.title.count <= DiscordLimits.title)
            #expect(embed.description.count <= DiscordLimits.description)
            #expect(embed.fields.count <= DiscordLimits.fields)
            #expect(embed.fields.allSatisfy { $0.name.count <= DiscordLimits.fieldName && $0.value.count <= DiscordLimits.fieldValue })
            #expect((embed.footer?.text.count ?? 0) <= DiscordLimits.footer)
        }
        #expect(DiscordLimits.characters(in: fitted) <= DiscordLimits.total)
    }

    @Test func aMessageWithinTheLimitsIsLeftAlone() {
        let message = DiscordMessage.notification(.streakMilestone(userID: user, days: 7), profileURL: nil, at: Date())
        #expect(DiscordLimits.fit(message) == message)
        #expect(DiscordLimits.characters(in: message) < 200)
    }
}

@Suite struct DiscordAnswerTests {
    func body(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test func discordsAnswersAreReadAsDocumented() {
        #expect(DiscordAnswer.classify(status: 204, headers: [], body: []) == .delivered(pauseFor: nil))
        #expect(
            DiscordAnswer.classify(status: 200, headers: [("X-RateLimit-Remaining", "0"), ("X-RateLimit-Reset-After", "1.5")], body: [])
                == .delivered(pauseFor: 1.5), "an empty bucket holds the webhook until it refills")
        #expect(
            DiscordAnswer.classify(status: 429, headers: [], body: body(#"{"retry_after": 0.75, "global": false}"#))
                == .rateLimited(seconds: 0.75, global: false))
        #expect(
            DiscordAnswer.classify(status: 429, headers: [("Retry-After", "3")], body: body(#"{"global": true}"#))
                == .rateLimited(seconds: 3, global: true))
        #expect(
            DiscordAnswer.classify(status: 429, headers: [], body: body(#"{"retry_after": 1e9}"#)) == .rateLimited(seconds: 3_600, global: false),
            "an absurd wait is capped at an hour")
        #expect(DiscordAnswer.classify(status: 404, headers: [], body: body(#"{"message": "Unknown Webhook", "code": 10015}"#)) == .webhookGone)
        #expect(DiscordAnswer.classify(status: 503, headers: [], body: []) == .transient("HTTP 503"))
        #expect(DiscordAnswer.classify(status: 408, headers: [], body: []) == .transient("HTTP 408"))
        #expect(
            DiscordAnswer.classify(status: 400, headers: [], body: body(#"{"message": "Invalid Form Body"}"#))
                == .rejected("HTTP 400: Invalid Form Body"))
        #expect(
            DiscordAnswer.classify(status: 302, headers: [("Location", "http://169.254.169.254/")], body: []) == .rejected("HTTP 302"),
            "redirects are not followed")
    }

    @Test func backoffGrowsWithJitterAndStops() {
        let schedule = RetrySchedule(maxFailures: 5, base: 2, cap: 10)
        #expect(schedule.delay(afterFailure: 1, random: 0) == 1)
        #expect(schedule.delay(afterFailure: 1, random: 1) == 2)
        #expect(schedule.delay(afterFailure: 3, random: 1) == 8)
        #expect(schedule.delay(afterFailure: 4, random: 0.5) == 7.5, "capped at 10, then jittered between 5 and 10")
        #expect(schedule.delay(afterFailure: 5) == nil, "the fifth failure is the last")
        for failures in 1...4 {
            let delay = schedule.delay(afterFailure: failures)!
            let full = min(10, 2 * pow(2, Double(failures - 1)))
            #expect(delay >= full / 2 && delay <= full)
        }
    }
}

@Suite struct StandardWebhooksTests {
    /// The example of the Standard Webhooks specification's reference libraries.
    @Test func signsAsTheSpecificationsExample() throws {
        let key = try #require(StandardWebhooks.key(of: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"))
        let body = Array(#"{"test": 2432232314}"#.utf8)
        #expect(
            StandardWebhooks.signature(id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1614265330, body: body, key: key)
                == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
    }

    @Test func rotationSignsWithBothSecretsAndLegacyHeadersMatchTheOriginal() throws {
        let old = try #require(StandardWebhooks.key(of: StandardWebhooks.newSecret()))
        let new = try #require(StandardWebhooks.key(of: StandardWebhooks.newSecret()))
        let headers = StandardWebhooks.headers(id: "d1", timestamp: 1, body: [1, 2], keys: [new, old])
        let signatures = headers.first { $0.0 == "webhook-signature" }?.1.split(separator: " ").map(String.init)
        #expect(
            signatures == [
                StandardWebhooks.signature(id: "d1", timestamp: 1, body: [1, 2], key: new),
                StandardWebhooks.signature(id: "d1", timestamp: 1, body: [1, 2], key: old),
            ])
        #expect(StandardWebhooks.key(of: "not-a-secret") == nil)
        // sha256=<hex HMAC of the body>, as GitHub and the original DevTrack write it.
        let legacy = LegacyWebhookHeaders.headers(event: "goal.completed", deliveryID: "d1", body: Array("{}".utf8), secret: "s3cret")
        #expect(legacy.first { $0.0 == "X-Webhook-Signature" }?.1 == GitHubSignature.sign(body: Array("{}".utf8), secret: Array("s3cret".utf8)))
        #expect(legacy.first { $0.0 == "X-Webhook-Delivery-Id" }?.1 == "d1")
    }
}

@Suite struct WebhookAnswerTests {
    @Test func receiversAnswersAreRead() {
        #expect(WebhookAnswer.classify(status: 200, headers: []) == .delivered)
        #expect(WebhookAnswer.classify(status: 204, headers: []) == .delivered)
        #expect(WebhookAnswer.classify(status: 410, headers: []) == .gone)
        #expect(WebhookAnswer.classify(status: 429, headers: [("Retry-After", "12")]) == .rateLimited(seconds: 12))
        #expect(WebhookAnswer.classify(status: 429, headers: []) == .rateLimited(seconds: 60))
        #expect(WebhookAnswer.classify(status: 502, headers: []) == .transient("HTTP 502"))
        #expect(
            WebhookAnswer.classify(status: 301, headers: [("Location", "http://127.0.0.1/")]) == .rejected("HTTP 301: redirects are not followed"))
        #expect(WebhookAnswer.classify(status: 403, headers: []) == .rejected("HTTP 403"))
    }

    @Test func envelopesCarryTheNotificationAndAreStable() {
        let user = UUID()
        let intent = NotificationIntent.streakMilestone(userID: user, days: 30)
        let envelope = WebhookEnvelope.notification(intent, at: Date(timeIntervalSince1970: 0))
        #expect(envelope.event == "streak.milestone")
        #expect(envelope.timestamp == "1970-01-01T00:00:00.000Z")
        #expect(envelope.data["days"] == "30")
        #expect(envelope.data["user_id"] == user.uuidString.lowercased())
        #expect(envelope.data["notification_id"] == intent.id.uuidString.lowercased())
        #expect(envelope.json() == envelope.json())
        #expect(envelope.json().hasPrefix(#"{"data":{"body":"#))
    }
}

@Suite struct LiveEventTests {
    @Test func eventsSurviveTheirNotifyPayloadAndWriteAsServerSentEvents() throws {
        let user = UUID()
        let event = LiveEvent.notification(.streakMilestone(userID: user, days: 7), createdAt: Date(timeIntervalSince1970: 0))
        let back = try #require(LiveEvent(payload: event.payload))
        #expect(back == event)
        #expect(event.serverSentEvent.hasPrefix("event: notification\ndata: {"))
        #expect(event.serverSentEvent.hasSuffix("}\n\n"))
        #expect(LiveEvent.metricsUpdated(userID: user, newFacts: 3).data == #"{"new_facts":3}"#)
        let huge = LiveEvent(userID: user, event: "notification", data: "{\"x\":\"" + String(repeating: "y", count: 9_000) + "\"}")
        #expect(huge.payload.utf8.count < 8_000)
        #expect(LiveEvent(payload: huge.payload)?.data == "{}")
        #expect(LiveEvent(payload: "garbage") == nil)
    }
}
