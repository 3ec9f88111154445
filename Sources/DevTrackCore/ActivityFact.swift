import Foundation

/// The kinds of activity the hub counts: GitHub's (and the coding-day signal), and `custom:<type>` for
/// events from users' custom webhook sources. Raw values are the `kind` on `devtrack.activity`.
public struct ActivityKind: RawRepresentable, Codable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String

    public static let commit = ActivityKind(known: "commit")
    public static let prOpened = ActivityKind(known: "pr_opened")
    public static let prMerged = ActivityKind(known: "pr_merged")
    public static let review = ActivityKind(known: "review")
    public static let issueOpened = ActivityKind(known: "issue_opened")
    public static let issueClosed = ActivityKind(known: "issue_closed")
    public static let comment = ActivityKind(known: "comment")
    /// Not an event but a signal from the coding worker, sent after its transaction: "this user's coding
    /// time on this local day changed" (`id` is `coding_day:{date}`, `value` 1, `occurred_at` the day's
    /// local midnight).
    /// Goals and achievements re-read coding time from PostgreSQL on it; it is never stored as activity.
    public static let codingDay = ActivityKind(known: "coding_day")

    /// Every kind but the custom ones.
    public static let builtIn: [ActivityKind] = [.commit, .prOpened, .prMerged, .review, .issueOpened, .issueClosed, .comment, .codingDay]

    private init(known: String) { rawValue = known }

    /// A built-in kind, or `custom:<type>` with a valid type.
    public init?(rawValue: String) {
        if rawValue.hasPrefix("custom:") {
            guard CustomEventType.isValid(rawValue.dropFirst(7)) else { return nil }
        } else {
            guard Self.builtIn.contains(where: { $0.rawValue == rawValue }) else { return nil }
        }
        self.rawValue = rawValue
    }

    /// `custom:<type>`; nil when the type is not valid (`CustomEventType`).
    public static func custom(_ type: String) -> ActivityKind? {
        ActivityKind(rawValue: "custom:\(type)")
    }

    /// The type of a custom kind (`deploy` for `custom:deploy`); nil for the built-in ones.
    public var customType: String? {
        rawValue.hasPrefix("custom:") ? String(rawValue.dropFirst(7)) : nil
    }

    /// Kinds that make a local day "active" for streaks (GitHub's contributions).
    public var countsAsContribution: Bool {
        self == .commit || self == .prOpened || self == .review || self == .issueOpened
    }

    /// Kinds kept in `activities` (everything but the coding-day signal).
    public var isStoredActivity: Bool { self != .codingDay }

    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let kind = ActivityKind(rawValue: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "unknown activity kind '\(text)'"))
        }
        self = kind
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// What a custom event's `type` may be: 1–64 of lower-case letters, digits, `_`, `-` and `.`, starting with
/// a letter or digit (it becomes part of a kind, a goal unit and a URL-safe label).
public enum CustomEventType {
    public static func isValid(_ type: some StringProtocol) -> Bool {
        guard (1...64).contains(type.utf8.count), let first = type.utf8.first, isLowerAlphanumeric(first) else { return false }
        return type.utf8.allSatisfy { isLowerAlphanumeric($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") }
    }

    private static func isLowerAlphanumeric(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }
}

/// A normalized, user-resolved fact: the value of a `devtrack.activity` message. `id` is the natural id
/// derived from the source (`commit:{sha}`, `pr_opened:{id}`…), so duplicates collapse wherever they meet.
public struct ActivityFact: Codable, Sendable, Equatable {
    public var id: String
    public var userID: UUID
    public var kind: ActivityKind
    public var occurredAt: Date
    public var value: Double
    public var repo: String?
    public var language: String?
    public var source: String
    /// Whether `repo` is private, as the source said (nil: not said). Only repositories known to be public are
    /// ever named on a public profile or card.
    public var repoPrivate: Bool?
    /// What the activity feed shows: a one-line title and a link, where the source gave them (`FeedText`).
    public var title: String?
    public var url: String?

    enum CodingKeys: String, CodingKey {
        case id, kind, value, repo, language, source, title, url
        case userID = "user_id"
        case occurredAt = "occurred_at"
        case repoPrivate = "repo_private"
    }

    public init(
        id: String, userID: UUID, kind: ActivityKind, occurredAt: Date, value: Double = 1, repo: String?, language: String?, source: String,
        repoPrivate: Bool? = nil, title: String? = nil, url: String? = nil
    ) {
        self.id = id
        self.userID = userID
        self.kind = kind
        self.occurredAt = occurredAt
        self.value = value
        self.repo = repo
        self.language = language
        self.source = source
        self.repoPrivate = repoPrivate
        self.title = title
        self.url = url
    }
}

extension ActivityFact {
    /// The coding worker's signal that `userID`'s coding time on `day` (local in `zone`) changed.
    public static func codingDay(userID: UUID, day: LocalDate, zone: TimeZone) -> ActivityFact {
        ActivityFact(
            id: "coding_day:\(day)", userID: userID, kind: .codingDay, occurredAt: day.startOfDay(in: zone), value: 1,
            repo: nil, language: nil, source: "coding")
    }
}

/// JSON coding shared by every producer and consumer of facts: ISO-8601 instants with fractional
/// seconds when present.
public enum FactCoding {
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(Timestamps.format(date))
        }
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }

    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = Timestamps.parse(text) else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an ISO-8601 timestamp: \(text)"))
            }
            return date
        }
        return decoder
    }

    /// One fact from a message body: read by hand when it has a fact's flat shape (`FlatJSONObject`),
    /// else by `decoder` — which also gives the error for anything that is not a fact.
    public static func decodeFact(_ bytes: [UInt8], fallback decoder: JSONDecoder) throws -> ActivityFact {
        if let object = FlatJSONObject(bytes), let fact = ActivityFact(object) { return fact }
        return try decoder.decode(ActivityFact.self, from: Data(bytes))
    }
}

