import Foundation

/// Checks for text that comes from outside and is stored: limits are in UTF-8 bytes (what PostgreSQL and
/// indexes count), and control characters are refused — PostgreSQL `text` cannot hold NUL at all, and the rest
/// have no business in names, ids or paths. Multi-line fields may keep tab, line feed and carriage return.
public enum InputText {
    /// What is wrong with `text` for a field of at most `maxBytes` bytes, or nil.
    public static func problem(_ text: some StringProtocol, maxBytes: Int, lineBreaks: Bool = false) -> String? {
        let bytes = text.utf8.count
        if bytes > maxBytes { return "is \(bytes) bytes long; at most \(maxBytes) bytes are accepted" }
        for scalar in text.unicodeScalars where isControl(scalar, lineBreaks: lineBreaks) {
            return "contains the control character U+\(hex4(scalar.value)), which is not accepted"
        }
        return nil
    }

    /// True when `text` passes `problem(_:maxBytes:lineBreaks:)`.
    public static func isAcceptable(_ text: some StringProtocol, maxBytes: Int, lineBreaks: Bool = false) -> Bool {
        problem(text, maxBytes: maxBytes, lineBreaks: lineBreaks) == nil
    }

    /// At most `maxBytes` bytes of `text`, cut on a character boundary, with "..." when it was cut.
    public static func truncated(_ text: String, maxBytes: Int) -> String {
        guard text.utf8.count > maxBytes else { return text }
        var cut = ""
        var size = 0
        for character in text {
            let length = character.utf8.count
            guard size + length <= max(0, maxBytes - 3) else { break }
            cut.append(character)
            size += length
        }
        return cut + "..."
    }

    /// `text` with control characters replaced by U+FFFD and cut to `maxBytes`: for recording what a sender
    /// sent (a log line, a delivery log's id) when it cannot be refused any more.
    public static func sanitized(_ text: String, maxBytes: Int) -> String {
        var clean = String.UnicodeScalarView()
        for scalar in text.unicodeScalars { clean.append(isControl(scalar, lineBreaks: false) ? "\u{FFFD}" : scalar) }
        return truncated(String(clean), maxBytes: maxBytes)
    }

    public static func isControl(_ scalar: Unicode.Scalar, lineBreaks: Bool) -> Bool {
        let value = scalar.value
        if lineBreaks && (value == 0x09 || value == 0x0A || value == 0x0D) { return false }
        return value < 0x20 || (0x7F...0x9F).contains(value)
    }

    private static func hex4(_ value: UInt32) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}

/// When activity from outside may have happened: from 1970 (GitHub and every sender post Unix-era times) to a
/// day after the hub's clock (a sender's clock or zone off by hours, never activity from the future).
public enum ActivityTimes {
    public static let earliest = Date(timeIntervalSince1970: 0)
    public static let futureSlack: TimeInterval = 86_400

    /// Why `date` cannot be an activity's time, or nil.
    public static func problem(_ date: Date, now: Date) -> String? {
        if date < earliest { return "is before 1970-01-01" }
        if date > now.addingTimeInterval(futureSlack) { return "is more than a day ahead of the hub's clock" }
        return nil
    }
}
