import DevTrackCore
import Foundation
import Testing

/// Discord and users' endpoints control the waits they ask for. Whatever they send — NaN, infinities, 1e300,
/// negative or huge numbers, garbage — the wait read from it is finite and within 0...3600 s, so it can never
/// trap in `Int(seconds * 1000)` or `Date().addingTimeInterval(_:)`.
struct HostilePeerAnswerTests {
    static let hostile = [
        "nan", "NaN", "-nan", "inf", "-inf", "infinity", "-Infinity", "1e300", "-1e300", "1e309", "-5", "-0", "0",
        "99999999999999999999999999999999", "-99999999999999999999999999999999", "9223372036854775807",
        "0x1p1023", "abc", "", " ", "1.5.5", "5s", "Wed, 21 Oct 2015 07:28:00 GMT", " 7 ", "\u{0}",
        String(repeating: "9", count: 5_000),
    ]

    func isSafe(_ seconds: Double) -> Bool { seconds.isFinite && PeerSeconds.range.contains(seconds) }

    @Test func headerValuesAreFiniteAndInRange() {
        for text in Self.hostile {
            if let seconds = PeerSeconds.parse(text) { #expect(isSafe(seconds), "\(text.debugDescription) → \(seconds)") }
            #expect((0...3_600_000).contains(PeerSeconds.milliseconds(PeerSeconds.parse(text) ?? 1)))
        }
        #expect(PeerSeconds.parse("nan") == nil && PeerSeconds.parse("inf") == nil && PeerSeconds.parse("-inf") == nil)
        #expect(PeerSeconds.parse("1e300") == 3_600 && PeerSeconds.parse("-5") == 0 && PeerSeconds.parse(" 7 ") == 7)
        #expect(PeerSeconds.milliseconds(.nan) == 0 && PeerSeconds.milliseconds(.infinity) == 0 && PeerSeconds.milliseconds(1e300) == 3_600_000)
    }

    @Test func discordWaitsAreFiniteAndInRange() {
        for text in Self.hostile {
            for headers in [[("Retry-After", text)], [("retry-after", text), ("X-RateLimit-Global", "true")]] {
                guard case .rateLimited(let seconds, _) = DiscordAnswer.classify(status: 429, headers: headers, body: []) else {
                    Issue.record("429 is rate limited"); continue
                }
                #expect(isSafe(seconds), "Retry-After \(text.debugDescription) → \(seconds)")
            }
            let bucket = [("X-RateLimit-Remaining", "0"), ("X-RateLimit-Reset-After", text)]
            guard case .delivered(let pause?) = DiscordAnswer.classify(status: 200, headers: bucket, body: []) else {
                Issue.record("an empty bucket pauses"); continue
            }
            #expect(isSafe(pause), "X-RateLimit-Reset-After \(text.debugDescription) → \(pause)")
        }
        #expect(
            DiscordAnswer.classify(status: 429, headers: [("Retry-After", "nan")], body: []) == .rateLimited(seconds: 1, global: false),
            "NaN falls back to the default wait")
    }

    @Test func discordBodyWaitsAreFiniteAndInRange() {
        let bodies = [
            #"{"retry_after": 1e300}"#, #"{"retry_after": -1e300}"#, #"{"retry_after": 1e309}"#, #"{"retry_after": -5}"#,
            #"{"retry_after": 99999999999999999999999999999999999999}"#, #"{"retry_after": "nan"}"#, #"{"retry_after": "inf"}"#,
            #"{"retry_after": "12"}"#, #"{"retry_after": null}"#, #"{"retry_after": true}"#, #"{"retry_after": [1]}"#,
            #"{"retry_after": {"a": 1}}"#, "not json", "", "[1e999]",
        ]
        for body in bodies {
            for headers in [[], [("Retry-After", "nan")], [("Retry-After", "-inf")]] {
                guard case .rateLimited(let seconds, _) = DiscordAnswer.classify(status: 429, headers: headers, body: Array(body.utf8)) else {
                    Issue.record("429 is rate limited"); continue
                }
                #expect(isSafe(seconds), "\(body) → \(seconds)")
            }
        }
        #expect(
            DiscordAnswer.classify(status: 429, headers: [], body: Array(#"{"retry_after": -5}"#.utf8)) == .rateLimited(seconds: 0, global: false))
        #expect(
            DiscordAnswer.classify(status: 429, headers: [], body: Array(#"{"retry_after": "12"}"#.utf8)) == .rateLimited(seconds: 12, global: false))
    }

    @Test func webhookWaitsAreFiniteAndInRange() {
        for text in Self.hostile {
            guard case .rateLimited(let seconds) = WebhookAnswer.classify(status: 429, headers: [("Retry-After", text)]) else {
                Issue.record("429 is rate limited"); continue
            }
            #expect(isSafe(seconds), "Retry-After \(text.debugDescription) → \(seconds)")
        }
        #expect(WebhookAnswer.classify(status: 429, headers: [("Retry-After", "inf")]) == .rateLimited(seconds: 60), "the default wait")
        #expect(WebhookAnswer.classify(status: 429, headers: [("Retry-After", "1e300")]) == .rateLimited(seconds: 3_600))
        #expect(WebhookAnswer.classify(status: 429, headers: [("Retry-After", "-5")]) == .rateLimited(seconds: 0))
    }

    @Test func clampingNeverPassesNaNThrough() {
        for value in [Double.nan, -.nan, .infinity, -.infinity, .signalingNaN, .greatestFiniteMagnitude, -.greatestFiniteMagnitude] {
            if let seconds = PeerSeconds.clamped(value) { #expect(isSafe(seconds)) }
            #expect(PeerSeconds.value(NSNumber(value: value)).map(isSafe) ?? true)
        }
    }
}