extension ActivityFact {
    /// The fact in `object`, nil when a member is missing or of another type (as `Decodable` would refuse).
    init?(_ object: FlatJSONObject) {
        guard case .string(let id)? = object["id"], case .string(let user)? = object["user_id"], let userID = UUID(canonical: user),
            case .string(let kindName)? = object["kind"], let kind = ActivityKind(rawValue: kindName),
            case .string(let occurred)? = object["occurred_at"], let occurredAt = Timestamps.parse(occurred),
            case .number(let value)? = object["value"], case .string(let source)? = object["source"]
        else { return nil }
        func optionalString(_ key: String) -> String?? {
            switch object[key] {
            case nil, .null?: .some(nil)
            case .string(let text)?: .some(text)
            case .number?, .bool?: nil
            }
        }
        let repoPrivate: Bool??
        switch object["repo_private"] {
        case nil, .null?: repoPrivate = .some(nil)
        case .bool(let flag)?: repoPrivate = .some(flag)
        case .string?, .number?: repoPrivate = nil
        }
        guard let repo = optionalString("repo"), let language = optionalString("language"), let repoPrivate,
            let title = optionalString("title"), let url = optionalString("url")
        else { return nil }
        self.init(
            id: id, userID: userID, kind: kind, occurredAt: occurredAt, value: value, repo: repo, language: language, source: source,
            repoPrivate: repoPrivate, title: title, url: url)
    }
}

