import Foundation
import Testing

@testable import DevTrackCore

#if canImport(FoundationXML)
    import FoundationXML
#endif

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
