import Foundation

/// What a goal counts.
public enum GoalUnit: Sendable, Hashable, CustomStringConvertible {
    case commits, prsOpened, prsMerged, reviews, issuesClosed, codingMinutes, activeDays
    /// Facts of a custom webhook source with kind `custom:<kind>`.
    case custom(String)

    public init?(_ text: String) {
        switch text {
        case "commits": self = .commits
        case "prs_opened": self = .prsOpened
        case "prs_merged": self = .prsMerged
        case "reviews": self = .reviews
        case "issues_closed": self = .issuesClosed
        case "coding_minutes": self = .codingMinutes
        case "active_days": self = .activeDays
        default:
            guard text.hasPrefix("custom:"), CustomEventType.isValid(text.dropFirst(7)) else { return nil }
            self = .custom(String(text.dropFirst(7)))
        }
    }

    public var description: String {
        switch self {
        case .commits: "commits"
        case .prsOpened: "prs_opened"
        case .prsMerged: "prs_merged"
        case .reviews: "reviews"
        case .issuesClosed: "issues_closed"
        case .codingMinutes: "coding_minutes"
        case .activeDays: "active_days"
        case .custom(let kind): "custom:\(kind)"
        }
    }

    /// `count` of the unit as a person reads it ("120 minutes of coding"), for notifications.
    public func phrase(_ count: Int) -> String {
        let one = count == 1
        let noun =
            switch self {
            case .commits: one ? "commit" : "commits"
            case .prsOpened: one ? "pull request opened" : "pull requests opened"
            case .prsMerged: one ? "pull request merged" : "pull requests merged"
            case .reviews: one ? "review" : "reviews"
            case .issuesClosed: one ? "issue closed" : "issues closed"
            case .codingMinutes: one ? "minute of coding" : "minutes of coding"
            case .activeDays: one ? "active day" : "active days"
            case .custom(let kind): one ? "\(kind) event" : "\(kind) events"
            }
        return "\(count) \(noun)"
    }

    /// The activity fact kind counted, for units that count facts.
    public var factKind: String? {
        switch self {
        case .commits: "commit"
        case .prsOpened: "pr_opened"
        case .prsMerged: "pr_merged"
        case .reviews: "review"
        case .issuesClosed: "issue_closed"
        case .custom(let kind): "custom:\(kind)"
        case .codingMinutes, .activeDays: nil
        }
    }

    /// The units whose progress a fact of `kind` can change.
    public static func affected(by kind: ActivityKind) -> [GoalUnit] {
        var units: [GoalUnit] =
            switch kind {
            case .commit: [.commits]
            case .prOpened: [.prsOpened]
            case .prMerged: [.prsMerged]
            case .review: [.reviews]
            case .issueClosed: [.issuesClosed]
            case .codingDay: [.codingMinutes, .activeDays]
            default: kind.customType.map { [.custom($0)] } ?? []
            }
        if kind.countsAsContribution { units.append(.activeDays) }
        return units
    }

    public static let names = ["commits", "prs_opened", "prs_merged", "reviews", "issues_closed", "coding_minutes", "active_days", "custom:<kind>"]
}

public enum GoalPeriod: String, Sendable, CaseIterable {
    /// From the goal's creation until its deadline (or open-ended without one).
    case once
    case daily
    /// ISO weeks, Monday to Sunday.
    case weekly
    case monthly
}

/// An inclusive range of local dates: one period of a goal.
public struct GoalWindow: Sendable, Equatable {
    public let start: LocalDate
    public let end: LocalDate

    public init(start: LocalDate, end: LocalDate) {
        self.start = start
        self.end = end
    }
}

public enum GoalMath {
    /// The period of `period` that contains `date`. A `once` goal runs from `created` to `deadline`
    /// (with no deadline, to `date` itself: it is open-ended).
    public static func window(_ period: GoalPeriod, containing date: LocalDate, created: LocalDate, deadline: LocalDate?) -> GoalWindow {
        switch period {
        case .once:
            return GoalWindow(start: created, end: deadline ?? max(date, created))
        case .daily:
            return GoalWindow(start: date, end: date)
        case .weekly:
            let monday = date.adding(days: -date.weekdayFromMonday)
            return GoalWindow(start: monday, end: monday.adding(days: 6))
        case .monthly:
            let (year, month, _) = date.components
            let first = LocalDate(year: year, month: month, day: 1)!
            return GoalWindow(start: first, end: LocalDate(year: year, month: month, day: LocalDate.daysIn(month: month, year: year))!)
        }
    }

    /// The instant a goal with `deadline` ends: the local midnight after the deadline day, in `zone`.
    public static func end(ofDeadline deadline: LocalDate, in zone: TimeZone) -> Date {
        deadline.adding(days: 1).startOfDay(in: zone)
    }

    /// Whether `now` is in the last 24 hours before the deadline ends (when `goal.deadline_near` is due).
    public static func deadlineIsNear(_ deadline: LocalDate, in zone: TimeZone, now: Date) -> Bool {
        let end = end(ofDeadline: deadline, in: zone)
        return now < end && now >= end.addingTimeInterval(-86_400)
    }

    /// How much these facts can add to a goal of `unit` whose current period is `window` (local in the
    /// facts' zone): one per counted fact, one per distinct day for active days, nil when a coding-day
    /// signal means the progress must be read again (coding time is not counted in facts). An upper bound:
    /// some facts may already be counted (redelivered, or stored ahead by the metrics worker).
    public static func increase(of unit: GoalUnit, in window: GoalWindow, from facts: LocalFacts) -> Int? {
        guard facts.units.contains(unit) else { return 0 }
        var count = 0
        var days: Set<LocalDate> = []
        for (kind, day) in zip(facts.kinds, facts.days) {
            guard day >= window.start, day <= window.end, GoalUnit.affected(by: kind).contains(unit) else { continue }
            if kind == .codingDay { return nil }
            if unit == .activeDays { days.insert(day) } else { count += 1 }
        }
        return unit == .activeDays ? days.count : count
    }

    /// Progress in percent, 0…100 with two decimals; 0 for a zero target, never a division error.
    public static func percent(current: Int, target: Int) -> Double {
        guard target > 0 else { return 0 }
        return min(100, (Double(max(0, current)) / Double(target) * 10_000).rounded() / 100)
    }
}

/// One user's facts from a batch, with their local dates in one zone and the goal units they touch:
/// worked out once per user and zone per batch, because zone offsets are the costly part of deciding what
/// a batch can add to each of a user's goals.
public struct LocalFacts: Sendable {
    public let kinds: [ActivityKind]
    public let days: [LocalDate]
    public let units: Set<GoalUnit>

    public init(_ facts: [ActivityFact], zone: TimeZone) {
        kinds = facts.map(\.kind)
        days = facts.map { LocalDate($0.occurredAt, in: zone) }
        units = Set(kinds.flatMap(GoalUnit.affected(by:)))
    }
}
