import DevTrackCore
import DevTrackTestSupport
import Foundation
import Testing

/// `SettingsController`: `GET|PATCH /settings`, `POST /settings/discord/test`.
@Suite(.timeLimit(.minutes(2)))
struct SettingsRouterTests {
    static let routes = [
        APIRoute(.get, "/api/v1/settings"), APIRoute(.patch, "/api/v1/settings"), APIRoute(.post, "/api/v1/settings/discord/test"),
    ]
    static let discordURL = "https://discord.com/api/webhooks/123456789012345678/s3cr3t-Token_value"

    @Test func everyRouteRequiresAValidBearerToken() async throws {
        try await APIRouterTest.run { api in try await expectEveryRouteRequiresAToken(Self.routes, api) }
    }

    @Test func aChangeIsRefusedNamingTheFieldAndChangesNothing() async throws {
        try await APIRouterTest.run { api in
            let cases: [(body: String, code: String, field: String)] = [
                (#"{"discord_webhook_url": "https://evil.example/api/webhooks/123456789012345678/token"}"#, "invalid_discord_webhook_url", ""),
                (#"{"discord_webhook_url": "http://discord.com/api/webhooks/123456789012345678/token"}"#, "invalid_discord_webhook_url", ""),
                (#"{"discord_webhook_url": "https://discord.com:8443/api/webhooks/123456789012345678/token"}"#, "invalid_discord_webhook_url", ""),
                (#"{"discord_webhook_url": "https://discord.com/api/webhooks/1234/token"}"#, "invalid_discord_webhook_url", ""),
                (#"{"discord_webhook_url": "https://discord.com/api/webhooks/123456789012345678/tok?x=1"}"#, "invalid_discord_webhook_url", ""),
                (#"{"discord_webhook_url": "https://u:p@discord.com/api/webhooks/123456789012345678/token"}"#, "invalid_discord_webhook_url", ""),
                (#"{"discord_webhook_url": ""}"#, "invalid_discord_webhook_url", ""),
                (#"{"discord_muted_until": "tomorrow"}"#, "invalid_discord_muted_until", ""),
                (#"{"discord_muted_until": "2030-01-01"}"#, "invalid_discord_muted_until", ""),
                // Year 300000 once crashed the process (PostgreSQL's timestamp encoding); trailing junk was accepted.
                (#"{"discord_muted_until": "300000-12-01T08:00:00Z"}"#, "invalid_discord_muted_until", ""),
                (#"{"discord_muted_until": "2030-01-01T00:00:00Z*junk"}"#, "invalid_discord_muted_until", ""),
                (#"{"discord_opt_outs": ["goal.completed", "spam"]}"#, "invalid_discord_opt_outs", "spam"),
                (#"{"discord_opt_outs": ["test"]}"#, "invalid_discord_opt_outs", "test"),
                (#"{"timezone": "Mars/Base"}"#, "invalid_timezone", ""), (#"{"timezone": "UTC+0530"}"#, "invalid_timezone", ""),
                (#"{"timezone": "GMT+5"}"#, "invalid_timezone", ""), (#"{"timezone": "GMT-3"}"#, "invalid_timezone", ""),
                (#"{"timezone": "Etc/GMT+5"}"#, "invalid_timezone", ""), (#"{"timezone": "Europe/Berlin\u0000"}"#, "invalid_timezone", ""),
                (#"{"timezone": ""}"#, "invalid_timezone", ""),
                (#"{"timezone": "\#(String(repeating: "A", count: 65))"}"#, "invalid_timezone", ""),
                // A valid change beside a refused one is not applied either.
                (#"{"timezone": "Asia/Kolkata", "discord_opt_outs": ["nope"]}"#, "invalid_discord_opt_outs", "nope"),
                (#"{"discord_muted_until": "2030-01-01T00:00:00Z", "timezone": "Nope/Nope"}"#, "invalid_timezone", ""),
            ]
            for (body, code, detail) in cases {
                let field = String(code.dropFirst("invalid_".count))
                let response = try await api.call(.patch, "/api/v1/settings", body)
                expectBadRequest(response, code, naming: field, body)
                if !detail.isEmpty { #expect(response.errorMessage?.contains(detail) == true, "\(body) → \(response)") }
            }
            for (body, field) in [
                (#"{"discord_webhook_url": 5}"#, "discord_webhook_url"), (#"{"discord_muted_until": true}"#, "discord_muted_until"),
                (#"{"discord_opt_outs": "daily.summary"}"#, "discord_opt_outs"), (#"{"discord_opt_outs": [1]}"#, "discord_opt_outs"),
                (#"{"timezone": 1}"#, "timezone"),
            ] {
                expectBadRequest(try await api.call(.patch, "/api/v1/settings", body), "invalid_body", naming: field, body)
            }
            try await expectMalformedBodiesRefused(.patch, "/api/v1/settings", api)
            try await expectBodyTooLarge(.patch, "/api/v1/settings", api)
            let settings = try await api.call(.get, "/api/v1/settings")
            #expect(settings.value("timezone", as: String.self) == "UTC" && settings.isNull("discord_webhook_url"), "\(settings)")
            #expect(settings.isNull("discord_muted_until") && settings.value("discord_opt_outs", as: [String].self) == [], "\(settings)")
        }
    }

    @Test func settingsChangeOnlyWhereNamedAndTheURLIsShownMasked() async throws {
        try await APIRouterTest.run { api in
            let initial = try await api.call(.get, "/api/v1/settings")
            #expect(initial.status == .ok, "\(initial)")
            #expect(
                initial.keys() == [
                    "timezone", "discord_webhook_url", "discord_muted_until", "discord_opt_outs", "discord_disabled_reason", "is_public",
                    "display_name", "bio", "leaderboard_opt_in", "profile_sections",
                ],
                "every setting, null when unset: \(initial)")
            #expect(initial.isNull("discord_webhook_url") && initial.isNull("discord_disabled_reason"))

            let set = try await api.call(
                .patch, "/api/v1/settings",
                #"""
                {"discord_webhook_url": "\#(Self.discordURL)", "discord_muted_until": "2030-01-01T00:00:00Z",
                 "discord_opt_outs": ["weekly.summary", "daily.summary", "daily.summary"]}
                """#)
            #expect(set.status == .ok, "\(set)")
            #expect(set.value("discord_webhook_url", as: String.self) == "https://discord.com/api/webhooks/123456789012345678/…", "\(set)")
            #expect(!set.text.contains("s3cr3t-Token_value"), "the token is never shown back")
            #expect(set.value("discord_muted_until", as: String.self) == "2030-01-01T00:00:00.000Z")
            #expect(set.value("discord_opt_outs", as: [String].self) == ["daily.summary", "weekly.summary"], "deduplicated and sorted")
            #expect(set.value("timezone", as: String.self) == "UTC")
            for url in [
                "https://discordapp.com/api/webhooks/123456789012345678/t", "https://ptb.discord.com/api/v10/webhooks/123456789012345678/t",
                "https://canary.discord.com/api/webhooks/12345678901234567/t/",
            ] {
                let response = try await api.call(.patch, "/api/v1/settings", #"{"discord_webhook_url": "\#(url)"}"#)
                let masked = response.value("discord_webhook_url", as: String.self)
                #expect(response.status == .ok && masked?.hasSuffix("/…") == true, "\(url) → \(response)")
            }

            let unmuted = try await api.call(.patch, "/api/v1/settings", #"{"discord_muted_until": null}"#)
            #expect(unmuted.isNull("discord_muted_until") && unmuted.value("discord_webhook_url", as: String.self) != nil, "\(unmuted)")
            #expect(unmuted.value("discord_opt_outs", as: [String].self) == ["daily.summary", "weekly.summary"], "untouched: \(unmuted)")
            let zoned = try await api.call(.patch, "/api/v1/settings", #"{"discord_webhook_url": null, "timezone": "Asia/Kolkata"}"#)
            #expect(zoned.isNull("discord_webhook_url") && zoned.value("timezone", as: String.self) == "Asia/Kolkata", "\(zoned)")
            #expect(try await api.call(.get, "/api/v1/me").value("timezone", as: String.self) == "Asia/Kolkata", "the user's zone changed")
            let cleared = try await api.call(.patch, "/api/v1/settings", #"{"discord_opt_outs": []}"#)
            #expect(cleared.value("discord_opt_outs", as: [String].self) == [] && cleared.value("timezone", as: String.self) == "Asia/Kolkata")
            let nothing = try await api.call(.patch, "/api/v1/settings", "{}")
            #expect(nothing.status == .ok && nothing.value("timezone", as: String.self) == "Asia/Kolkata", "\(nothing)")

            let other = try await api.newUser("other")
            let theirs = try await api.call(.get, "/api/v1/settings", token: other.token)
            #expect(theirs.value("timezone", as: String.self) == "UTC", "another user's settings are their own: \(theirs)")
        }
    }

    @Test func aDiscordTestNeedsAWebhookURL() async throws {
        try await APIRouterTest.run { api in
            let untested = try await api.call(.post, "/api/v1/settings/discord/test")
            expectError(untested, .conflict, "discord_not_configured", naming: "discord_webhook_url", "no URL set")
            _ = try await api.call(.patch, "/api/v1/settings", #"{"discord_webhook_url": "\#(Self.discordURL)"}"#)
            _ = try await api.call(.patch, "/api/v1/settings", #"{"discord_webhook_url": null}"#)
            expectError(try await api.call(.post, "/api/v1/settings/discord/test"), .conflict, "discord_not_configured", "a cleared URL")
        }
    }

    /// A stand-in for Discord on loopback (`notify.allow_hosts`) where nothing listens: what the test reports
    /// when no answer came — 200, not delivered, no status code.
    @Test func aDiscordTestThatGetsNoAnswerSaysSo() async throws {
        try await APIRouterTest.run(configuration: APIRouterTest.configuration(allowHosts: ["127.0.0.1"])) { api in
            let set = try await api.call(
                .patch, "/api/v1/settings", #"{"discord_webhook_url": "http://127.0.0.1:1/api/webhooks/123456789012345678/t"}"#)
            #expect(set.status == .ok, "\(set)")
            let tested = try await api.call(.post, "/api/v1/settings/discord/test")
            #expect(tested.status == .ok, "\(tested)")
            #expect(tested.keys() == ["delivered", "status_code", "latency_ms", "error"], "\(tested)")
            #expect(tested.value("delivered", as: Bool.self) == false && tested.isNull("status_code"), "\(tested)")
            #expect(tested.value("latency_ms", as: Int.self) != nil && tested.value("error", as: String.self)?.isEmpty == false)
        }
    }

    // MARK: - The public profile's settings

    static let sections = ["summary", "streak", "achievements", "languages", "repositories", "coding"]

    @Test func theProfileIsPrivateByDefaultWithEverySection() async throws {
        try await APIRouterTest.run { api in
            let settings = try await api.call(.get, "/api/v1/settings")
            #expect(settings.status == .ok, "\(settings)")
            #expect(
                settings.value("is_public", as: Bool.self) == false && settings.value("leaderboard_opt_in", as: Bool.self) == false, "\(settings)")
            #expect(settings.isNull("display_name") && settings.isNull("bio"), "\(settings)")
            #expect(settings.value("profile_sections", as: [String].self) == Self.sections, "\(settings)")
            // A change elsewhere leaves the defaults as they are.
            let zoned = try await api.call(.patch, "/api/v1/settings", #"{"timezone": "Europe/Berlin"}"#)
            #expect(zoned.value("is_public", as: Bool.self) == false && zoned.value("profile_sections", as: [String].self) == Self.sections)
        }
    }

    @Test func eachProfileFieldChangesOnItsOwnAndIsShownBack() async throws {
        try await APIRouterTest.run { api in
            func patch(_ body: String, sourceLocation: SourceLocation = #_sourceLocation) async throws -> APIResponse {
                let response = try await api.call(.patch, "/api/v1/settings", body)
                #expect(response.status == .ok, "\(body) → \(response)", sourceLocation: sourceLocation)
                let read = try await api.call(.get, "/api/v1/settings")
                #expect(read.text == response.text, "GET shows what PATCH answered", sourceLocation: sourceLocation)
                return response
            }
            let published = try await patch(#"{"is_public": true}"#)
            #expect(published.value("is_public", as: Bool.self) == true && published.isNull("display_name") && published.isNull("bio"))
            #expect(
                published.value("leaderboard_opt_in", as: Bool.self) == false
                    && published.value("profile_sections", as: [String].self) == Self.sections)
            let named = try await patch(#"{"display_name": "  Mona Lisa Octocat\t "}"#)
            #expect(named.value("display_name", as: String.self) == "Mona Lisa Octocat", "trimmed: \(named)")
            #expect(named.value("is_public", as: Bool.self) == true, "untouched")
            let bio = "Builds things.\nBreaks things.\r\n\tFixes them."
            let described = try await patch(#"{"bio": "\n  Builds things.\nBreaks things.\r\n\tFixes them.  \n"}"#)
            #expect(described.value("bio", as: String.self) == bio, "line breaks and tabs inside are kept: \(described)")
            #expect(described.value("display_name", as: String.self) == "Mona Lisa Octocat")
            let listed = try await patch(#"{"leaderboard_opt_in": true}"#)
            #expect(listed.value("leaderboard_opt_in", as: Bool.self) == true && listed.value("bio", as: String.self) == bio)
            let some = try await patch(#"{"profile_sections": ["coding", "summary", "coding", "streak"]}"#)
            #expect(some.value("profile_sections", as: [String].self) == ["summary", "streak", "coding"], "in the catalogue's order, once: \(some)")
            let none = try await patch(#"{"profile_sections": []}"#)
            #expect(none.value("profile_sections", as: [String].self) == [], "every section hidden: \(none)")
            #expect(
                none.value("is_public", as: Bool.self) == true && none.value("leaderboard_opt_in", as: Bool.self) == true
                    && none.value("display_name", as: String.self) == "Mona Lisa Octocat" && none.value("bio", as: String.self) == bio,
                "\(none)")
            let all = try await patch(#"{"profile_sections": \#(Array(Self.sections.reversed()))}"#)
            #expect(all.value("profile_sections", as: [String].self) == Self.sections, "\(all)")

            // null and "" (also once trimmed) clear a text; the booleans go back.
            let nulled = try await patch(#"{"display_name": null}"#)
            #expect(nulled.isNull("display_name") && nulled.value("bio", as: String.self) == bio, "\(nulled)")
            _ = try await patch(#"{"display_name": "Mona"}"#)
            let emptied = try await patch(#"{"display_name": "", "bio": " \n\t "}"#)
            #expect(emptied.isNull("display_name") && emptied.isNull("bio"), "\(emptied)")
            _ = try await patch(#"{"bio": "again"}"#)
            let cleared = try await patch(#"{"bio": null, "is_public": false, "leaderboard_opt_in": false}"#)
            #expect(cleared.isNull("bio") && cleared.value("is_public", as: Bool.self) == false, "\(cleared)")
            #expect(cleared.value("leaderboard_opt_in", as: Bool.self) == false)
            let nothing = try await patch("{}")
            #expect(nothing.text == cleared.text, "an empty change changes nothing")

            // All at once, and the limits themselves: 100 bytes of display name, 500 of bio (in UTF-8).
            let longest = String(repeating: "é", count: 50)
            let bioLongest = String(repeating: "ab\n", count: 166) + "ab"
            #expect(longest.utf8.count == 100 && bioLongest.utf8.count == 500)
            let everything = try await patch(
                #"""
                {"is_public": true, "display_name": "\#(longest)", "bio": "\#(bioLongest.replacingOccurrences(of: "\n", with: "\\n"))",
                 "leaderboard_opt_in": true, "profile_sections": ["repositories"], "timezone": "Asia/Tokyo"}
                """#)
            #expect(everything.value("display_name", as: String.self) == longest && everything.value("bio", as: String.self) == bioLongest)
            #expect(
                everything.value("profile_sections", as: [String].self) == ["repositories"]
                    && everything.value("timezone", as: String.self) == "Asia/Tokyo")

            let other = try await api.newUser("other")
            let theirs = try await api.call(.get, "/api/v1/settings", token: other.token)
            #expect(
                theirs.value("is_public", as: Bool.self) == false && theirs.isNull("display_name"), "another user's profile is their own: \(theirs)")
        }
    }

    @Test func aRefusedProfileFieldIsNamedAndNothingOfTheChangeIsStored() async throws {
        try await APIRouterTest.run { api in
            let before = try await api.call(
                .patch, "/api/v1/settings", #"{"display_name": "Mona", "bio": "Hi", "profile_sections": ["summary", "coding"]}"#)
            #expect(before.status == .ok, "\(before)")
            let cases: [(body: String, code: String, field: String, detail: String)] = [
                (#"{"display_name": "\#(String(repeating: "a", count: 101))"}"#, "invalid_display_name", "display_name", "101 bytes"),
                (#"{"display_name": "\#(String(repeating: "€", count: 34))"}"#, "invalid_display_name", "display_name", "102 bytes"),
                (#"{"display_name": "Mona\u0007"}"#, "invalid_display_name", "display_name", "U+0007"),
                (#"{"display_name": "Mo\nna"}"#, "invalid_display_name", "display_name", "U+000A"),
                (#"{"display_name": "Mo\tna"}"#, "invalid_display_name", "display_name", "U+0009"),
                (#"{"display_name": "Mona\u0000Lisa"}"#, "invalid_display_name", "display_name", "U+0000"),
                (#"{"display_name": "Mona\u009b"}"#, "invalid_display_name", "display_name", "U+009B"),
                (#"{"bio": "\#(String(repeating: "b", count: 501))"}"#, "invalid_bio", "bio", "501 bytes"),
                (#"{"bio": "line\u001b[31m"}"#, "invalid_bio", "bio", "U+001B"),
                (#"{"bio": "a\u0000b"}"#, "invalid_bio", "bio", "U+0000"),
                (#"{"profile_sections": ["summary", "friends"]}"#, "invalid_profile_sections", "profile_sections", "friends"),
                (#"{"profile_sections": ["Summary"]}"#, "invalid_profile_sections", "profile_sections", "Summary"),
                (#"{"profile_sections": [""]}"#, "invalid_profile_sections", "profile_sections", "''"),
                // A valid change beside a refused profile field is not applied either.
                (
                    #"{"timezone": "Asia/Kolkata", "is_public": true, "display_name": "\#(String(repeating: "a", count: 101))"}"#,
                    "invalid_display_name", "display_name", ""
                ),
                (
                    #"{"discord_opt_outs": ["daily.summary"], "leaderboard_opt_in": true, "bio": "\u0007"}"#, "invalid_bio", "bio", ""
                ),
                (
                    #"{"is_public": true, "display_name": "Octo", "profile_sections": ["nope"]}"#, "invalid_profile_sections", "profile_sections",
                    "nope"
                ),
                (#"{"display_name": "Octo", "timezone": "Nope/Nope"}"#, "invalid_timezone", "timezone", ""),
                (#"{"bio": "new", "discord_opt_outs": ["nope"]}"#, "invalid_discord_opt_outs", "discord_opt_outs", "nope"),
            ]
            for (body, code, field, detail) in cases {
                let response = try await api.call(.patch, "/api/v1/settings", body)
                expectBadRequest(response, code, naming: field, body)
                if !detail.isEmpty { #expect(response.errorMessage?.contains(detail) == true, "\(body) → \(response)") }
            }
            for (body, field) in [
                (#"{"is_public": "yes"}"#, "is_public"), (#"{"is_public": 1}"#, "is_public"),
                (#"{"leaderboard_opt_in": "true"}"#, "leaderboard_opt_in"), (#"{"display_name": 5}"#, "display_name"),
                (#"{"display_name": ["Mona"]}"#, "display_name"), (#"{"bio": false}"#, "bio"), (#"{"bio": {"text": "x"}}"#, "bio"),
                (#"{"profile_sections": "summary"}"#, "profile_sections"), (#"{"profile_sections": [1]}"#, "profile_sections"),
                (#"{"profile_sections": [null]}"#, "profile_sections"), (#"{"profile_sections": {"summary": true}}"#, "profile_sections"),
            ] {
                expectBadRequest(try await api.call(.patch, "/api/v1/settings", body), "invalid_body", naming: field, body)
            }
            let after = try await api.call(.get, "/api/v1/settings")
            #expect(after.text == before.text, "nothing refused was stored: \(after)")
            #expect(after.value("timezone", as: String.self) == "UTC" && after.value("discord_opt_outs", as: [String].self) == [], "\(after)")
        }
    }
}
