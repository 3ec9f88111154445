/// Numbers as the cards print them. Written by hand rather than with Foundation's formatters, so that a
/// card reads the same whatever the server's locale ("1,234,567", never "1.234.567" or "1 234 567").
public enum CardNumberFormat {
    /// Thousands separated by commas: 1234567 → "1,234,567", -1234 → "-1,234"; Int.min and Int.max too.
    public static func thousands(_ value: Int) -> String {
        let digits = Array(String(value.magnitude))
        var text = value < 0 ? "-" : ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { text.append(",") }
            text.append(digit)
        }
        return text
    }

    /// Whole minutes of `seconds`: "45 m" under an hour, else "123 h 45 m" (hours with thousands separators,
    /// minutes unpadded, "0 m" kept so that every row reads alike). Negative durations count as zero.
    public static func hoursAndMinutes(seconds: Int) -> String {
        let minutes = max(0, seconds) / 60
        guard minutes >= 60 else { return "\(minutes) m" }
        return "\(thousands(minutes / 60)) h \(minutes % 60) m"
    }

    /// A share (0…1, clamped; non-finite counts as 0) as a percentage with one decimal: 0.1234 → "12.3%".
    public static func percent(_ share: Double) -> String {
        let tenths = share.isFinite ? Int((min(max(share, 0), 1) * 1000).rounded()) : 0
        return "\(tenths / 10).\(tenths % 10)%"
    }
}
