import Foundation
import Testing

@testable import DevTrackCore

#if canImport(FoundationXML)
    import FoundationXML
#endif

struct StreakCardTests {
    @Test func datesShowTheYearOnlyOutsideTodaysYear() {
        #expect(StreakCard.dateText(day("2024-03-05"), today: today) == "Mar 5")
        #expect(StreakCard.dateText(day("2023-12-30"), today: today) == "Dec 30, 2023")
        #expect(StreakCard.rangeText(day("2023-12-30"), day("2024-01-02"), today: today) == "Dec 30, 2023 – Jan 2")
        #expect(StreakCard.rangeText(day("2024-05-10"), day("2024-05-10"), today: today) == "May 10")
        #expect(StreakCard.rangeText(day("2022-05-10"), day("2022-05-10"), today: today) == "May 10, 2022")
    }

    @Test func yesterdayKeepsTheCurrentStreakWithItsDates() {
        let model = streakModel(active: ["2024-05-01", "2024-05-07", "2024-05-08", "2024-05-09"], total: 4)
        #expect(model.streak.current == 3 && !model.streak.todayActive)
        #expect(StreakCard.currentRangeText(model) == "May 7 – May 9")
        let texts = ParsedSVG(StreakCard.render(model)).texts.map(\.content)
        #expect(texts.contains("3") && texts.contains("May 7 – May 9"))
        #expect(texts.contains("May 1 – Present"))
    }

    @Test func anActiveTodayEndsTheRangeToday() {
        let model = streakModel(active: ["2024-05-09", "2024-05-10"])
        #expect(StreakCard.currentRangeText(model) == "May 9 – May 10")
        #expect(StreakCard.longestRangeText(model) == "May 9 – May 10")
    }

    @Test func anExplicitCurrentEndWins() {
        // Yesterday frozen: the streak is alive, but its last active day is two days ago.
        let days = [day("2024-05-07"), day("2024-05-08")]
        var model = StreakCardModel(
            totalContributions: 2, firstContribution: days[0], streak: .compute(activeDays: days, frozenDays: [day("2024-05-09")], today: today),
            currentEnd: days[1], today: today)
        #expect(StreakCard.currentRangeText(model) == "May 7 – May 8")
        model.currentEnd = nil
        #expect(StreakCard.currentRangeText(model) == "May 7 – May 9")
    }

    @Test func aSingleDayStreakShowsOneDate() {
        let model = streakModel(active: ["2024-05-10"])
        #expect(StreakCard.currentRangeText(model) == "May 10")
        #expect(StreakCard.longestRangeText(model) == "May 10")
    }

    @Test func noActivityEverShowsZerosAndToday() {
        let model = streakModel(active: [], total: 0)
        #expect(model.streak == StreakSummary(current: 0, longest: 0, todayActive: false, currentStart: nil, longestStart: nil, longestEnd: nil))
        let svg = StreakCard.render(model)
        expectSafeSVG(svg)
        let texts = ParsedSVG(svg).texts.map(\.content)
        #expect(texts.filter { $0 == "0" }.count == 3)
        #expect(texts.contains("May 10"))
        #expect(!texts.contains { $0.contains("Present") })
        #expect(StreakCard.longestRangeText(model).isEmpty)
    }

    @Test func aBrokenStreakShowsTodayAndKeepsTheLongest() {
        let model = streakModel(active: ["2023-04-01", "2023-04-02", "2024-05-01"], total: 3)
        #expect(StreakCard.currentRangeText(model) == "May 10")
        #expect(StreakCard.longestRangeText(model) == "Apr 1, 2023 – Apr 2, 2023")
        #expect(StreakCard.totalRangeText(model) == "Apr 1, 2023 – Present")
    }

    @Test func theTitleIsTheAccessibleName() {
        #expect(ParsedSVG(StreakCard.render(streakModel(active: []))).title == "DevTrack contribution streak")
        #expect(ParsedSVG(StreakCard.render(streakModel(active: [], title: "Ada's streak"))).title == "Ada's streak")
    }
}

