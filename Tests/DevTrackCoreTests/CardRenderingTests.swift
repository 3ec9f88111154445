import Foundation
import Testing

@testable import DevTrackCore

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// One rendered SVG as an XML parser reads it: whether it parsed, the root's attributes, the style element's
/// text and every text element, so that tests check what a browser would get rather than the markup's spelling.
private final class ParsedSVG: NSObject, XMLParserDelegate {
    struct TextElement {
        var attributes: [String: String]
        var content = ""

        var x: Double { Double(attributes["x"] ?? "") ?? .nan }
        var y: Double { Double(attributes["y"] ?? "") ?? .nan }

        /// Left and right edges, from the same estimate the cards are laid out with.
        var extent: ClosedRange<Double> {
            let width = TextWidth.estimate(
                content, fontSize: Double(attributes["font-size"] ?? "") ?? .nan, bold: attributes["font-weight"] == "bold")
            switch attributes["text-anchor"] {
            case "middle": return (x - width / 2)...(x + width / 2)
            case "end": return (x - width)...x
            default: return x...(x + width)
            }
        }
    }

    private(set) var error: Error?
    private(set) var root: [String: String] = [:]
    private(set) var elements: [String] = []
    private(set) var style = ""
    private(set) var title = ""
    private(set) var texts: [TextElement] = []
    private var open: [String] = []

    init(_ svg: String) {
        super.init()
        let parser = XMLParser(data: Data(svg.utf8))
        parser.delegate = self
        if !parser.parse() && error == nil { error = parser.parserError ?? CocoaError(.coderReadCorrupt) }
    }

    var width: Double { Double(root["width"] ?? "") ?? .nan }

    func parser(
        _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]
    ) {
        if elements.isEmpty { root = attributes }
        elements.append(name)
        open.append(name)
        if name == "text" { texts.append(TextElement(attributes: attributes)) }
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        open.removeLast()
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        switch open.last {
        case "text": texts[texts.count - 1].content += string
        case "style": style += string
        case "title": title += string
        default: break
        }
    }

    func parser(_ parser: XMLParser, parseErrorOccurred parseError: Error) {
        error = parseError
    }
}

/// Well-formed, self-contained and accessible: what GitHub's image proxy and any browser need.
private func expectSafeSVG(_ svg: String, sourceLocation: SourceLocation = #_sourceLocation) {
    let parsed = ParsedSVG(svg)
    #expect(parsed.error == nil, "\(String(describing: parsed.error)) in \(svg)", sourceLocation: sourceLocation)
    #expect(parsed.elements.first == "svg", sourceLocation: sourceLocation)
    #expect(parsed.root["xmlns"] == "http://www.w3.org/2000/svg", sourceLocation: sourceLocation)
    #expect(parsed.root["role"] == "img", sourceLocation: sourceLocation)
    #expect(parsed.root["viewBox"] == "0 0 \(parsed.root["width"] ?? "?") \(parsed.root["height"] ?? "?")", sourceLocation: sourceLocation)
    #expect(parsed.root["aria-labelledby"]?.isEmpty == false, sourceLocation: sourceLocation)
    #expect(!parsed.title.isEmpty, sourceLocation: sourceLocation)
    #expect(parsed.elements.contains("style"), sourceLocation: sourceLocation)
    #expect(!parsed.elements.contains("script") && !parsed.elements.contains("image"), sourceLocation: sourceLocation)
    let lower = svg.lowercased()
    #expect(!lower.contains("<script") && !lower.contains("href") && !lower.contains("@import"), sourceLocation: sourceLocation)
    #expect(lower.components(separatedBy: "http").count == 2, "only the xmlns is a URL", sourceLocation: sourceLocation)
    #expect(lower.components(separatedBy: "url(").count == lower.components(separatedBy: "url(#").count, sourceLocation: sourceLocation)
}

/// Every text element inside the image, and no two on one baseline overlapping.
private func expectTextFits(_ svg: String, sourceLocation: SourceLocation = #_sourceLocation) {
    let parsed = ParsedSVG(svg)
    #expect(parsed.error == nil, sourceLocation: sourceLocation)
    for text in parsed.texts {
        #expect(text.extent.lowerBound >= 0 && text.extent.upperBound <= parsed.width, "\(text)", sourceLocation: sourceLocation)
    }
    for line in Dictionary(grouping: parsed.texts, by: \.y).values {
        let extents = line.map(\.extent).sorted { $0.lowerBound < $1.lowerBound }
        for (left, right) in zip(extents, extents.dropFirst()) {
            #expect(left.upperBound <= right.lowerBound, "\(line)", sourceLocation: sourceLocation)
        }
    }
}

