/// How wide text will render, estimated without a font engine: the cards are images, laid out before any
/// browser sees them. Widths are Verdana's advance widths (em) for printable ASCII — the table shields.io's
/// badges are measured with, here from Verdana's metrics and approximate to a few percent. Verdana is wider
/// than the cards' Segoe UI and Ubuntu, so a card sized with it leaves slack rather than overflowing. Bold
/// counts 12% wider (Verdana Bold's letters; its digits are barely wider).
public enum TextWidth {
    /// Estimated width in pixels of `text` at `fontSize` pixels.
    public static func estimate(_ text: some StringProtocol, fontSize: Double, bold: Bool = false) -> Double {
        var ems = 0.0
        for character in text { ems += self.ems(character) }
        return ems * fontSize * (bold ? boldFactor : 1)
    }

    /// `text` if it fits `maxWidth`, else its longest prefix (whole Characters, trailing spaces dropped) that
    /// fits with "…" after it; "" when not even "…" fits.
    public static func truncated(_ text: String, maxWidth: Double, fontSize: Double, bold: Bool = false) -> String {
        guard estimate(text, fontSize: fontSize, bold: bold) > maxWidth else { return text }
        let scale = fontSize * (bold ? boldFactor : 1)
        let room = maxWidth - ems(ellipsis) * scale
        guard room >= 0 else { return "" }
        var kept = ""
        var used = 0.0
        for character in text {
            used += ems(character) * scale
            if used > room { break }
            kept.append(character)
        }
        while kept.last?.isWhitespace == true { kept.removeLast() }
        return kept + String(ellipsis)
    }

    /// `text` at `fontSize` if it fits `maxWidth`; else at the smaller size that fits, but no smaller than
    /// `minFontSize`, truncated if it still does not fit there. Numbers shrink (a cut number misleads);
    /// names are better truncated, so they pass `minFontSize == fontSize`.
    static func fitted(_ text: String, maxWidth: Double, fontSize: Double, minFontSize: Double, bold: Bool) -> (text: String, fontSize: Double) {
        let width = estimate(text, fontSize: fontSize, bold: bold)
        guard width > maxWidth else { return (text, fontSize) }
        // Rounded down to a tenth: what the attribute says is what was measured.
        let size = max(minFontSize, (fontSize * maxWidth / width * 10).rounded(.down) / 10)
        return (truncated(text, maxWidth: maxWidth, fontSize: size, bold: bold), size)
    }

    private static let boldFactor = 1.12
    private static let ellipsis: Character = "…"

    private static func ems(_ character: Character) -> Double {
        let scalars = character.unicodeScalars
        let first = scalars.first!
        if scalars.count == 1, (0x20...0x7E).contains(first.value) { return ascii[Int(first.value) - 0x20] }
        if character == ellipsis { return 1 }
        // Colour emoji are a little wider than a square em; a ZWJ sequence is one Character, one glyph.
        if first.properties.isEmojiPresentation || scalars.contains("\u{FE0F}") { return 1.25 }
        if isWide(first) { return 1 }
        // Other scripts (accented Latin, Greek, Cyrillic, Arabic…): about Verdana's widest lowercase; capitals as
        // wide as a square em, since the widest (Æ, Œ, Ŵ, Ж, Щ, Ю) draw 0.94 to 1.09 em in Liberation Sans and
        // DejaVu Sans, what Chromium on Linux falls back to, and a name of them overflowed at 0.75.
        return first.properties.isUppercase ? 1 : 0.75
    }

    /// East Asian wide and fullwidth blocks: CJK ideographs, kana, Hangul, fullwidth forms. Their fonts draw
    /// them one em wide.
    private static func isWide(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xA000...0xA4CF,
            0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F, 0xFF00...0xFF60, 0xFFE0...0xFFE6, 0x20000...0x3FFFD:
            true
        default: false
        }
    }

    /// Verdana's advance widths in em for U+0020 (space) to U+007E (~), eight a line.
    private static let ascii: [Double] = [
        0.352, 0.394, 0.459, 0.818, 0.636, 1.076, 0.727, 0.269,  // space ! " # $ % & '
        0.454, 0.454, 0.636, 0.818, 0.364, 0.454, 0.364, 0.454,  // ( ) * + , - . /
        0.636, 0.636, 0.636, 0.636, 0.636, 0.636, 0.636, 0.636,  // 0-7
        0.636, 0.636, 0.454, 0.454, 0.818, 0.818, 0.818, 0.545,  // 8 9 : ; < = > ?
        1.000, 0.684, 0.686, 0.698, 0.771, 0.632, 0.575, 0.775,  // @ A-G
        0.751, 0.421, 0.455, 0.693, 0.557, 0.843, 0.748, 0.787,  // H-O
        0.603, 0.787, 0.695, 0.684, 0.616, 0.732, 0.684, 0.989,  // P-W
        0.685, 0.615, 0.685, 0.454, 0.454, 0.454, 0.818, 0.636,  // X Y Z [ \ ] ^ _
        0.636, 0.601, 0.623, 0.521, 0.623, 0.596, 0.352, 0.623,  // ` a-g
        0.633, 0.274, 0.344, 0.592, 0.274, 0.973, 0.633, 0.607,  // h-o
        0.623, 0.623, 0.427, 0.521, 0.394, 0.633, 0.592, 0.818,  // p-w
        0.592, 0.592, 0.525, 0.635, 0.454, 0.635, 0.818,  // x y z { | } ~
    ]
}
