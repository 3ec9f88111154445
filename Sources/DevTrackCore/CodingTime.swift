import Foundation

/// One editor heartbeat, as the WakaTime CLI sends it, after validation. `time` is Unix seconds with
/// fractions; `(time, entity)` is its natural key per user, so a resent batch or an offline-queue replay
/// stores nothing twice.
public struct Heartbeat: Sendable, Hashable, Codable {
    public var time: Double
    public var entity: String
    public var type: String
    public var category: String
    public var project: String
    public var branch: String
    public var language: String
    public var editor: String
    public var machine: String
    public var isWrite: Bool

    public init(
        time: Double, entity: String, type: String = "file", category: String = "coding", project: String = "",
        branch: String = "", language: String = "", editor: String = "", machine: String = "", isWrite: Bool = false
    ) {
        self.time = time
        self.entity = entity
        self.type = type
        self.category = category
        self.project = project
        self.branch = branch
        self.language = language
        self.editor = editor
        self.machine = machine
        self.isWrite = isWrite
    }

    enum CodingKeys: String, CodingKey {
        case time, entity, type, category, project, branch, language, editor, machine
        case isWrite = "is_write"
    }

    /// What coding time is broken down by.
    public var dimensions: CodingDimensions {
        CodingDimensions(project: project, language: language, editor: editor, branch: branch, category: category, machine: machine)
    }
}

public struct CodingDimensions: Sendable, Hashable, Codable {
    public var project: String
    public var language: String
    public var editor: String
    public var branch: String
    public var category: String
    public var machine: String

    public init(project: String, language: String, editor: String, branch: String, category: String, machine: String) {
        self.project = project
        self.language = language
        self.editor = editor
        self.branch = branch
        self.category = category
        self.machine = machine
    }
}

/// Coding seconds of one local day for one combination of dimensions.
public struct CodingSlice: Sendable, Hashable {
    public var date: LocalDate
    public var dimensions: CodingDimensions
    public var seconds: Double

    public init(date: LocalDate, dimensions: CodingDimensions, seconds: Double) {
        self.date = date
        self.dimensions = dimensions
        self.seconds = seconds
    }
}

/// WakaTime's duration rule: the time between two consecutive heartbeats counts, for the earlier one's
/// project/language/editor…, while the gap is shorter than the timeout (`coding.heartbeat_timeout_seconds`, 900
/// as configured); a longer gap counts nothing. Intervals are split at local midnight. The input order does not matter (heartbeats are
/// sorted and duplicates collapse), so late and out-of-order delivery give the same totals.
public enum CodingDurations {
    public static func slices(_ heartbeats: [Heartbeat], timeout: Double, timeZone: TimeZone) -> [CodingSlice] {
        let sorted = Set(heartbeats).sorted { ($0.time, $0.entity) < ($1.time, $1.entity) }
        var totals: [SliceKey: Double] = [:]
        for (current, next) in zip(sorted, sorted.dropFirst()) {
            let gap = next.time - current.time
            guard gap > 0, gap < timeout else { continue }
            var start = current.time
            while start < next.time {
                let date = LocalDate(Date(timeIntervalSince1970: start), in: timeZone)
                let midnight = date.adding(days: 1).startOfDay(in: timeZone).timeIntervalSince1970
                let end = min(next.time, midnight)
                totals[SliceKey(date: date, dimensions: current.dimensions), default: 0] += end - start
                start = end
            }
        }
        return totals.map { CodingSlice(date: $0.key.date, dimensions: $0.key.dimensions, seconds: $0.value) }
            .sorted { ($0.date, $0.dimensions.project, $0.dimensions.language) < ($1.date, $1.dimensions.project, $1.dimensions.language) }
    }

    /// Coding seconds per local weekday (index 0 is Monday) and local hour, by the same rule as `slices`, counting only
    /// the parts of intervals inside `window` (Unix seconds). Dimensions play no part, so only the times are needed.
    public static func weekdayHourGrid(
        times: [Double], timeout: Double, timeZone: TimeZone, within window: Range<Double>
    ) -> [[Double]] {
        var grid = Array(repeating: Array(repeating: 0.0, count: 24), count: 7)
        let sorted = Set(times).sorted()
        for (current, next) in zip(sorted, sorted.dropFirst()) {
            let gap = next - current
            guard gap > 0, gap < timeout else { continue }
            var start = max(current, window.lowerBound)
            let stop = min(next, window.upperBound)
            while start < stop {
                let offset = Double(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: start)))
                let local = start + offset
                let hourStart = (local / 3_600).rounded(.down) * 3_600
                let end = min(stop, hourStart + 3_600 - offset)
                let day = Int((hourStart / 86_400).rounded(.down))
                let weekday = ((day + 3) % 7 + 7) % 7  // 1970-01-01 was a Thursday
                let hour = Int(hourStart - Double(day) * 86_400) / 3_600
                // A zone's offset changing inside the hour (DST) can give an end at or before start: move on a second.
                grid[weekday][hour] += max(end - start, 0)
                start = end > start ? end : start + 1
            }
        }
        return grid
    }

    struct SliceKey: Hashable {
        let date: LocalDate
        let dimensions: CodingDimensions
    }

    /// The editor named in a WakaTime user agent: `… vscode/1.75.0 vscode-wakatime/24.0.0` → `vscode`.
    public static func editor(fromUserAgent userAgent: String) -> String {
        for token in userAgent.split(separator: " ").reversed() {
            let name = token.split(separator: "/").first ?? ""
            if name.hasSuffix("-wakatime"), name.count > "-wakatime".count {
                return String(name.dropLast("-wakatime".count))
            }
        }
        return ""
    }
}

extension Collection where Element == CodingSlice {
    /// Seconds per value of one dimension (`\.project`, `\.language`…), most first, ties by name.
    public func totals(by dimension: (CodingDimensions) -> String) -> [(name: String, seconds: Double)] {
        Dictionary(map { (dimension($0.dimensions), $0.seconds) }, uniquingKeysWith: +)
            .map { (name: $0.key, seconds: $0.value) }
            .sorted { ($1.seconds, $0.name) < ($0.seconds, $1.name) }
    }
}
