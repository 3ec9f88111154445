/// What every card shares: the root element, its accessible title and description, the style element (font
/// stack and theme colours, never user input), the rounded frame, and text elements that fit their box.
struct SVGCard {
    /// The text roles of the style element; each is a CSS class.
    enum Role: String {
        case title, text, accent, muted
    }

    enum Anchor: String {
        case start, middle, end
    }

    static let fontStack = "'Segoe UI', Ubuntu, 'Helvetica Neue', Sans-Serif"

    let width: Double
    let height: Double
    let theme: CardTheme
    private var body: [String] = []

    init(width: Double, height: Double, theme: CardTheme) {
        self.width = width
        self.height = height
        self.theme = theme
    }

    /// Adds `raw` (user text allowed: it is cleaned, fitted into `maxWidth` and escaped here) at (`x`, `y`).
    /// Text wider than `maxWidth` shrinks down to `minFontSize` (default: no shrinking), then is truncated
    /// with "…". Empty text adds nothing.
    mutating func text(
        _ raw: String, x: Double, y: Double, role: Role, fontSize: Double, bold: Bool = false, anchor: Anchor = .start,
        maxWidth: Double, minFontSize: Double? = nil
    ) {
        let fitted = TextWidth.fitted(
            SVGText.clean(raw), maxWidth: maxWidth, fontSize: fontSize, minFontSize: minFontSize ?? fontSize, bold: bold)
        guard !fitted.text.isEmpty else { return }
        let weight = bold ? " font-weight=\"bold\"" : ""
        body.append(
            "<text x=\"\(SVGText.number(x))\" y=\"\(SVGText.number(y))\" class=\"\(role.rawValue)\" font-size=\"\(SVGText.number(fitted.fontSize))\""
                + "\(weight) text-anchor=\"\(anchor.rawValue)\">\(SVGText.escape(fitted.text))</text>")
    }

    /// Adds markup built from constants and numbers only (shapes, paths): never pass user text here.
    mutating func shape(_ markup: String) {
        body.append(markup)
    }

    /// The finished SVG. `title` and `description` may hold user text (they are escaped); the title is cut as
    /// if it were shown across the card, so that a long name cannot bloat the image.
    func document(title: String, description: String, hideBorder: Bool) -> String {
        let colors = theme.colors
        let shownTitle = TextWidth.truncated(SVGText.clean(title), maxWidth: width, fontSize: 18, bold: true)
        let (w, h) = (SVGText.number(width), SVGText.number(height))
        let style = [
            "text{font-family:\(Self.fontStack)}",
            ".title{fill:\(colors.title)}", ".text{fill:\(colors.text)}", ".accent{fill:\(colors.accent)}", ".muted{fill:\(colors.muted)}",
        ]
        let frame =
            "<rect x=\"0.5\" y=\"0.5\" rx=\"4.5\" width=\"\(SVGText.number(width - 1))\" height=\"\(SVGText.number(height - 1))\""
            + " fill=\"\(colors.background)\" stroke=\"\(colors.border)\" stroke-opacity=\"\(hideBorder ? 0 : 1)\"/>"
        let head = [
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(w)\" height=\"\(h)\" viewBox=\"0 0 \(w) \(h)\" role=\"img\""
                + " aria-labelledby=\"card-title card-desc\">",
            "<title id=\"card-title\">\(SVGText.escape(shownTitle))</title>",
            "<desc id=\"card-desc\">\(SVGText.escape(description))</desc>",
            "<style>\(style.joined())</style>",
            frame,
        ]
        return (head + body + ["</svg>"]).joined(separator: "\n")
    }
}
