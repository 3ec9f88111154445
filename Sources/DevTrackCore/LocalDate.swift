import Foundation

/// A calendar date without a time or zone (`2024-03-10`), counted as days since 1970-01-01 so that day
/// arithmetic is plain integer arithmetic.
public struct LocalDate: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    public let daysSinceEpoch: Int

    public init(daysSinceEpoch: Int) {
        self.daysSinceEpoch = daysSinceEpoch
    }

    /// Proleptic Gregorian calendar; nil for impossible dates such as 2023-02-29.
    public init?(year: Int, month: Int, day: Int) {
        guard (1...12).contains(month), day >= 1, day <= LocalDate.daysIn(month: month, year: year) else { return nil }
        // Howard Hinnant's days_from_civil.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        self.daysSinceEpoch = era * 146_097 + doe - 719_468
    }

    /// Parses exactly `YYYY-MM-DD`, years 0001 to 9999 (PostgreSQL has no year 0: `0000-01-01` is refused).
    public init?(_ text: some StringProtocol) {
        // Read byte by byte: workers parse dates from every row they read, and splitting cost more.
        var fields = (year: 0, month: 0, day: 0)
        var index = 0
        for byte in text.utf8 {
            let digit = Int(byte) - 48
            switch index {
            case 4, 7: guard byte == UInt8(ascii: "-") else { return nil }
            case 0...9 where (0...9).contains(digit):
                if index < 4 {
                    fields.year = fields.year * 10 + digit
                } else if index < 7 {
                    fields.month = fields.month * 10 + digit
                } else {
                    fields.day = fields.day * 10 + digit
                }
            default: return nil
            }
            index += 1
        }
        guard index == 10, fields.year >= 1 else { return nil }
        self.init(year: fields.year, month: fields.month, day: fields.day)
    }

    /// The local date of `instant` in `timeZone` (its offset at that instant, so DST is respected).
    public init(_ instant: Date, in timeZone: TimeZone) {
        let seconds = Int(floor(instant.timeIntervalSince1970)) + timeZone.secondsFromGMT(for: instant)
        self.init(daysSinceEpoch: Int(floor(Double(seconds) / 86_400)))
    }

    public var components: (year: Int, month: Int, day: Int) {
        // Howard Hinnant's civil_from_days.
        let z = daysSinceEpoch + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    public var description: String {
        let (year, month, day) = components
        guard (0...9999).contains(year) else { return String(format: "%04d-%02d-%02d", year, month, day) }
        var text = PaddedDecimals(capacity: 10)
        text.append(year, width: 4, then: "-")
        text.append(month, width: 2, then: "-")
        text.append(day, width: 2)
        return text.string
    }

    /// The first instant of this date in `timeZone` (where a DST change skips midnight, the first time
    /// that exists).
    public func startOfDay(in timeZone: TimeZone) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let (year, month, day) = components
        return calendar.startOfDay(for: calendar.date(from: DateComponents(year: year, month: month, day: day, hour: 12))!)
    }

    public func adding(days: Int) -> LocalDate {
        LocalDate(daysSinceEpoch: daysSinceEpoch + days)
    }

    public static func < (lhs: LocalDate, rhs: LocalDate) -> Bool {
        lhs.daysSinceEpoch < rhs.daysSinceEpoch
    }

    public static func - (lhs: LocalDate, rhs: LocalDate) -> Int {
        lhs.daysSinceEpoch - rhs.daysSinceEpoch
    }

    public static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let date = LocalDate(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "expected YYYY-MM-DD, got \(text)"))
        }
        self = date
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// An inclusive range of local dates, as the metrics endpoints take it (`from`, `to`).
public struct DateRange: Sendable, Equatable {
    public let from: LocalDate
    public let to: LocalDate

    public enum Invalid: Error, Equatable, CustomStringConvertible {
        case reversed, tooLong(days: Int, maximum: Int)
        public var description: String {
            switch self {
            case .reversed: "'from' is after 'to'"
            case .tooLong(let days, let maximum): "range covers \(days) days; at most \(maximum) are allowed"
            }
        }
    }

