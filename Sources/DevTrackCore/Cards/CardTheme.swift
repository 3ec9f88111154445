/// The cards' colour schemes, after github-readme-stats' themes of the same names. Raw values are what a
/// `?theme=` parameter names. Colours are constants (never user input), so they may go into the style
/// element. Title, text, accent and muted each have at least 4.5:1 contrast with their background (WCAG AA
/// for normal text), which is why `light` uses darker blue and orange than github-readme-stats.
public enum CardTheme: String, CaseIterable, Sendable {
    case light, dark, radical, tokyonight, gruvbox, highcontrast

    public static let `default` = CardTheme.light

    public var colors: CardColors {
        switch self {
        case .light:
            CardColors(background: "#fffefe", border: "#e4e2e2", title: "#0969da", text: "#434d58", accent: "#bc4c00", muted: "#57606a")
        case .dark:
            CardColors(background: "#151515", border: "#30363d", title: "#fefefe", text: "#c9d1d9", accent: "#fb8c00", muted: "#9e9e9e")
        case .radical:
            CardColors(background: "#141321", border: "#3c3a5c", title: "#fe428e", text: "#a9fef7", accent: "#f8d847", muted: "#b4b2d6")
        case .tokyonight:
            CardColors(background: "#1a1b27", border: "#414868", title: "#70a5fd", text: "#38bdae", accent: "#bf91f3", muted: "#a9b1d6")
        case .gruvbox:
            CardColors(background: "#282828", border: "#504945", title: "#fabd2f", text: "#8ec07c", accent: "#fe8019", muted: "#a89984")
        case .highcontrast:
            CardColors(background: "#000000", border: "#ffffff", title: "#e7f216", text: "#ffffff", accent: "#00ffff", muted: "#e0e0e0")
        }
    }
}

/// One theme's colours, as `#rrggbb`. `accent` is the streak ring, its flame and the current streak's label;
/// `muted` is dates, captions and percentages.
public struct CardColors: Sendable, Equatable {
    public let background: String
    public let border: String
    public let title: String
    public let text: String
    public let accent: String
    public let muted: String
}
