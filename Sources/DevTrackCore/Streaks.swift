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

    /// `activeDays` may be in any order and contain duplicates; days after `today` are ignored. A frozen
    /// day keeps a streak alive across it but does not count as a day of the streak.
    public static func compute(activeDays: some Sequence<LocalDate>, frozenDays: some Sequence<LocalDate> = [], today: LocalDate) -> StreakSummary {
        let active = Set(activeDays).filter { $0 <= today }
        let days = active.union(Set(frozenDays).filter { $0 <= today }).sorted()
        var longest = 0
        var longestStart: LocalDate?
        var longestEnd: LocalDate?
        var runStart: LocalDate?  // the run's first active day
        var runLength = 0  // active days in the run
        var runEnd: LocalDate?  // the run's last day, active or frozen
        var previous: LocalDate?
        for day in days {
            if previous == nil || day - previous! != 1 {
                runStart = nil
                runLength = 0
            }
            previous = day
            runEnd = day
            guard active.contains(day) else { continue }
            if runStart == nil { runStart = day }
            runLength += 1
            // ">=" prefers the most recent run among equally long ones.
            if runLength >= longest {
                longest = runLength
                longestStart = runStart
                longestEnd = day
            }
        }
        let todayActive = active.contains(today)
        var current = 0
        var currentStart: LocalDate?
        if let runEnd, today - runEnd <= 1, runLength > 0 {
            current = runLength
            currentStart = runStart
        }
        return StreakSummary(
            current: current, longest: longest, todayActive: todayActive,
            currentStart: currentStart, longestStart: longestStart, longestEnd: longestEnd)
    }
}

/// The latest run of consecutive local days that are active or frozen, with how many of them were
/// active: the achievements worker keeps it per user so that most new active days update it in O(1).
public struct StreakRun: Sendable, Equatable {
    public var start: LocalDate
    public var end: LocalDate
    public var activeDays: Int

    public init(start: LocalDate, end: LocalDate, activeDays: Int) {
        self.start = start
        self.end = end
        self.activeDays = activeDays
    }

    /// The run after `days` became active, when that follows from the run alone: days inside it change
    /// nothing, the day after its end extends it. Anything else (a gap, a day before it, no run yet)
    /// returns nil: recompute from the stored days with `latest`.
    public static func advance(_ run: StreakRun?, with days: some Sequence<LocalDate>) -> StreakRun? {
        guard var run else { return nil }
        for day in Set(days).sorted() {
            if day >= run.start && day <= run.end { continue }
            guard day == run.end.adding(days: 1) else { return nil }
            run.end = day
            run.activeDays += 1
        }
        return run
    }

    /// The latest run among these days (nil without active days). Frozen days join runs but do not count.
    public static func latest(activeDays: some Sequence<LocalDate>, frozenDays: some Sequence<LocalDate> = []) -> StreakRun? {
        let active = Set(activeDays)
        guard let last = active.max() else { return nil }
        let bridging = active.union(frozenDays)
        var start = last
        var count = 1
        while bridging.contains(start.adding(days: -1)) {
            start = start.adding(days: -1)
            if active.contains(start) { count += 1 }
        }
        // A run starts and ends on active days.
        while !active.contains(start) { start = start.adding(days: 1) }
        return StreakRun(start: start, end: last, activeDays: count)
    }
}
