import Foundation

/// The lifetime aggregate an achievement rule reads. Each is kept incrementally per user (`user_totals`),
/// so evaluating a rule never rescans history.
public enum AchievementMetric: String, Sendable, CaseIterable, Codable {
    case commits
    case prsOpened = "prs_opened"
    case prsMerged = "prs_merged"
    case reviews
    case issuesClosed = "issues_closed"
    /// The longest streak of active local days seen.
    case streakDays = "streak_days"
    /// Local days with a commit between 00:00 and 04:00.
    case nightOwlDays = "night_owl_days"
    /// Local days with a commit before 07:00.
    case earlyBirdDays = "early_bird_days"
    /// Weekends (Saturday–Sunday pairs) with an active day.
    case activeWeekends = "active_weekends"
    /// The larger of: languages of repositories committed to, languages coded in (≥ 1 min on a day).
    case languages
    case codingHours = "coding_hours"

    /// The fact kind a metric counts one by one, for the metrics that are plain fact counts.
    public var countedKind: ActivityKind? {
        switch self {
        case .commits: .commit
        case .prsOpened: .prOpened
        case .prsMerged: .prMerged
        case .reviews: .review
        case .issuesClosed: .issueClosed
        default: nil
        }
    }
}

public enum AchievementTier: String, Sendable, Codable {
    case bronze, silver, gold, platinum
}

/// One entry of the catalogue: unlocked once `metric` reaches `threshold`.
public struct Achievement: Sendable, Equatable {
    public let id: String
    public let title: String
    public let description: String
    public let tier: AchievementTier
    public let metric: AchievementMetric
    public let threshold: Int
}

/// A user's lifetime aggregates, by metric (absent = 0).
public struct AchievementTotals: Sendable, Equatable {
    public var values: [AchievementMetric: Int]

    public init(_ values: [AchievementMetric: Int] = [:]) {
        self.values = values
    }

    public subscript(metric: AchievementMetric) -> Int {
        get { values[metric] ?? 0 }
        set { values[metric] = newValue }
    }
}

/// Where a user stands on one achievement.
public struct AchievementProgress: Sendable, Equatable {
    public let achievement: Achievement
    /// Capped at the threshold, so a finished achievement reads `threshold/threshold`.
    public let current: Int
    public var reached: Bool { current >= achievement.threshold }
}

/// The catalogue, in code: ids are stable (they key `user_achievements` and notification dedupe keys).
public enum AchievementCatalogue {
    public static let all: [Achievement] = [
        Achievement(id: "first_commit", title: "First commit", description: "Push your first commit.", tier: .bronze, metric: .commits, threshold: 1),
        Achievement(id: "commits_100", title: "Centurion", description: "Push 100 commits.", tier: .silver, metric: .commits, threshold: 100),
        Achievement(id: "commits_1000", title: "Committed", description: "Push 1,000 commits.", tier: .gold, metric: .commits, threshold: 1_000),
        Achievement(
            id: "commits_10000", title: "Ten thousand", description: "Push 10,000 commits.", tier: .platinum, metric: .commits, threshold: 10_000),
        Achievement(
            id: "first_pr_opened", title: "First pull request", description: "Open your first pull request.", tier: .bronze, metric: .prsOpened,
            threshold: 1),
        Achievement(
            id: "first_pr_merged", title: "Merged", description: "Get your first pull request merged.", tier: .bronze, metric: .prsMerged,
            threshold: 1),
        Achievement(
            id: "prs_merged_10", title: "Shipper", description: "Get 10 pull requests merged.", tier: .silver, metric: .prsMerged, threshold: 10),
        Achievement(
            id: "prs_merged_50", title: "Serial shipper", description: "Get 50 pull requests merged.", tier: .gold, metric: .prsMerged,
            threshold: 50),
        Achievement(
            id: "prs_merged_100", title: "Release train", description: "Get 100 pull requests merged.", tier: .platinum, metric: .prsMerged,
            threshold: 100),
        Achievement(
            id: "reviews_10", title: "Reviewer", description: "Submit 10 pull request reviews.", tier: .silver, metric: .reviews, threshold: 10),
        Achievement(
            id: "reviews_100", title: "Gatekeeper", description: "Submit 100 pull request reviews.", tier: .gold, metric: .reviews, threshold: 100),
        Achievement(
            id: "first_issue_closed", title: "Bug squasher", description: "Close your first issue.", tier: .bronze, metric: .issuesClosed,
            threshold: 1),
        Achievement(
            id: "streak_7", title: "One week streak", description: "Be active 7 days in a row.", tier: .bronze, metric: .streakDays, threshold: 7),
        Achievement(
            id: "streak_30", title: "One month streak", description: "Be active 30 days in a row.", tier: .silver, metric: .streakDays,
            threshold: 30),
        Achievement(
            id: "streak_100", title: "Hundred-day streak", description: "Be active 100 days in a row.", tier: .gold, metric: .streakDays,
            threshold: 100),
        Achievement(
            id: "streak_365", title: "Year-long streak", description: "Be active 365 days in a row.", tier: .platinum, metric: .streakDays,
            threshold: 365),
        Achievement(
            id: "night_owl", title: "Night owl", description: "Commit between 00:00 and 04:00 (your time) on 10 days.", tier: .silver,
            metric: .nightOwlDays, threshold: 10),
        Achievement(
            id: "early_bird", title: "Early bird", description: "Commit before 07:00 (your time) on 10 days.", tier: .silver, metric: .earlyBirdDays,
            threshold: 10),
        Achievement(
            id: "weekend_warrior", title: "Weekend warrior", description: "Be active on 8 weekends.", tier: .silver, metric: .activeWeekends,
            threshold: 8),
        Achievement(
            id: "polyglot", title: "Polyglot", description: "Commit to repositories in 5 languages, or code in 5 languages.", tier: .gold,
            metric: .languages, threshold: 5),
        Achievement(
            id: "coding_hours_10", title: "Ten hours", description: "Log 10 hours of coding time.", tier: .bronze, metric: .codingHours, threshold: 10
        ),
        Achievement(
            id: "coding_hours_100", title: "Hundred hours", description: "Log 100 hours of coding time.", tier: .silver, metric: .codingHours,
            threshold: 100),
        Achievement(
            id: "coding_hours_1000", title: "Thousand hours", description: "Log 1,000 hours of coding time.", tier: .gold, metric: .codingHours,
            threshold: 1_000),
    ]