struct StatsCardTests {
    @Test func rowsShowTheirValuesInOrder() {
        let model = StatsCardModel(
            displayName: "Ada", commits: 1_234_567, pullRequests: 12, pullRequestsMerged: 10, reviews: 3, issues: 0, codingSeconds: 445_500)
        let texts = ParsedSVG(StatsCard.render(model)).texts.map(\.content)
        #expect(
            texts == [
                "Ada's DevTrack Stats", "Commits", "1,234,567", "Pull requests", "12", "PRs merged", "10", "Reviews", "3", "Issues", "0",
                "Coding time", "123 h 45 m",
            ])
    }

    @Test func hiddenRowsAreLeftOutAndTheCardShrinks() {
        #expect(StatsCardRow.prsMerged.rawValue == "prs_merged")
        #expect(StatsCard.height(hiding: []) == 195)
        #expect(StatsCard.height(hiding: [.prs, .coding]) == 147)
        let svg = StatsCard.render(statsModel(), hide: [.prs, .coding])
        let parsed = ParsedSVG(svg)
        #expect(parsed.root["height"] == "147")
        #expect(!parsed.texts.contains { $0.content == "Pull requests" || $0.content == "Coding time" })
        #expect(parsed.texts.contains { $0.content == "PRs merged" })
        let empty = ParsedSVG(StatsCard.render(statsModel(), hide: Set(StatsCardRow.allCases)))
        #expect(empty.error == nil && empty.root["height"] == "51")
    }

    @Test func theCaptionSitsOnTheTitleLine() {
        let texts = ParsedSVG(StatsCard.render(statsModel(caption: "Last 30 days"))).texts
        #expect(texts.contains { $0.content == "Last 30 days" && $0.y == 35 })
    }

    @Test func aBlankNameGivesAPlainTitle() {
        #expect(ParsedSVG(StatsCard.render(statsModel(name: " "))).texts.first?.content == "DevTrack Stats")
        #expect(ParsedSVG(StatsCard.render(statsModel(name: "\u{0}"))).texts.first?.content == "DevTrack Stats")
    }
}

struct TopLanguagesCardTests {
    func rows(_ svg: String) -> [String] {
        Array(ParsedSVG(svg).texts.dropFirst().map(\.content))
    }

    @Test func largestFirstWithOneDecimalShares() {
        #expect(
            rows(TopLanguagesCard.render(sampleLanguages)) == [
                "Swift", "60.0%", "Go", "25.0%", "Brainfuck", "10.0%", "Rust", "5.0%",
            ])
    }

    @Test func countIsClampedAndSharesAreOfTheLanguagesShown() {
        let many = (1...12).map { (name: "L\($0)", amount: Double($0)) }
        #expect(rows(TopLanguagesCard.render(many, count: 50)).count == 20)
        #expect(rows(TopLanguagesCard.render(many)).count == 12)
        #expect(rows(TopLanguagesCard.render(many, count: 0)) == ["L12", "100.0%"])
        #expect(TopLanguagesCard.render(sampleLanguages).contains("height=\"172\""))
    }

    @Test func hiddenAndUnusableAmountsAreLeftOut() {
        let languages: [(name: String, amount: Double)] = [
            ("Swift", 3), ("Go", 1), ("NaN", .nan), ("Inf", .infinity), ("Negative", -1), ("Zero", 0),
        ]
        #expect(rows(TopLanguagesCard.render(languages, hide: ["go"])) == ["Swift", "100.0%"])
        let huge: [(name: String, amount: Double)] = [("A", .greatestFiniteMagnitude), ("B", .greatestFiniteMagnitude)]
        #expect(rows(TopLanguagesCard.render(huge)) == ["A", "50.0%", "B", "50.0%"])
    }

    @Test func noAmountsShowTheEmptyState() {
        #expect(rows(TopLanguagesCard.render([("Swift", 0)])) == ["No languages yet"])
        #expect(!TopLanguagesCard.render([]).contains("<rect x=\"25\""))
    }

    @Test func coloursAreLinguistsOrDerivedFromTheName() {
        #expect(LanguageColors.color(for: "Swift") == "#f05138")
        #expect(LanguageColors.color(for: "swift") == "#f05138")
        // Pinned: the fallback must be the same on every server and run, unlike Swift's seeded hashValue.
        #expect(LanguageColors.color(for: "Brainfuck") == "#63d147")
        #expect(LanguageColors.color(for: "BRAINFUCK") == "#63d147")
        for name in ["Nim", "Crystal", "OCaml", "", "世界"] {
            let color = LanguageColors.color(for: name)
            #expect(color.count == 7 && Int(color.dropFirst(), radix: 16) != nil, "\(name): \(color)")
        }
        #expect(TopLanguagesCard.render(sampleLanguages).contains("fill=\"#63d147\""))
    }
}

