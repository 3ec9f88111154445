/// What the stats card counts, over whatever range the caller chose (`caption` names it, e.g. "Last 30 days").
public struct StatsCardModel: Sendable {
    public var displayName: String
    public var commits: Int
    public var pullRequests: Int
    public var pullRequestsMerged: Int
    public var reviews: Int
    public var issues: Int
    public var codingSeconds: Int
    public var caption: String?

    public init(
        displayName: String, commits: Int, pullRequests: Int, pullRequestsMerged: Int, reviews: Int, issues: Int, codingSeconds: Int,
        caption: String? = nil
    ) {
        self.displayName = displayName
        self.commits = commits
        self.pullRequests = pullRequests
        self.pullRequestsMerged = pullRequestsMerged
        self.reviews = reviews
        self.issues = issues
        self.codingSeconds = codingSeconds
        self.caption = caption
    }
}

/// The stats card's rows, in the order they are drawn; raw values are what a `?hide=` parameter names.
public enum StatsCardRow: String, CaseIterable, Sendable {
    case commits, prs
    case prsMerged = "prs_merged"
    case reviews, issues, coding

    var label: String {
        switch self {
        case .commits: "Commits"
        case .prs: "Pull requests"
        case .prsMerged: "PRs merged"
        case .reviews: "Reviews"
        case .issues: "Issues"
        case .coding: "Coding time"
        }
    }

    func value(in model: StatsCardModel) -> String {
        switch self {
        case .commits: CardNumberFormat.thousands(model.commits)
        case .prs: CardNumberFormat.thousands(model.pullRequests)
        case .prsMerged: CardNumberFormat.thousands(model.pullRequestsMerged)
        case .reviews: CardNumberFormat.thousands(model.reviews)
        case .issues: CardNumberFormat.thousands(model.issues)
        case .coding: CardNumberFormat.hoursAndMinutes(seconds: model.codingSeconds)
        }
    }
}

/// The stats card (495 wide, 195 high with all six rows, 24 px less per hidden row): "{name}'s DevTrack Stats"
/// with the caption at the title's right, then one row per counter, its label left and its value right.
public enum StatsCard {
    public static let width = 495.0

    public static func height(hiding hide: Set<StatsCardRow>) -> Double {
        titleHeight + rowHeight * Double(StatsCardRow.allCases.count - hide.count)
    }

    /// The display name is truncated so that the whole title fits; with an empty (or blank) name the title is
    /// "DevTrack Stats".
    public static func render(
        _ model: StatsCardModel, theme: CardTheme = .default, hideBorder: Bool = false, hide: Set<StatsCardRow> = []
    ) -> String {
        var card = SVGCard(width: width, height: height(hiding: hide), theme: theme)
        let right = width - padding
        var titleRoom = right - padding

        let caption = TextWidth.truncated(SVGText.clean(model.caption ?? ""), maxWidth: captionWidth, fontSize: 12)
        if !caption.isEmpty { titleRoom -= TextWidth.estimate(caption, fontSize: 12) + 12 }
        let title = titleText(SVGText.clean(model.displayName), maxWidth: titleRoom)
        card.text(title, x: padding, y: 35, role: .title, fontSize: 18, bold: true, maxWidth: titleRoom)
        card.text(caption, x: right, y: 35, role: .muted, fontSize: 12, anchor: .end, maxWidth: captionWidth)

        var lines = [caption.isEmpty ? title : "\(title), \(caption)"]
        let rows = StatsCardRow.allCases.filter { !hide.contains($0) }
        for (index, row) in rows.enumerated() {
            let y = titleHeight + 11 + rowHeight * Double(index)
            let value = row.value(in: model)
            card.text(row.label, x: padding, y: y, role: .text, fontSize: 14, maxWidth: labelWidth)
            card.text(value, x: right, y: y, role: .text, fontSize: 14, bold: true, anchor: .end, maxWidth: valueWidth, minFontSize: 8)
            lines.append("\(row.label): \(value)")
        }
        return card.document(title: title, description: lines.joined(separator: ". ") + ".", hideBorder: hideBorder)
    }

    private static let padding = 25.0
    private static let titleHeight = 51.0
    private static let rowHeight = 24.0
    /// The caption's most, so that the name keeps room in the title line.
    private static let captionWidth = 120.0
    /// From the labels' room plus a gap to the right edge: Int.max fits at 14 px.
    private static let valueWidth = width - 2 * padding - labelWidth - 10
    /// Room for the widest label ("Pull requests", about 100 px at 14 px).
    private static let labelWidth = 120.0

    /// "{name}'s DevTrack Stats" within `maxWidth` (bold 18 px), the name cut first.
    private static func titleText(_ name: String, maxWidth: Double) -> String {
        let suffix = "'s DevTrack Stats"
        guard !name.allSatisfy(\.isWhitespace) else { return "DevTrack Stats" }
        let room = maxWidth - TextWidth.estimate(suffix, fontSize: 18, bold: true)
        return TextWidth.truncated(name, maxWidth: room, fontSize: 18, bold: true) + suffix
    }
}
