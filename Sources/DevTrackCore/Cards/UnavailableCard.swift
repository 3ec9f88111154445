/// What a card URL shows for a profile that is private, unknown or otherwise not shown: one neutral image that
/// is the same whatever the reason, so that it cannot tell a private profile from a missing one.
public enum UnavailableCard {
    /// `width` and `height` (as the card it stands in for) are clamped to 100…1000 and 40…1000.
    public static func render(theme: CardTheme = .default, width: Int = 495, height: Int = 195, hideBorder: Bool = false) -> String {
        let (w, h) = (Double(min(max(width, 100), 1000)), Double(min(max(height, 40), 1000)))
        var card = SVGCard(width: w, height: h, theme: theme)
        card.text(message, x: w / 2, y: h / 2 + 5, role: .muted, fontSize: 16, bold: true, anchor: .middle, maxWidth: w - 20, minFontSize: 10)
        return card.document(title: message, description: "This DevTrack profile is not available.", hideBorder: hideBorder)
    }

    private static let message = "Profile not available"
}
