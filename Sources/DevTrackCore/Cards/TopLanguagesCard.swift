/// The top languages card (300 wide, 24 px per language): "Most Used Languages", one bar stacked from the
/// languages' shares, then each language with its colour, name and percentage.
public enum TopLanguagesCard {
    public static let width = 300.0
    public static let defaultCount = 6
    public static let maxCount = 10

    /// Shows the `count` (1…10) largest `languages` by amount, ties by name; amounts that are not positive
    /// and finite, and names in `hide` (any case), are left out. Percentages are shares of the languages shown,
    /// as on github-readme-stats, so the bar is full. Without any amount: "No languages yet".
    public static func render(
        _ languages: [(name: String, amount: Double)], count: Int = defaultCount, theme: CardTheme = .default, hideBorder: Bool = false,
        hide: Set<String> = []
    ) -> String {
        let hidden = Set(hide.map { $0.lowercased() })
        let shown = languages.filter { $0.amount.isFinite && $0.amount > 0 && !hidden.contains($0.name.lowercased()) }
            .sorted { $0.amount == $1.amount ? $0.name < $1.name : $0.amount > $1.amount }
            .prefix(min(max(count, 1), maxCount))
        var card = SVGCard(width: width, height: shown.isEmpty ? 95 : firstRow - 6 + rowHeight * Double(shown.count), theme: theme)
        card.text("Most Used Languages", x: padding, y: 35, role: .title, fontSize: 18, bold: true, maxWidth: barWidth)
        guard let largest = shown.first?.amount else {
            card.text("No languages yet", x: padding, y: 70, role: .muted, fontSize: 14, maxWidth: barWidth)
            return card.document(title: "Most used languages", description: "No languages yet.", hideBorder: hideBorder)
        }

        // Scaled by the largest first, so that a sum of huge amounts cannot overflow to infinity.
        let scaled = shown.map { $0.amount / largest }
        let total = scaled.reduce(0, +)
        let shares = scaled.map { $0 / total }
        let colors = shown.map { LanguageColors.color(for: $0.name) }

        let left = SVGText.number(padding)
        var bar =
            "<clipPath id=\"language-bar\"><rect x=\"\(left)\" y=\"48\" width=\"\(SVGText.number(barWidth))\" height=\"8\" rx=\"4\"/></clipPath>"
            + "<g clip-path=\"url(#language-bar)\">"
        var barX = padding
        for (index, share) in shares.enumerated() {
            // The last segment ends at the bar's end, whatever the rounding before it.
            let segment = index == shares.count - 1 ? padding + barWidth - barX : barWidth * share
            bar += "<rect x=\"\(SVGText.number(barX))\" y=\"48\" width=\"\(SVGText.number(segment))\" height=\"8\" fill=\"\(colors[index])\"/>"
            barX += segment
        }
        card.shape(bar + "</g>")

        var lines: [String] = []
        for (index, language) in shown.enumerated() {
            let y = firstRow + rowHeight * Double(index)
            let name = TextWidth.truncated(SVGText.clean(language.name), maxWidth: nameWidth, fontSize: 14)
            let percent = CardNumberFormat.percent(shares[index])
            card.shape("<circle cx=\"30\" cy=\"\(SVGText.number(y - 5))\" r=\"5\" fill=\"\(colors[index])\"/>")
            card.text(name, x: nameX, y: y, role: .text, fontSize: 14, maxWidth: nameWidth)
            card.text(percent, x: padding + barWidth, y: y, role: .muted, fontSize: 13, anchor: .end, maxWidth: percentWidth)
            lines.append("\(name) \(percent)")
        }
        return card.document(title: "Most used languages", description: lines.joined(separator: ", ") + ".", hideBorder: hideBorder)
    }

    private static let padding = 25.0
    private static let barWidth = width - 2 * padding
    private static let firstRow = 82.0
    private static let rowHeight = 24.0
    private static let nameX = 44.0
    /// Room for "100.0%" at 13 px.
    private static let percentWidth = 52.0
    private static let nameWidth = padding + barWidth - percentWidth - 8 - nameX
}

/// Language colours: GitHub linguist's for well-known languages (by name, any case), and for the rest a colour
/// derived from the name, the same on every server and run.
enum LanguageColors {
    static func color(for name: String) -> String {
        let key = name.lowercased()
        return known[key] ?? derived(from: key)
    }

    /// A hue from the name's 32-bit FNV-1a hash (Swift's `hashValue` is seeded per process), at a saturation
    /// and lightness that read on light and dark themes alike.
    static func derived(from name: String) -> String {
        var hash: UInt32 = 2_166_136_261
        for byte in name.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        return hex(hue: Double(hash % 360), saturation: 0.6, lightness: 0.55)
    }

    private static func hex(hue: Double, saturation: Double, lightness: Double) -> String {
        let chroma = (1 - abs(2 * lightness - 1)) * saturation
        let second = chroma * (1 - abs((hue / 60).truncatingRemainder(dividingBy: 2) - 1))
        let (r, g, b): (Double, Double, Double) =
            switch Int(hue / 60) {
            case 0: (chroma, second, 0)
            case 1: (second, chroma, 0)
            case 2: (0, chroma, second)
            case 3: (0, second, chroma)
            case 4: (second, 0, chroma)
            default: (chroma, 0, second)
            }
        let base = lightness - chroma / 2
        let bytes = [r, g, b].map { String(Int(($0 + base) * 255 + 0.5), radix: 16) }
        return "#" + bytes.map { $0.count == 1 ? "0" + $0 : $0 }.joined()
    }

    private static let known: [String: String] = [
        "c": "#555555", "c#": "#178600", "c++": "#f34b7d", "css": "#663399", "dart": "#00b4ab", "dockerfile": "#384d54",
        "elixir": "#6e4a7e", "go": "#00add8", "haskell": "#5e5086", "html": "#e34c26", "java": "#b07219", "javascript": "#f1e05a",
        "jupyter notebook": "#da5b0b", "kotlin": "#a97bff", "lua": "#000080", "objective-c": "#438eff", "php": "#4f5d95",
        "python": "#3572a5", "r": "#198ce7", "ruby": "#701516", "rust": "#dea584", "scala": "#c22d40", "scss": "#c6538c",
        "shell": "#89e051", "swift": "#f05138", "typescript": "#3178c6", "vue": "#41b883", "zig": "#ec915c",
    ]
}
