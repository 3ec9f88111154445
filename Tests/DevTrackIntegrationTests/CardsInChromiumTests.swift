import DevTrackCore
import DevTrackLocalCluster
import DevTrackTestSupport
import Foundation
import Testing

/// Every README card and badge, rendered by DevTrackCore and opened in headless Chromium by
/// scripts/check-svg-in-chromium: each must be a well-formed SVG that draws, fetches nothing, runs nothing, and keeps
/// its texts inside the image and clear of each other in the fonts a real browser uses. The screenshots go to
/// .build/test-artifacts/cards/ for a person to look at. Without Chromium the test fails: the test command installs it.
@Suite(.timeLimit(.minutes(3)))
struct CardsInChromiumTests {
    static let today = LocalDate(year: 2025, month: 6, day: 15)!
    static func day(_ text: String) -> LocalDate { LocalDate(text)! }

    static let hostile = "<script>alert(1)</script>&'\"\u{0}\u{1}\u{7}\u{8}\u{B}\u{C}\u{1B}\u{7F}\u{85}\u{9F}\u{FFFE}\u{FFFF}\t\n\r"
    /// The widest capitals beyond ASCII (0.94 to 1.09 em in the fonts Chromium falls back to here).
    static let wideLetters = "ŒUVRE ÆTHELWYNN ŴÆŒ ЮЛИЯ ЩЕРБАКОВА-ЖУКОВСКАЯ ШЮЖЩ "
    /// The widest date range there is, a longest streak in past years: shrunk to fit, never cut.
    static let widestRange = "May 28, 2023 – May 31, 2024"

    /// The streak cards: a realistic streak (the longest across a new year), a longest streak in past years, no
    /// activity at all, and the widest texts.
    static func streakCards(_ theme: CardTheme) -> [String: String] {
        let realistic = StreakCardModel(
            totalContributions: 2_748, firstContribution: day("2021-03-02"),
            streak: StreakSummary(
                current: 12, longest: 47, todayActive: true, currentStart: day("2025-06-04"), longestStart: day("2024-12-02"),
                longestEnd: day("2025-01-17")),
            today: today)
        let pastYears = StreakCardModel(
            totalContributions: 412, firstContribution: day("2023-05-28"),
            streak: StreakSummary(
                current: 0, longest: 370, todayActive: false, currentStart: nil, longestStart: day("2023-05-28"),
                longestEnd: day("2024-05-31")),
            today: today)
        let none = StreakCardModel(
            totalContributions: 0, firstContribution: nil,
            streak: StreakSummary(current: 0, longest: 0, todayActive: false, currentStart: nil, longestStart: nil, longestEnd: nil),
            today: today)
        let widest = StreakCardModel(
            totalContributions: Int.max, firstContribution: day("2000-09-28"),
            streak: StreakSummary(
                current: Int.max, longest: Int.max, todayActive: false, currentStart: day("2000-09-28"), longestStart: day("2000-09-28"),
                longestEnd: day("2024-12-31")),
            currentEnd: day("2024-12-31"), today: today, title: hostile)
        return [
            "streak": StreakCard.render(realistic, theme: theme), "streak-none": StreakCard.render(none, theme: theme),
            "streak-past-years": StreakCard.render(pastYears, theme: theme),
            "streak-widest": StreakCard.render(widest, theme: theme, hideBorder: true),
        ]
    }

    /// The stats cards: realistic numbers; the longest values (Int.max counters, a 255-character name, every row);
    /// some rows hidden; every row hidden; a hostile name; a name of wide capitals.
    static func statsCards(_ theme: CardTheme) -> [String: String] {
        let realistic = StatsCardModel(
            displayName: "Mona Lisa Octocat", commits: 1_284, pullRequests: 96, pullRequestsMerged: 81, reviews: 143, issues: 37,
            codingSeconds: 412_380, caption: "Last 30 days")
        let longName = String(String(repeating: "Wilhelmina Ægidius-Łukasiewicz MMXXV ", count: 7).prefix(255))
        let longest = StatsCardModel(
            displayName: longName, commits: Int.max, pullRequests: Int.max, pullRequestsMerged: Int.max, reviews: Int.max, issues: Int.max,
            codingSeconds: Int.max, caption: "Since the very first day of everything")
        var hostileModel = realistic
        hostileModel.displayName = hostile
        hostileModel.caption = hostile
        return [
            "stats": StatsCard.render(realistic, theme: theme), "stats-longest": StatsCard.render(longest, theme: theme),
            "stats-hidden-rows": StatsCard.render(realistic, theme: theme, hide: [.prsMerged, .reviews, .coding]),
            "stats-all-rows-hidden": StatsCard.render(longest, theme: theme, hideBorder: true, hide: Set(StatsCardRow.allCases)),
            "stats-hostile": StatsCard.render(hostileModel, theme: theme),
            "stats-wide-letters": StatsCard.render(
                StatsCardModel(
                    displayName: String(repeating: wideLetters, count: 5), commits: 5, pullRequests: 4, pullRequestsMerged: 3, reviews: 2,
                    issues: 1, codingSeconds: 59, caption: wideLetters),
                theme: theme),
        ]
    }