private let today = LocalDate("2024-05-10")!

private func day(_ text: String) -> LocalDate { LocalDate(text)! }

private func streakModel(active: [String], first: String? = nil, total: Int = 10, title: String? = nil) -> StreakCardModel {
    let days = active.map(day)
    return StreakCardModel(
        totalContributions: total, firstContribution: first.map(day) ?? days.min(), streak: .compute(activeDays: days, today: today),
        today: today, title: title)
}

private func statsModel(name: String = "Ada", value: Int = 1234, caption: String? = "Last 30 days") -> StatsCardModel {
    StatsCardModel(
        displayName: name, commits: value, pullRequests: value, pullRequestsMerged: value, reviews: value, issues: value, codingSeconds: value,
        caption: caption)
}

private let sampleLanguages: [(name: String, amount: Double)] = [("Swift", 600), ("Go", 250), ("Brainfuck", 100), ("Rust", 50)]

/// One of each card and badge, for the checks that hold for all of them.
private func everyCard(theme: CardTheme) -> [String] {
    [
        StreakCard.render(streakModel(active: ["2024-05-08", "2024-05-09", "2024-05-10"], first: "2020-01-01"), theme: theme),
        StreakCard.render(streakModel(active: [], total: 0), theme: theme, hideBorder: true),
        StatsCard.render(statsModel(), theme: theme),
        StatsCard.render(statsModel(caption: nil), theme: theme, hideBorder: true, hide: [.reviews, .coding]),
        TopLanguagesCard.render(sampleLanguages, theme: theme),
        TopLanguagesCard.render([], theme: theme),
        UnavailableCard.render(theme: theme),
        Badge.render(label: "streak", message: "12 days", color: "orange"),
        Badge.renderUnavailable(),
    ]
}

struct CardSafetyTests {
    @Test(arguments: CardTheme.allCases)
    func everyCardIsWellFormedSelfContainedXML(theme: CardTheme) {
        for svg in everyCard(theme: theme) {
            expectSafeSVG(svg)
            expectTextFits(svg)
        }
    }

    @Test func escapingCoversTheFiveMarkupCharactersAndDropsWhatXMLForbids() {
        #expect(SVGText.escape("<a href=\"x\">&'") == "&lt;a href=&quot;x&quot;&gt;&amp;&#39;")
        #expect(SVGText.escape("a\u{0}b\u{1}c\u{1F}d\u{FFFE}e\u{FFFF}f") == "abcdef")
        #expect(SVGText.escape("tab\tline\ncr\r") == "tab\tline\ncr\r")
        #expect(SVGText.escape("Grüße, 世界 👩‍💻") == "Grüße, 世界 👩‍💻")
    }

    @Test func hostileNamesStayTextInEveryCard() {
        let script = "<script>alert(\"x\")&'</script>"
        let escaped = "&lt;script&gt;alert(&quot;x&quot;)&amp;&#39;&lt;/script&gt;"
        let stats = StatsCard.render(statsModel(name: script, caption: script))
        let streak = StreakCard.render(streakModel(active: ["2024-05-10"], title: script))
        let badge = Badge.render(label: script, message: script, color: script)
        let languages = TopLanguagesCard.render([("<s>\"&'", 1), ("}</style><style>*{fill:red}", 1)])
        for svg in [stats, streak, badge, languages] {
            expectSafeSVG(svg)
            let style = ParsedSVG(svg).style
            #expect(!style.contains("script") && !style.contains("red"))
        }
        #expect(streak.contains(escaped) && badge.contains(escaped))
        // The name is cut to fit the title, the caption to its 120 px.
        #expect(stats.contains("&lt;script&gt;alert(&quot;"))
        #expect(ParsedSVG(stats).texts.allSatisfy { $0.content.hasPrefix("<script>") || !$0.content.contains("<") })
        #expect(ParsedSVG(streak).title == script)
        #expect(ParsedSVG(badge).title == "\(script): \(script)")
        #expect(languages.contains("&lt;s&gt;&quot;&amp;&#39;"))
        #expect(ParsedSVG(languages).texts.map(\.content).contains("<s>\"&'"))
    }

    @Test func forbiddenCharactersInNamesAreDropped() {
        let svg = StatsCard.render(statsModel(name: "a\u{0}b\u{1}c\u{FFFE}d"))
        expectSafeSVG(svg)
        #expect(ParsedSVG(svg).texts.map(\.content).contains("abcd's DevTrack Stats"))
        expectSafeSVG(TopLanguagesCard.render([("\u{0}\u{1}", 1)]))
        let badge = Badge.render(label: "a\u{0}", message: "\u{FFFF}b", color: "\u{0}")
        expectSafeSVG(badge)
        #expect(ParsedSVG(badge).title == "a: b")
    }

