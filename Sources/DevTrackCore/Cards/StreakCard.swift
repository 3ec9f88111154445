/// What the streak card shows. `streak` is `StreakSummary.compute`'s answer for `today` (the user's local
/// date). `currentEnd` is the current streak's last active day; nil means today when `streak.todayActive`, else
/// yesterday (the streak that yesterday keeps alive). `title` is the image's accessible name (not drawn, as
/// on github-readme-streak-stats); nil gives "DevTrack contribution streak".
public struct StreakCardModel: Sendable {
    public var totalContributions: Int
    public var firstContribution: LocalDate?
    public var streak: StreakSummary
    public var currentEnd: LocalDate?
    public var today: LocalDate
    public var title: String?

    public init(
        totalContributions: Int, firstContribution: LocalDate?, streak: StreakSummary, currentEnd: LocalDate? = nil, today: LocalDate,
        title: String? = nil
    ) {
        self.totalContributions = totalContributions
        self.firstContribution = firstContribution
        self.streak = streak
        self.currentEnd = currentEnd
        self.today = today
        self.title = title
    }
}

/// The streak card, after github-readme-streak-stats (495×195): total contributions, the current streak in a
/// ring, the longest streak, each with its dates.
///
/// Dates read "Mar 5" in today's year and "Mar 5, 2024" otherwise, each end of a range on its own
/// ("Dec 30, 2024 – Jan 2"); a range that starts and ends on the same day is that one date. Total: "first
/// contribution – Present", nothing without one. Current streak: "start – end" with end its last active day (see
/// `StreakCardModel.currentEnd`); with no current streak, today's date, as streak-stats shows. Longest streak:
/// "start – end", nothing when there is none.
public enum StreakCard {
    public static let width = 495.0
    public static let height = 195.0

    public static func render(_ model: StreakCardModel, theme: CardTheme = .default, hideBorder: Bool = false) -> String {
        var card = SVGCard(width: width, height: height, theme: theme)
        let colors = theme.colors
        let column = width / 3
        let box = column - 20
        // Dates shrink rather than lose their end: at 10 px the widest range ("May 28, 2023 – May 31, 2024") fits
        // the column less 5 px either side.
        let dateBox = column - 10
        let total = CardNumberFormat.thousands(model.totalContributions)
        let current = CardNumberFormat.thousands(model.streak.current)
        let longest = CardNumberFormat.thousands(model.streak.longest)
        let (totalRange, currentRange, longestRange) = (totalRangeText(model), currentRangeText(model), longestRangeText(model))

        for x in [column, 2 * column] {
            let at = SVGText.number(x)
            card.shape("<line x1=\"\(at)\" y1=\"28\" x2=\"\(at)\" y2=\"170\" stroke=\"\(colors.border)\" stroke-width=\"1\"/>")
        }
        func sideColumn(x: Double, value: String, label: String, range: String) {
            card.text(value, x: x, y: 79, role: .title, fontSize: 28, bold: true, anchor: .middle, maxWidth: box, minFontSize: 8)
            card.text(label, x: x, y: 115, role: .text, fontSize: 14, anchor: .middle, maxWidth: box)
            card.text(range, x: x, y: 140, role: .muted, fontSize: 12, anchor: .middle, maxWidth: dateBox, minFontSize: 10)
        }
        sideColumn(x: column / 2, value: total, label: "Total Contributions", range: totalRange)
        sideColumn(x: 2.5 * column, value: longest, label: "Longest Streak", range: longestRange)

        let center = 1.5 * column
        let cx = SVGText.number(center)
        card.shape(
            "<circle cx=\"\(cx)\" cy=\"71\" r=\"40\" fill=\"none\" stroke=\"\(colors.accent)\" stroke-width=\"5\"/>"
                // A gap in the ring's top for the flame.
                + "<circle cx=\"\(cx)\" cy=\"31\" r=\"13\" fill=\"\(colors.background)\"/>"
                + "<path d=\"M\(cx) 19c4.5 6 7.5 10 7.5 15a7.5 7.5 0 0 1-15 0c0-5 3-9 7.5-15z\" fill=\"\(colors.accent)\"/>")
        // The ring's inside is 75 px across.
        card.text(current, x: center, y: 83, role: .title, fontSize: 28, bold: true, anchor: .middle, maxWidth: 72, minFontSize: 10)
        card.text("Current Streak", x: center, y: 128, role: .accent, fontSize: 14, bold: true, anchor: .middle, maxWidth: box)
        card.text(currentRange, x: center, y: 150, role: .muted, fontSize: 12, anchor: .middle, maxWidth: dateBox, minFontSize: 10)

        let description = [
            "Total contributions: \(total)\(parenthesized(totalRange))",
            "Current streak: \(current)\(parenthesized(currentRange))",
            "Longest streak: \(longest)\(parenthesized(longestRange))",
        ]
        return card.document(
            title: model.title ?? "DevTrack contribution streak", description: description.joined(separator: ". ") + ".", hideBorder: hideBorder)
    }

    static func totalRangeText(_ model: StreakCardModel) -> String {
        guard let first = model.firstContribution else { return "" }
        return "\(dateText(first, today: model.today)) – Present"
    }

    static func currentRangeText(_ model: StreakCardModel) -> String {
        let streak = model.streak
        guard streak.current > 0 else { return dateText(model.today, today: model.today) }
        let end = model.currentEnd ?? model.today.adding(days: streak.todayActive ? 0 : -1)
        guard let start = streak.currentStart else { return dateText(end, today: model.today) }
        return rangeText(start, end, today: model.today)
    }

    static func longestRangeText(_ model: StreakCardModel) -> String {
        let streak = model.streak
        guard streak.longest > 0, let start = streak.longestStart, let end = streak.longestEnd else { return "" }
        return rangeText(start, end, today: model.today)
    }

    static func rangeText(_ start: LocalDate, _ end: LocalDate, today: LocalDate) -> String {
        start == end ? dateText(start, today: today) : "\(dateText(start, today: today)) – \(dateText(end, today: today))"
    }

    static func dateText(_ date: LocalDate, today: LocalDate) -> String {
        let (year, month, day) = date.components
        let short = "\(monthNames[month - 1]) \(day)"
        return year == today.components.year ? short : "\(short), \(year)"
    }

    private static let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    private static func parenthesized(_ text: String) -> String {
        text.isEmpty ? "" : " (\(text))"
    }
}