    /// The top languages cards: six languages; ten with 100-character names (one tiny share); none; a hostile name;
    /// names of wide capitals.
    static func languageCards(_ theme: CardTheme) -> [String: String] {
        let six: [(name: String, amount: Double)] = [
            ("Swift", 45_210), ("TypeScript", 20_400), ("Python", 9_020), ("Shell", 3_100), ("Dockerfile", 840), ("HTML", 120),
        ]
        let ten: [(name: String, amount: Double)] = (0..<10).map { index in
            let name = "\(index) Wide Language Name With Many Words " + String(repeating: "MW", count: 50)
            return (String(name.prefix(100)), index == 9 ? 0.001 : Double(10 - index) * 1_000)
        }
        return [
            "languages": TopLanguagesCard.render(six, theme: theme),
            "languages-ten-long": TopLanguagesCard.render(ten, count: 10, theme: theme),
            "languages-none": TopLanguagesCard.render([], theme: theme),
            "languages-hostile": TopLanguagesCard.render([(hostile, 3), ("Swift", 1)], theme: theme, hideBorder: true),
            "languages-wide-letters": TopLanguagesCard.render(
                [(wideLetters + wideLetters, 5), ("ЩШЖЮ", 3), ("ŴŴŴŴŴŴŴŴŴŴŴŴŴŴŴŴŴŴ", 2)], theme: theme),
        ]
    }

