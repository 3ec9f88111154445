/// Consecutive active local days. A day is active when it has at least one contribution; today does not
/// break the current streak until it is over.
public struct StreakSummary: Equatable, Sendable, Codable {
    public var current: Int
    public var longest: Int
    public var todayActive: Bool
    public var currentStart: LocalDate?
    public var longestStart: LocalDate?
    public var longestEnd: LocalDate?

    enum CodingKeys: String, CodingKey {
        case current, longest
        case todayActive = "today_active"
        case currentStart = "current_start"
        case longestStart = "longest_start"
        case longestEnd = "longest_end"
    }

    public init(current: Int, longest: Int, todayActive: Bool, currentStart: LocalDate?, longestStart: LocalDate?, longestEnd: LocalDate?) {
        self.current = current
        self.longest = longest
        self.todayActive = todayActive
        self.currentStart = currentStart
        self.longestStart = longestStart
        self.longestEnd = longestEnd
    }

    /// `activeDays` may be in any order and contain duplicates; days after `today` are ignored.
    public static func compute(activeDays: some Sequence<LocalDate>, today: LocalDate) -> StreakSummary {
        let days = Set(activeDays).filter { $0 <= today }.sorted()
        var longest = 0
        var longestStart: LocalDate?
        var longestEnd: LocalDate?
        var runStart: LocalDate?
        var previous: LocalDate?
        for day in days {
            if let previous, day - previous == 1 {
                // run continues
            } else {
                runStart = day
            }
            let length = day - runStart! + 1
            // ">=" prefers the most recent run among equally long ones.
            if length >= longest {
                longest = length
                longestStart = runStart
                longestEnd = day
            }
            previous = day
        }
        let todayActive = days.last == today
        var current = 0
        var currentStart: LocalDate?
        if let last = days.last, today - last <= 1, let runStart {
            current = last - runStart + 1
            currentStart = runStart
        }
        return StreakSummary(
            current: current, longest: longest, todayActive: todayActive,
            currentStart: currentStart, longestStart: longestStart, longestEnd: longestEnd)
    }
}