struct BadgeTests {
    func width(_ svg: String) -> Double { ParsedSVG(svg).width }

    @Test func coloursAreNamedOrValidatedHex() {
        #expect(Badge.resolvedColor("brightgreen") == "#44cc11")
        #expect(Badge.resolvedColor("RED") == "#e05d44")
        #expect(Badge.resolvedColor("lightgrey") == "#9f9f9f")
        #expect(Badge.resolvedColor("#abc") == "#aabbcc")
        #expect(Badge.resolvedColor("ABCDEF") == "#abcdef")
        for hostile in ["red;stroke:url(javascript:alert(1))", "#12345", "#ggg", "", "\"/><script>", "１２３"] {
            #expect(Badge.resolvedColor(hostile) == "#007ec6", "\(hostile)")
        }
        let svg = Badge.render(label: "a", message: "b", color: "red;stroke:url(javascript:alert(1))")
        expectSafeSVG(svg)
        #expect(!svg.contains("javascript") && svg.contains("fill=\"#007ec6\""))
    }

    @Test func widthsGrowWithTheText() {
        let short = width(Badge.render(label: "build", message: "ok", color: "green"))
        let long = width(Badge.render(label: "build", message: "passing with flying colours", color: "green"))
        #expect(short < long)
        #expect(width(Badge.render(label: "", message: "ok", color: "green")) < short)
        // About shields' 88 px "build | passing".
        #expect(abs(width(Badge.render(label: "build", message: "passing", color: "brightgreen")) - 88) <= 2)
        expectTextFits(Badge.render(label: "build", message: "passing with flying colours", color: "green"))
    }

    @Test func lightColoursGetDarkText() {
        #expect(Badge.render(label: "a", message: "b", color: "fff").contains("fill=\"#333333\">b</text>"))
        #expect(Badge.render(label: "a", message: "b", color: "blue").contains("fill=\"#ffffff\">b</text>"))
    }

    @Test func unavailableIsLightgreyAndTheSameForEveryReason() {
        let svg = Badge.renderUnavailable()
        expectSafeSVG(svg)
        #expect(ParsedSVG(svg).title == "DevTrack: not available")
        #expect(svg.contains("fill=\"#9f9f9f\""))
    }
}

struct UnavailableCardTests {
    @Test func oneNeutralImageClampedToSaneSizes() {
        let svg = UnavailableCard.render()
        expectSafeSVG(svg)
        #expect(ParsedSVG(svg).texts.map(\.content) == ["Profile not available"])
        #expect(svg == UnavailableCard.render(theme: .light, width: 495, height: 195))
        let tiny = ParsedSVG(UnavailableCard.render(width: -5, height: 0))
        #expect(tiny.root["width"] == "100" && tiny.root["height"] == "40")
        #expect(ParsedSVG(UnavailableCard.render(width: .max, height: .max)).root["width"] == "1000")
    }
}