/// ISO-8601 parsing that accepts what GitHub sends: `Z` or `±hh:mm` offsets, with or without fractions.
/// RFC 3339 timestamps, read strictly by hand: `YYYY-MM-DDTHH:MM:SS`, an optional fraction, then `Z` or
/// `±HH:MM`; years 0001–9999, real calendar dates, hours 00–23, no trailing characters. Outside bytes reach
/// PostgreSQL (which refuses years past 294276, and Foundation's formatter beyond 9999) only through this.
/// By hand because every fact on the activity topic carries one, and Foundation's parser cost workers a
/// fifth of their decoding time (and accepted `…Z*junk`, February 30 and 24:00).
public enum Timestamps {
    public static func parse(_ text: String) -> Date? {
        var text = text
        return text.withUTF8 { bytes -> Date? in
            guard bytes.count >= 20, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"), bytes[10] | 0x20 == UInt8(ascii: "t"),
                bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":")
            else { return nil }
            func number(_ range: Range<Int>) -> Int? {
                var value = 0
                for index in range {
                    let digit = Int(bytes[index]) - 48
                    guard (0...9).contains(digit) else { return nil }
                    value = value * 10 + digit
                }
                return value
            }
            guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10), let hour = number(11..<13),
                let minute = number(14..<16), let second = number(17..<19), year >= 1, hour < 24, minute < 60, second < 60,
                let date = LocalDate(year: year, month: month, day: day)
            else { return nil }
            var index = 19
            var fraction = 0.0
            if bytes[index] == UInt8(ascii: ".") {
                index += 1
                var scale = 0.1
                let start = index
                while index < bytes.count, (48...57).contains(bytes[index]) {
                    fraction += Double(bytes[index] - 48) * scale
                    scale /= 10
                    index += 1
                }
                guard index > start, index - start <= 9 else { return nil }
            }
            var offset = 0
            switch bytes.count - index {
            case 1 where bytes[index] | 0x20 == UInt8(ascii: "z"): break
            case 6 where bytes[index + 3] == UInt8(ascii: ":") && (bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-")):
                guard let hours = number(index + 1..<index + 3), let minutes = number(index + 4..<index + 6), hours < 24, minutes < 60 else {
                    return nil
                }
                offset = (bytes[index] == UInt8(ascii: "+") ? 1 : -1) * (hours * 3_600 + minutes * 60)
            default: return nil
            }
            let seconds = date.daysSinceEpoch * 86_400 + hour * 3_600 + minute * 60 + second - offset
            return Date(timeIntervalSince1970: Double(seconds) + fraction)
        }
    }

    /// UTC with milliseconds, e.g. `2024-03-10T18:29:59.000Z`, rounded to the nearest millisecond (a Double
    /// holds `.123` as `.12299…`, which truncation would print as `.122`).
    public static func format(_ date: Date) -> String {
        let milliseconds = Int((date.timeIntervalSince1970 * 1_000).rounded())
        let (days, rest) = milliseconds.quotientAndRemainder(dividingBy: 86_400_000)
        let (day, inDay) = rest < 0 ? (days - 1, rest + 86_400_000) : (days, rest)
        let (year, month, dayOfMonth) = LocalDate(daysSinceEpoch: day).components
        let (hour, minute, second, millisecond) = (inDay / 3_600_000, inDay / 60_000 % 60, inDay / 1_000 % 60, inDay % 1_000)
        guard (0...9999).contains(year) else {
            return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", year, month, dayOfMonth, hour, minute, second, millisecond)
        }
        var text = PaddedDecimals(capacity: 24)
        text.append(year, width: 4, then: "-")
        text.append(month, width: 2, then: "-")
        text.append(dayOfMonth, width: 2, then: "T")
        text.append(hour, width: 2, then: ":")
        text.append(minute, width: 2, then: ":")
        text.append(second, width: 2, then: ".")
        text.append(millisecond, width: 3, then: "Z")
        return text.string
    }
}

extension UUID {
    /// `8-4-4-4-12` hex digits (either case), as `UUID(uuidString:)` reads them but without its `sscanf`,
    /// which showed in the workers' profiles: every fact carries a user id.
    init?(canonical text: String) {
        var text = text
        let bytes: uuid_t? = text.withUTF8 { utf8 -> uuid_t? in
            guard utf8.count == 36 else { return nil }
            var value: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
            var nibbles = 0
            var result = true
            withUnsafeMutableBytes(of: &value) { out in
                for (index, byte) in utf8.enumerated() {
                    if index == 8 || index == 13 || index == 18 || index == 23 {
                        if byte != UInt8(ascii: "-") { result = false; return }
                        continue
                    }
                    let nibble: UInt8
                    switch byte {
                    case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = byte - UInt8(ascii: "0")
                    case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = byte - UInt8(ascii: "a") + 10
                    case UInt8(ascii: "A")...UInt8(ascii: "F"): nibble = byte - UInt8(ascii: "A") + 10
                    default: result = false; return
                    }
                    out[nibbles / 2] |= nibbles % 2 == 0 ? nibble << 4 : nibble
                    nibbles += 1
                }
            }
            return result ? value : nil
        }
        guard let bytes else { return nil }
        self.init(uuid: bytes)
    }
}