    /// Flat badges: short messages and 300 px long ones, named, hex, light and dark colours; the unavailable badge.
    static let badges: [String: String] = {
        let long = String(repeating: "a very long badge message ", count: 20)
        var badges = [
            "badge-unavailable": Badge.renderUnavailable(), "badge-hostile": Badge.render(label: hostile, message: hostile, color: hostile),
            "badge-message-only": Badge.render(label: "", message: "42 day streak", color: "orange"),
            "badge-long-red": Badge.render(label: long, message: long, color: "red"),
            "badge-long-yellow": Badge.render(label: "coding time", message: String(repeating: "W", count: 80), color: "yellow"),
            "badge-wide-letters": Badge.render(label: "ЖЩЮ", message: wideLetters, color: "green"),
        ]
        let short = [
            ("brightgreen", "commits", "1,284"), ("blue", "coding", "41 h 3 m"), ("#8a2be2", "streak", "12 days"), ("lightgrey", "PRs", "96"),
        ]
        for (color, label, message) in short {
            badges["badge-short-\(color.replacingOccurrences(of: "#", with: ""))"] = Badge.render(label: label, message: message, color: color)
        }
        return badges
    }()

    static func allCards() -> [String: String] {
        var cards = badges
        for theme in CardTheme.allCases {
            let themed = streakCards(theme).merging(statsCards(theme)) { a, _ in a }.merging(languageCards(theme)) { a, _ in a }
                .merging([
                    "unavailable": UnavailableCard.render(theme: theme),
                    "unavailable-small": UnavailableCard.render(theme: theme, width: 100, height: 40),
                ]) { a, _ in a }
            for (name, svg) in themed { cards["\(theme.rawValue)-\(name)"] = svg }
        }
        return cards
    }

    @Test func everyCardDrawsInChromiumAndItsTextFits() async throws {
        let cards = Self.allCards()
        #expect(cards["light-streak-past-years"]?.contains(Self.widestRange) == true, "the longest streak's dates, whole")
        // Controls XML allows but Chromium draws as boxes (DEL, C1) are gone with those it forbids.
        func isControl(_ scalar: Unicode.Scalar) -> Bool {
            (scalar.value < 0x20 && ![0x09, 0x0A, 0x0D].contains(scalar.value)) || (0x7F...0x9F).contains(scalar.value)
                || scalar.value == 0xFFFE || scalar.value == 0xFFFF
        }
        let controls = cards.filter { $0.value.unicodeScalars.contains(where: isControl) }
        #expect(controls.isEmpty, "control characters in \(controls.keys.sorted())")
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        for (name, svg) in cards { try Data(svg.utf8).write(to: directory.appendingPathComponent("\(name).svg")) }

        let (status, output) = await Self.check(directory)
        let copied = try Self.keepScreenshots(from: directory)
        try #require(status != 2, "Chromium cannot start (scripts/install-deps installs chromium, chromium-driver and selenium):\n\(output)")
        #expect(status == 0, "a card failed in Chromium (screenshots in \(Self.artifacts.path)):\n\(output)")
        let lines = output.split(separator: "\n")
        #expect(lines.count == cards.count + 1, "one line per card and a summary:\n\(output)")
        #expect(lines.last?.hasPrefix("\(cards.count) files, \(cards.count) ok, 0 failed") == true, "\(output)")
        #expect(copied == cards.count, "a screenshot per card:\n\(output)")
    }

    /// The check is no rubber stamp: it fails, with the right reason, on images that are broken in each way it looks for.
    @Test func theCheckFailsOnBrokenImages() async throws {
        let good = StatsCard.render(
            StatsCardModel(
                displayName: "Mona", commits: 1, pullRequests: 2, pullRequestsMerged: 3, reviews: 4, issues: 5, codingSeconds: 6_000))
        func adding(_ markup: String) -> String { good.replacingOccurrences(of: "</svg>", with: markup + "</svg>") }
        let broken = [
            "good": good,
            "malformed": adding("<text x=\"30\" y=\"100\">a & b</text>"),
            "script": adding("<script>alert(1)</script>"),
            "overflow": good.replacingOccurrences(of: "width=\"495\"", with: "width=\"300\"")
                .replacingOccurrences(of: "viewBox=\"0 0 495 ", with: "viewBox=\"0 0 300 "),
            "overlap": adding("<text x=\"40\" y=\"62\" font-size=\"14\">Over the label</text>"),
            "remote": adding("<image href=\"https://example.invalid/pixel.png\" width=\"1\" height=\"1\"/>"),
            "squeezed": adding("<text x=\"200\" y=\"100\" font-size=\"11\" textLength=\"40\">Much wider than forty</text>"),
            "blank": "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"495\" height=\"195\" viewBox=\"0 0 495 195\"></svg>",
        ]
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        for (name, svg) in broken { try Data(svg.utf8).write(to: directory.appendingPathComponent("\(name).svg")) }

        let (status, output) = await Self.check(directory)
        #expect(status == 1, "\(output)")
        var lines: [String: String] = [:]
        for line in output.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            lines[String(line[..<colon])] = String(line[line.index(after: colon)...])
        }
        let expected = [
            "malformed": "parsererror", "script": "a script ran", "overflow": "outside the viewBox", "overlap": "overlap by",
            "remote": "requested https://example.invalid/pixel.png", "squeezed": "squeezed to", "blank": "colour(s) inside its frame: nothing drawn",
        ]
        #expect(lines["good"] == " ok", "\(output)")
        for (name, problem) in expected {
            #expect(lines[name]?.contains(problem) == true, "\(name) should fail with “\(problem)”:\n\(output)")
        }
    }

    // MARK: Helpers

    static let artifacts = URL(fileURLWithPath: RepositoryPaths.root).appendingPathComponent(".build/test-artifacts/cards")

    static func temporaryDirectory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("devtrack-cards-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    /// Replaces .build/test-artifacts/cards/ with this run's screenshots (and the SVGs they are of): how many PNGs.
    static func keepScreenshots(from directory: URL) throws -> Int {
        let files = FileManager.default
        try? files.removeItem(at: artifacts)
        try files.createDirectory(at: artifacts, withIntermediateDirectories: true)
        var screenshots = 0
        for name in try files.contentsOfDirectory(atPath: directory.path) where name.hasSuffix(".png") || name.hasSuffix(".svg") {
            try files.copyItem(at: directory.appendingPathComponent(name), to: artifacts.appendingPathComponent(name))
            if name.hasSuffix(".png") { screenshots += 1 }
        }
        return screenshots
    }

    /// Runs scripts/check-svg-in-chromium on `directory`: its exit status and output.
    static func check(_ directory: URL) async -> (status: Int32, output: String) {
        let script = URL(fileURLWithPath: RepositoryPaths.root).appendingPathComponent("scripts/check-svg-in-chromium")
        let outcome = await ChildProcess.run(script.path, [directory.path])
        return (outcome.status, outcome.output)
    }
}