    @Test func styleHoldsOnlyTheFontStackAndTheThemeColours() {
        let colors = CardTheme.radical.colors
        let style = ParsedSVG(StatsCard.render(statsModel(name: "x}{"), theme: .radical)).style
        #expect(style.contains("font-family:'Segoe UI', Ubuntu, 'Helvetica Neue', Sans-Serif"))
        #expect(style.contains(".title{fill:\(colors.title)}") && style.contains(".muted{fill:\(colors.muted)}"))
        #expect(!style.contains("x}{"))
    }
}

struct CardThemeTests {
    /// WCAG relative luminance of `#rrggbb`.
    func luminance(_ hex: String) -> Double {
        let value = Int(hex.dropFirst(), radix: 16)!
        let channels = [value >> 16, (value >> 8) & 0xFF, value & 0xFF].map { Double($0) / 255 }
        let linear = channels.map { $0 <= 0.039_28 ? $0 / 12.92 : pow(($0 + 0.055) / 1.055, 2.4) }
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    }

    @Test(arguments: CardTheme.allCases)
    func textColoursReadOnTheBackground(theme: CardTheme) {
        let colors = theme.colors
        let all = [colors.background, colors.border, colors.title, colors.text, colors.accent, colors.muted]
        #expect(all.allSatisfy { $0.count == 7 && $0.hasPrefix("#") && Int($0.dropFirst(), radix: 16) != nil })
        let background = luminance(colors.background)
        for color in [colors.title, colors.text, colors.accent, colors.muted] {
            let (high, low) = (max(background, luminance(color)), min(background, luminance(color)))
            #expect((high + 0.05) / (low + 0.05) >= 4.5, "\(theme) \(color)")
        }
    }

    @Test func lightIsTheDefaultAndThemesAreNamedForQueryParameters() {
        #expect(CardTheme.default == .light)
        #expect(CardTheme(rawValue: "tokyonight") == .tokyonight)
        #expect(CardTheme(rawValue: "highcontrast") == .highcontrast)
        #expect(CardTheme.allCases.count == 6)
    }

    @Test func hideBorderMakesTheFrameTransparent() {
        #expect(StatsCard.render(statsModel()).contains("stroke-opacity=\"1\""))
        #expect(StatsCard.render(statsModel(), hideBorder: true).contains("stroke-opacity=\"0\""))
    }
}

struct CardTextFittingTests {
    @Test func numbersHaveHandWrittenThousandsSeparators() {
        #expect(CardNumberFormat.thousands(0) == "0")
        #expect(CardNumberFormat.thousands(999) == "999")
        #expect(CardNumberFormat.thousands(1000) == "1,000")
        #expect(CardNumberFormat.thousands(1_234_567) == "1,234,567")
        #expect(CardNumberFormat.thousands(-1234) == "-1,234")
        #expect(CardNumberFormat.thousands(.max) == "9,223,372,036,854,775,807")
        #expect(CardNumberFormat.thousands(.min) == "-9,223,372,036,854,775,808")
    }

    @Test func durationsAreHoursAndMinutes() {
        #expect(CardNumberFormat.hoursAndMinutes(seconds: 0) == "0 m")
        #expect(CardNumberFormat.hoursAndMinutes(seconds: 59) == "0 m")
        #expect(CardNumberFormat.hoursAndMinutes(seconds: 45 * 60) == "45 m")
        #expect(CardNumberFormat.hoursAndMinutes(seconds: 3600) == "1 h 0 m")
        #expect(CardNumberFormat.hoursAndMinutes(seconds: 123 * 3600 + 45 * 60 + 59) == "123 h 45 m")
        #expect(CardNumberFormat.hoursAndMinutes(seconds: 1234 * 3600) == "1,234 h 0 m")
        #expect(CardNumberFormat.hoursAndMinutes(seconds: -5) == "0 m")
        #expect(CardNumberFormat.hoursAndMinutes(seconds: .max) == "2,562,047,788,015,215 h 30 m")
    }

    @Test func percentagesHaveOneDecimal() {
        #expect(CardNumberFormat.percent(0.1234) == "12.3%")
        #expect(CardNumberFormat.percent(0.99999) == "100.0%")
        #expect(CardNumberFormat.percent(0.0004) == "0.0%")
        #expect(CardNumberFormat.percent(2) == "100.0%")
        #expect(CardNumberFormat.percent(.nan) == "0.0%")
    }

