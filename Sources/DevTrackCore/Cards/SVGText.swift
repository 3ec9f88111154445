/// Text and numbers as they go into the cards' SVG. Every string that comes from a user (names, logins,
/// languages, labels, messages) goes through `escape(_:)`, in text and in attributes alike.
public enum SVGText {
    /// `text` safe inside an XML text node or a quoted attribute: the five markup characters become
    /// references, and the characters XML 1.0 forbids (C0 controls other than tab, line feed and carriage
    /// return; U+FFFE, U+FFFF) are dropped, since a single one makes the whole image unparseable.
    public static func escape(_ text: some StringProtocol) -> String {
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            // Not `&apos;`: HTML 4 lacks it, and the SVG may be inlined into HTML.
            case "'": escaped += "&#39;"
            default: if isAllowedInXML(scalar) { escaped.unicodeScalars.append(scalar) }
            }
        }
        return escaped
    }

    /// `text` without the characters XML 1.0 forbids, nor DEL and the C1 controls (allowed but discouraged; Chromium
    /// draws them as boxes), unescaped: what the reader will see, so what widths are measured on.
    static func clean(_ text: some StringProtocol) -> String {
        var kept = String.UnicodeScalarView()
        for scalar in text.unicodeScalars where isAllowedInXML(scalar) && !(0x7F...0x9F).contains(scalar.value) { kept.append(scalar) }
        return String(kept)
    }

    static func isAllowedInXML(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09, 0x0A, 0x0D: true
        case 0x00..<0x20, 0xFFFE, 0xFFFF: false
        default: true
        }
    }

    /// A coordinate or size with at most two decimals and no trailing zeros ("12", "12.5"), the same whatever
    /// the locale. Non-finite values become "0" and the rest is clamped to ±1e9, so that nothing traps on the
    /// conversion to Int.
    static func number(_ value: Double) -> String {
        guard value.isFinite else { return "0" }
        let hundredths = Int((min(max(value, -1e9), 1e9) * 100).rounded())
        let sign = hundredths < 0 ? "-" : ""
        let whole = hundredths.magnitude / 100
        let fraction = hundredths.magnitude % 100
        if fraction == 0 { return "\(sign)\(whole)" }
        let decimals = fraction % 10 == 0 ? "\(fraction / 10)" : (fraction < 10 ? "0\(fraction)" : "\(fraction)")
        return "\(sign)\(whole).\(decimals)"
    }
}