    public init(from: LocalDate, to: LocalDate, maximumDays: Int = 366) throws(Invalid) {
        guard from <= to else { throw .reversed }
        let days = to - from + 1
        guard days <= maximumDays else { throw .tooLong(days: days, maximum: maximumDays) }
        self.from = from
        self.to = to
    }

    public var dayCount: Int { to - from + 1 }
    public var dates: [LocalDate] { (0..<dayCount).map { from.adding(days: $0) } }
}

/// IANA zone validation in one place, so the API and the CLI reject the same names.
public enum TimeZones {
    public static func named(_ identifier: String) -> TimeZone? {
        guard !identifier.isEmpty, let zone = TimeZone(identifier: identifier) else { return nil }
        return zone
    }

    /// A zone name that a user or API client sends, checked before it is stored: "UTC" or an IANA name that
    /// Foundation lists (`TimeZone.knownTimeZoneIdentifiers`) or that the system's tz database names (its
    /// `tzdata.zi`, which PostgreSQL reads too: Foundation's list leaves out links such as Asia/Kolkata and
    /// Etc/UTC). Offset spellings are refused even though
    /// Foundation's `TimeZone(identifier:)` takes them: PostgreSQL rejects `UTC+0530`, and reads POSIX-style
    /// `GMT+5` with the opposite sign (five hours west), so the same name would mean two different zones.
    public static func validatedInput(_ name: String) -> TimeZone? {
        guard !name.isEmpty, name.utf8.count <= 64, !looksLikeOffset(name) else { return nil }
        guard name == "UTC" || known.contains(name) || systemZones.contains(name) else { return nil }
        return TimeZone(identifier: name)
    }

    /// `GMT+…`, `UTC-…` (any case), or a sign followed by a digit anywhere (`Etc/GMT+5`, `+05:30`).
    static func looksLikeOffset(_ name: String) -> Bool {
        let upper = name.uppercased()
        if upper.hasPrefix("GMT+") || upper.hasPrefix("GMT-") || upper.hasPrefix("UTC+") || upper.hasPrefix("UTC-") { return true }
        let scalars = Array(name.unicodeScalars)
        for (index, scalar) in scalars.enumerated() where scalar == "+" || scalar == "-" {
            if index + 1 < scalars.count, ("0"..."9").contains(scalars[index + 1]) { return true }
        }
        return false
    }

    private static let known: Set<String> = Set(TimeZone.knownTimeZoneIdentifiers)

    /// Zone and link names in the system tz database (`$TZDIR` or /usr/share/zoneinfo), empty when it has none.
    private static let systemZones: Set<String> = {
        let directory = ProcessInfo.processInfo.environment["TZDIR"] ?? "/usr/share/zoneinfo"
        guard let text = try? String(contentsOfFile: "\(directory)/tzdata.zi", encoding: .utf8) else { return [] }
        var names = Set<String>()
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.first == "Z", fields.count > 1 { names.insert(String(fields[1])) }
            if fields.first == "L", fields.count > 2 { names.insert(String(fields[2])) }
        }
        return names
    }()
}

extension Duration {
    /// Whole milliseconds (latencies in API bodies and delivery records).
    public var wholeMilliseconds: Int {
        Int(components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000)
    }
}

/// Zero-padded decimal fields, as `String(format: "%04d-%02d…")` writes them but byte by byte: `String(format:)`
/// goes through CoreFoundation, which cost ingest 12 µs per delivery for one timestamp. Callers keep each value
/// within its width (a wider or negative one is written as its last `width` digits, never a crash).
struct PaddedDecimals {
    private var bytes: [UInt8] = []

    init(capacity: Int) { bytes.reserveCapacity(capacity) }

    mutating func append(_ value: Int, width: Int, then separator: Unicode.Scalar? = nil) {
        var rest = value.magnitude
        let end = bytes.count + width
        bytes.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: width))
        for index in stride(from: end - 1, through: end - width, by: -1) {
            bytes[index] = UInt8(ascii: "0") + UInt8(rest % 10)
            rest /= 10
        }
        if let separator { bytes.append(UInt8(ascii: separator)) }
    }

    var string: String { String(decoding: bytes, as: UTF8.self) }
}