    public static let byID: [String: Achievement] = Dictionary(uniqueKeysWithValues: all.map { ($0.id, $0) })

    /// Streak thresholds that also emit `streak.milestone`.
    public static let streakMilestones = [7, 30, 100, 365]

    public static func progress(_ totals: AchievementTotals) -> [AchievementProgress] {
        all.map { AchievementProgress(achievement: $0, current: min(totals[$0.metric], $0.threshold)) }
    }

    /// Achievements `totals` reach that are not in `unlocked` yet.
    public static func newlyReached(_ totals: AchievementTotals, unlocked: Set<String>) -> [Achievement] {
        all.filter { totals[$0.metric] >= $0.threshold && !unlocked.contains($0.id) }
    }
}

/// A set-like fact about a user that achievement counters count once: "had a night-owl commit on
/// 2024-03-09", "was active on the weekend of 2024-03-09", "committed to a Swift repository". Stored with
/// insert-if-absent, so a redelivered or replayed fact can add a mark only once.
public struct AchievementMark: Hashable, Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        case nightOwl = "night_owl"
        case earlyBird = "early_bird"
        /// Keyed by the weekend's Saturday.
        case weekend
        case commitLanguage = "commit_language"
        case codingLanguage = "coding_language"

        public var metric: AchievementMetric {
            switch self {
            case .nightOwl: .nightOwlDays
            case .earlyBird: .earlyBirdDays
            case .weekend: .activeWeekends
            case .commitLanguage, .codingLanguage: .languages
            }
        }
    }

    public let kind: Kind
    public let key: String

    public init(_ kind: Kind, _ key: String) {
        self.kind = kind
        self.key = key
    }

    /// The marks one activity fact earns, read in the user's zone.
    public static func marks(for fact: ActivityFact, in zone: TimeZone) -> [AchievementMark] {
        var marks: [AchievementMark] = []
        let day = LocalDate(fact.occurredAt, in: zone)
        if fact.kind == .commit {
            let hour = LocalClock.hour(of: fact.occurredAt, in: zone)
            if hour < 4 { marks.append(AchievementMark(.nightOwl, day.description)) }
            if hour < 7 { marks.append(AchievementMark(.earlyBird, day.description)) }
            if let language = fact.language?.trimmingCharacters(in: .whitespaces), !language.isEmpty {
                marks.append(AchievementMark(.commitLanguage, language.lowercased()))
            }
        }
        if fact.kind.countsAsContribution, let saturday = day.weekendSaturday {
            marks.append(AchievementMark(.weekend, saturday.description))
        }
        return marks
    }

    /// The marks a day of coding earns: the weekend it falls on, and each language coded ≥ 60 s that day.
    public static func marks(codingDay day: LocalDate, secondsByLanguage: [String: Double]) -> [AchievementMark] {
        var marks: [AchievementMark] = []
        if secondsByLanguage.values.contains(where: { $0 > 0 }), let saturday = day.weekendSaturday {
            marks.append(AchievementMark(.weekend, saturday.description))
        }
        for (language, seconds) in secondsByLanguage where seconds >= 60 {
            let name = language.trimmingCharacters(in: .whitespaces).lowercased()
            if !name.isEmpty, name != "other", name != "unknown" { marks.append(AchievementMark(.codingLanguage, name)) }
        }
        return marks
    }
}

public enum LocalClock {
    /// The local hour (0–23) of `instant` in `zone`.
    public static func hour(of instant: Date, in zone: TimeZone) -> Int {
        let seconds = Int(floor(instant.timeIntervalSince1970)) + zone.secondsFromGMT(for: instant)
        return ((seconds % 86_400) + 86_400) % 86_400 / 3_600
    }
}

extension LocalDate {
    /// 0 = Monday … 6 = Sunday (1970-01-01 was a Thursday).
    public var weekdayFromMonday: Int { ((daysSinceEpoch + 3) % 7 + 7) % 7 }

    /// The Saturday of the weekend this date falls on; nil on weekdays.
    public var weekendSaturday: LocalDate? {
        switch weekdayFromMonday {
        case 5: self
        case 6: adding(days: -1)
        default: nil
        }
    }
}