    @Test func widthsAreAdditiveAndWiderForCJKAndEmoji() {
        let ascii = TextWidth.estimate("abc", fontSize: 10)
        #expect(abs(ascii - (TextWidth.estimate("ab", fontSize: 10) + TextWidth.estimate("c", fontSize: 10))) < 1e-9)
        #expect(TextWidth.estimate("abc", fontSize: 20) == 2 * ascii)
        #expect(TextWidth.estimate("abc", fontSize: 10, bold: true) > ascii)
        #expect(TextWidth.estimate("世界", fontSize: 10) == 20)
        #expect(TextWidth.estimate("👩‍💻", fontSize: 10) > TextWidth.estimate("世", fontSize: 10))
        #expect(TextWidth.estimate("W", fontSize: 10) > TextWidth.estimate("i", fontSize: 10))
    }

    @Test func truncationKeepsWholeCharactersAndFits() {
        #expect(TextWidth.truncated("short", maxWidth: 100, fontSize: 10) == "short")
        let family = String(repeating: "👨‍👩‍👧‍👦", count: 20)
        let cut = TextWidth.truncated(family, maxWidth: 60, fontSize: 10)
        #expect(cut.hasSuffix("…") && family.hasPrefix(cut.dropLast()))
        #expect(cut.dropLast().allSatisfy { $0 == "👨‍👩‍👧‍👦" })
        #expect(TextWidth.estimate(cut, fontSize: 10) <= 60)
        #expect(TextWidth.truncated("two words", maxWidth: 35, fontSize: 10) == "two…")
        #expect(TextWidth.truncated("anything", maxWidth: 5, fontSize: 10) == "")
    }

    @Test func longestValuesStayInsideEveryCard() {
        let longName = String(repeating: "W", count: 255)
        let cjkName = String(repeating: "漢", count: 50)
        let stats = [
            StatsCard.render(statsModel(name: longName, value: .max, caption: longName)),
            StatsCard.render(statsModel(name: cjkName, value: .max, caption: nil)),
        ]
        for svg in stats {
            expectTextFits(svg)
            let texts = ParsedSVG(svg).texts.map(\.content)
            #expect(texts.contains { $0.hasSuffix("…'s DevTrack Stats") })
            #expect(texts.contains("9,223,372,036,854,775,807"))
            #expect(texts.contains("2,562,047,788,015,215 h 30 m"))
        }

        let streak = StreakCardModel(
            totalContributions: .max, firstContribution: day("2001-01-01"),
            streak: StreakSummary(
                current: .max, longest: .max, todayActive: true, currentStart: day("2001-01-01"), longestStart: day("2001-01-01"),
                longestEnd: today),
            today: today, title: longName)
        let streakSVG = StreakCard.render(streak)
        expectSafeSVG(streakSVG)
        expectTextFits(streakSVG)
        // The side numbers shrink to fit whole; the ring's number is cut below its smallest size.
        #expect(ParsedSVG(streakSVG).texts.filter { $0.content == "9,223,372,036,854,775,807" }.count == 2)
        #expect(ParsedSVG(streakSVG).texts.contains { $0.content.hasPrefix("9,223") && $0.content.hasSuffix("…") })

        let languages = (0..<12).map { (name: String(repeating: "M", count: 99) + "\($0)", amount: Double($0 + 1)) }
        let languagesSVG = TopLanguagesCard.render(languages, count: 10)
        expectTextFits(languagesSVG)
        let names = ParsedSVG(languagesSVG).texts.dropFirst().map(\.content).filter { $0.hasPrefix("MM") }
        #expect(names.count == 10 && names.allSatisfy { $0.hasSuffix("…") })

        expectTextFits(Badge.render(label: longName, message: cjkName, color: "red"))
        for (width, height) in [(100, 40), (1, 1), (5000, 5000)] {
            expectTextFits(UnavailableCard.render(width: width, height: height))
        }
    }

    /// Each streak column's text stays in its third of the card.
    @Test func streakColumnsKeepTheirText() {
        let streak = StreakCardModel(
            totalContributions: 123_456_789, firstContribution: day("2019-12-31"),
            streak: StreakSummary(
                current: 12_345, longest: 99_999, todayActive: false, currentStart: day("1990-09-30"), longestStart: day("1980-12-31"),
                longestEnd: day("1999-11-30")),
            today: today)
        for text in ParsedSVG(StreakCard.render(streak)).texts {
            let column = (text.x / (StreakCard.width / 3)).rounded(.down) * StreakCard.width / 3
            #expect(text.extent.lowerBound >= column && text.extent.upperBound <= column + StreakCard.width / 3, "\(text)")
        }
    }
}

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
