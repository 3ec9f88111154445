import DevTrackCore
import DevTrackTestSupport
import Foundation
import HTTPTypes
import Testing

/// `CardsController`: README cards, badges and shields.io endpoints of public profiles, without sign-in. Every query
/// parameter is checked before anything is read (400 naming it); what a profile does not show is an image that says
/// so, never an error a README would show broken.
@Suite(.timeLimit(.minutes(2)))
struct CardsRouterTests {
    static let svgType = "image/svg+xml; charset=utf-8"

    @Test func eachQueryParameterIsRefusedByNameWhenOutOfItsRange() async throws {
        try await APIRouterTest.run { api in
            try await PublicProfileRouterTests.publish(api)
            let base = "/api/v1/public/Codertocat"
            let cases: [(String, String)] = [
                ("/cards/streak.svg?theme=neon", "invalid_theme"), ("/cards/streak.svg?hide_border=yes", "invalid_hide_border"),
                ("/cards/stats.svg?range=2d", "invalid_range"), ("/cards/stats.svg?hide=commits,stars", "invalid_hide"),
                ("/cards/stats.svg?hide=" + Array(repeating: "commits", count: 21).joined(separator: ","), "invalid_hide"),
                ("/cards/languages.svg?count=0", "invalid_count"), ("/cards/languages.svg?count=x", "invalid_count"),
                ("/cards/languages.svg?by=stars", "invalid_by"), ("/badges/commits.svg?range=week", "invalid_range"),
                ("/badges/commits.svg?label=" + String(repeating: "l", count: 51), "invalid_label"),
                ("/badges/commits.svg?label=a%00b", "invalid_label"), ("/shields/commits.json?range=1y", "invalid_range"),
            ]
            for (path, code) in cases {
                expectError(try await api.open(base + path), .badRequest, code, path)
            }
            expectError(try await api.open(base + "/badges/stars.svg"), .notFound, "not_found", "an unknown metric")
            expectError(try await api.open(base + "/shields/commits.svg"), .notFound, "not_found", "a badge's suffix on a shields path")
        }
    }

    @Test func cardsAreSVGWithAStableETagAndA304() async throws {
        try await APIRouterTest.run { api in
            try await PublicProfileRouterTests.publish(api)
            try await PublicProfileRouterTests.facts(
                api, user: api.user.id, [("commit:1", .commit, 0, "octo/hub", "Swift", false), ("commit:2", .commit, 1, "octo/hub", "Swift", false)])
            for path in ["cards/streak.svg", "cards/stats.svg?theme=dark&hide_border=true", "cards/languages.svg?count=3", "badges/commits.svg"] {
                let card = try await api.open("/api/v1/public/Codertocat/\(path)")
                #expect(card.status == .ok && card.headers[.contentType] == Self.svgType, "\(path): \(card)")
                #expect(card.text.hasPrefix("<svg") && card.text.hasSuffix("</svg>"), "\(path)")
                let etag = try #require(card.headers[.eTag], "\(path)")
                #expect(card.headers[.cacheControl]?.contains("max-age=") == true, "\(path)")
                let again = try await api.open("/api/v1/public/Codertocat/\(path)", headers: [.ifNoneMatch: etag])
                #expect(again.status == .notModified && again.body.isEmpty, "\(path): \(again)")
            }
            let badge = try await api.open("/api/v1/public/Codertocat/badges/commits.svg?range=7d&label=my%20commits")
            #expect(badge.text.contains("my commits") && badge.text.contains(">2<"), "\(badge.text.prefix(400))")
            let shields = try await api.open("/api/v1/public/Codertocat/shields/commits.json?color=green")
            #expect(shields.status == .ok && shields.headers[.contentType]?.hasPrefix("application/json") == true)
            #expect(shields.value("schemaVersion", as: Int.self) == 1 && shields.value("message", as: String.self) == "2", "\(shields)")
            #expect(shields.value("color", as: String.self) == "green" && shields.value("label", as: String.self) == "commits", "\(shields)")
        }
    }

    @Test func aPrivateOrUnknownProfileIsAnImageThatSaysSoNotAnError() async throws {
        try await APIRouterTest.run { api in
            _ = try await api.newUser("shy")
            for login in ["shy", "nobody", "not%20a%20login"] {
                let card = try await api.open("/api/v1/public/\(login)/cards/stats.svg")
                #expect(card.status == .ok && card.headers[.contentType] == Self.svgType, "\(login): \(card)")
                #expect(card.headers[.cacheControl]?.contains("max-age=60") == true, "\(login): a short cache, so publishing shows soon")
                let shields = try await api.open("/api/v1/public/\(login)/shields/commits.json")
                #expect(shields.value("isError", as: Bool.self) == true && shields.value("message", as: String.self) == "not available", "\(login)")
            }
            // A profile that hides its summary shows the same on the badges of that section.
            try await PublicProfileRouterTests.publish(api, #""profile_sections": ["streak"]"#)
            let hidden = try await api.open("/api/v1/public/Codertocat/shields/commits.json")
            #expect(hidden.value("message", as: String.self) == "not available", "\(hidden)")
            let shown = try await api.open("/api/v1/public/Codertocat/shields/current_streak.json")
            #expect(shown.value("message", as: String.self) == "0 days", "\(shown)")
        }
    }
}
