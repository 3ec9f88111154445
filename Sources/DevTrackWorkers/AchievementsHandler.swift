import DevTrackCore
import DevTrackStore
import Foundation
import Kafka
import Logging

/// `achievements`: its own consumer group on `devtrack.activity`. Per batch it brings each touched user's
/// lifetime aggregates (`user_totals`) up to date — fact counts as the facts are first stored, marks
/// (night-owl days, weekends, languages) insert-if-absent, coding seconds by each day's difference, the
/// longest streak from the last 400 days — and then checks the catalogue against those aggregates alone:
/// the work per fact does not depend on how much history a user has. New unlocks are published as
/// `achievement.unlocked` (and `streak.milestone` for streak thresholds) before they are recorded, so a
/// crash in between re-sends the same dedupe keys rather than losing them.
public struct AchievementsHandler: BatchHandler {
    let store: HubStore
    let intents: IntentPublisher
    let logger: Logger
    let clock: @Sendable () -> Date

    /// How far back a streak is recomputed: enough for the longest milestone (365 days).
    static let streakLookbackDays = 400

    public init(store: HubStore, producer: KafkaProducer, logger: Logger, clock: @escaping @Sendable () -> Date = Date.init) {
        self.store = store
        self.intents = IntentPublisher(producer: producer)
        self.logger = logger
        self.clock = clock
    }

    public func apply(_ batch: [KafkaMessage]) async throws {
        let facts = decodeFacts(batch)
        guard !facts.isEmpty else { return }
        let zones = try await store.timezones(userIDs: Array(Set(facts.map(\.userID))))
        let codingDays = Dictionary(grouping: facts.filter { $0.kind == .codingDay }, by: \.userID)
            .mapValues { Set($0.map { LocalDate($0.occurredAt, in: zones[$0.userID] ?? .gmt) }) }

        // Coding time and languages as they stand now (the signal only says which days changed).
        var codingSeconds: [UUID: [LocalDate: Double]] = [:]
        var marks: [(userID: UUID, mark: AchievementMark)] = []
        for (userID, days) in codingDays {
            guard let first = days.min(), let last = days.max(), let range = try? DateRange(from: first, to: last, maximumDays: 100_000) else { continue }
            let totals = try await store.codingTotals(userID: userID, range: range)
            codingSeconds[userID] = Dictionary(uniqueKeysWithValues: days.map { ($0, totals[$0]?.seconds ?? 0) })
            let languages = try await store.codingLanguages(userID: userID, days: Array(days))
            for day in days {
                var byLanguage = languages[day] ?? [:]
                if byLanguage.isEmpty, (totals[day]?.seconds ?? 0) > 0 { byLanguage[""] = totals[day]!.seconds }  // reported time: no languages
                marks += AchievementMark.marks(codingDay: day, secondsByLanguage: byLanguage).map { (userID, $0) }
            }
        }
        for fact in facts where fact.kind.isStoredActivity {
            guard let zone = zones[fact.userID] else { continue }
            marks += AchievementMark.marks(for: fact, in: zone).map { (fact.userID, $0) }
        }

        let streakUsers = Set(facts.filter { $0.kind.countsAsContribution || $0.kind == .codingDay }.map(\.userID))
        let streaks = try await longestRecentStreaks(userIDs: Array(streakUsers), zones: zones)
        let markList = marks
        let codingCredit = codingSeconds
        try await store.client.withTransaction(logger: logger) { connection in
            try await store.applyFacts(facts, on: connection)
            try await store.recordMarks(markList, on: connection)
            for (userID, seconds) in codingCredit { try await store.creditCodingDays(userID: userID, seconds: seconds, on: connection) }
            try await store.raiseLongestStreaks(streaks, on: connection)
        }

        let users = Array(zones.keys)
        let totals = try await store.achievementTotals(userIDs: users)
        let unlocked = try await store.unlockedAchievements(userIDs: users)
        let now = clock()
        var unlocks: [AchievementUnlock] = []
        var published: [NotificationIntent] = []
        for userID in users {
            let have = Set((unlocked[userID] ?? []).map(\.achievementID))
            for achievement in AchievementCatalogue.newlyReached(totals[userID] ?? AchievementTotals(), unlocked: have) {
                let fact = Self.reachingFact(for: achievement.metric, among: facts.filter { $0.userID == userID })
                unlocks.append(AchievementUnlock(userID: userID, achievementID: achievement.id, at: now, factID: fact?.id))
                published.append(.achievementUnlocked(userID: userID, achievement: achievement))
                if achievement.metric == .streakDays, AchievementCatalogue.streakMilestones.contains(achievement.threshold) {
                    published.append(.streakMilestone(userID: userID, days: achievement.threshold))
                }
            }
        }
        guard !unlocks.isEmpty else { return }
        try await intents.publish(published)
        try await store.recordUnlocks(unlocks)
        logger.info("achievements: \(unlocks.count) unlocked")
    }

    /// The longest streak in each user's last 400 local days (older streaks were counted when they happened).
    private func longestRecentStreaks(userIDs: [UUID], zones: [UUID: TimeZone]) async throws -> [UUID: Int] {
        guard !userIDs.isEmpty else { return [:] }
        let now = clock()
        let todays = Dictionary(uniqueKeysWithValues: userIDs.map { ($0, LocalDate(now, in: zones[$0] ?? .gmt)) })
        guard let earliest = todays.values.min() else { return [:] }
        let activity = try await store.recentActivity(userIDs: userIDs, since: earliest.adding(days: -Self.streakLookbackDays))
        var result: [UUID: Int] = [:]
        for (userID, days) in activity {
            let summary = StreakSummary.compute(activeDays: days.active, frozenDays: days.frozen, today: todays[userID] ?? earliest)
            if summary.longest > 0 { result[userID] = summary.longest }
        }
        return result
    }

    /// The latest fact of the batch that counts towards `metric`, recorded as what unlocked it.
    static func reachingFact(for metric: AchievementMetric, among facts: [ActivityFact]) -> ActivityFact? {
        let kinds: Set<ActivityKind> = switch metric {
        case .commits, .nightOwlDays, .earlyBirdDays: [.commit]
        case .prsOpened: [.prOpened]
        case .prsMerged: [.prMerged]
        case .reviews: [.review]
        case .issuesClosed: [.issueClosed]
        case .codingHours: [.codingDay]
        case .languages: [.commit, .codingDay]
        case .streakDays, .activeWeekends: Set(ActivityKind.allCases.filter { $0.countsAsContribution } + [.codingDay])
        }
        return facts.filter { kinds.contains($0.kind) }.max { $0.occurredAt < $1.occurredAt }
    }
}
