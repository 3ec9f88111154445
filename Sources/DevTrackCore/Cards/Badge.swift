/// A shields.io "flat" badge: a grey label, then the message on its colour, 20 px high. Widths come from
/// `TextWidth`'s Verdana table at 11 px, as shields measures (approximate: each text also carries
/// `textLength`, so renderers squeeze or stretch it to the width it was given rather than overflow).
public enum Badge {
    public static let height = 20.0

    /// `color` is a name (brightgreen, green, yellowgreen, yellow, orange, red, blue, lightgrey, grey) or 3 or
    /// 6 hex digits with or without "#"; anything else is blue. An empty label gives a message-only badge.
    /// Label and message are each cut to 300 px.
    public static func render(label: String, message: String, color: String) -> String {
        let label = TextWidth.truncated(SVGText.clean(label), maxWidth: maxTextWidth, fontSize: fontSize)
        let message = TextWidth.truncated(SVGText.clean(message), maxWidth: maxTextWidth, fontSize: fontSize)
        let messageColor = resolvedColor(color)
        let labelWidth = label.isEmpty ? 0 : partWidth(label)
        let messageWidth = partWidth(message)
        let width = labelWidth + messageWidth
        let (w, lw, mw) = (SVGText.number(width), SVGText.number(labelWidth), SVGText.number(messageWidth))
        let accessible = SVGText.escape(label.isEmpty ? message : "\(label): \(message)")

        var parts = [
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(w)\" height=\"20\" viewBox=\"0 0 \(w) 20\" role=\"img\""
                + " aria-labelledby=\"badge-title\">",
            "<title id=\"badge-title\">\(accessible)</title>",
            "<style>text{font-family:Verdana,Geneva,'DejaVu Sans',sans-serif}</style>",
            "<linearGradient id=\"badge-shine\" x2=\"0\" y2=\"100%\"><stop offset=\"0\" stop-color=\"#bbb\" stop-opacity=\".1\"/>"
                + "<stop offset=\"1\" stop-opacity=\".1\"/></linearGradient>",
            "<clipPath id=\"badge-round\"><rect width=\"\(w)\" height=\"20\" rx=\"3\" fill=\"#fff\"/></clipPath>",
            "<g clip-path=\"url(#badge-round)\"><rect width=\"\(lw)\" height=\"20\" fill=\"\(labelColor)\"/>"
                + "<rect x=\"\(lw)\" width=\"\(mw)\" height=\"20\" fill=\"\(messageColor)\"/>"
                + "<rect width=\"\(w)\" height=\"20\" fill=\"url(#badge-shine)\"/></g>",
        ]
        if !label.isEmpty { parts.append(textPair(label, center: labelWidth / 2, background: labelColor)) }
        parts.append(textPair(message, center: labelWidth + messageWidth / 2, background: messageColor))
        parts.append("</svg>")
        return parts.joined(separator: "\n")
    }

    /// The badge for a profile that is private or does not exist: the same for both, so that it tells nothing.
    public static func renderUnavailable(label: String = "DevTrack") -> String {
        render(label: label, message: "not available", color: "lightgrey")
    }

    /// `color` as `#rrggbb` (or a named colour's hex), never the raw string: it goes into an attribute.
    static func resolvedColor(_ color: String) -> String {
        if let named = namedColors[color.lowercased()] { return named }
        let digits = color.hasPrefix("#") ? Substring(color.dropFirst()) : Substring(color)
        guard digits.count == 3 || digits.count == 6, digits.allSatisfy(\.isHexDigit), digits.allSatisfy(\.isASCII) else {
            return namedColors["blue"]!
        }
        let six = digits.count == 3 ? digits.map { "\($0)\($0)" }.joined() : String(digits)
        return "#" + six.lowercased()
    }

    private static let fontSize = 11.0
    private static let maxTextWidth = 300.0
    private static let labelColor = "#555555"
    private static let namedColors = [
        "brightgreen": "#44cc11", "green": "#97ca00", "yellowgreen": "#a4a61d", "yellow": "#dfb317", "orange": "#fe7d37",
        "red": "#e05d44", "blue": "#007ec6", "lightgrey": "#9f9f9f", "grey": "#555555",
    ]

    /// Text plus 5 px either side, in whole pixels.
    private static func partWidth(_ text: String) -> Double {
        (TextWidth.estimate(text, fontSize: fontSize) + 10).rounded(.up)
    }

    /// The text over a 1 px drop shadow, dark on light backgrounds as shields draws it (brightness above 0.69).
    private static func textPair(_ text: String, center: Double, background: String) -> String {
        let light = brightness(background) > 0.69
        let (fill, shadow) = light ? ("#333333", "#cccccc") : ("#ffffff", "#010101")
        let length = SVGText.number(TextWidth.estimate(text, fontSize: fontSize))
        let common = "x=\"\(SVGText.number(center))\" font-size=\"11\" text-anchor=\"middle\" textLength=\"\(length)\""
        let escaped = SVGText.escape(text)
        return "<text aria-hidden=\"true\" \(common) y=\"15\" fill=\"\(shadow)\" fill-opacity=\".3\">\(escaped)</text>"
            + "<text \(common) y=\"14\" fill=\"\(fill)\">\(escaped)</text>"
    }

    /// Perceived brightness (0…1) of a `#rrggbb` colour, YIQ weights as shields uses.
    private static func brightness(_ hex: String) -> Double {
        let value = Int(hex.dropFirst(), radix: 16) ?? 0
        let (r, g, b) = (Double(value >> 16), Double((value >> 8) & 0xFF), Double(value & 0xFF))
        return (r * 299 + g * 587 + b * 114) / 255_000
    }
}
