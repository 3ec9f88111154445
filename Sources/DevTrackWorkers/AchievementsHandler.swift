import DevTrackCore
import DevTrackStore
import Foundation
import Kafka
import Logging
import Synchronization

/// `achievements`: its own consumer group on `devtrack.activity`. Per batch it brings each touched user's
/// lifetime aggregates (`user_totals`) up to date — fact counts as the facts are first stored, marks
/// (night-owl days, weekends, languages) insert-if-absent, coding seconds by each day's difference, the
/// latest streak run extended day by day (recomputed from at most 400 days when a day does not simply
/// extend it) — and then checks the catalogue against those aggregates alone:
/// the work per fact does not depend on how much history a user has. New unlocks are published as
/// `achievement.unlocked` (and `streak.milestone` for streak thresholds) before they are recorded, so a
/// crash in between re-sends the same dedupe keys rather than losing them.
public final class AchievementsHandler: BatchHandler, Sendable {
    let database: Database
    let achievements: AchievementRepository
    let activity: ActivityRepository
    let codingTime: CodingTimeRepository
    let intents: IntentPublisher
    let logger: Logger
    let clock: @Sendable () -> Date
    /// Per process, forgotten when partitions move: the marks known to be stored and the achievements known
    /// to be unlocked for users seen (only this group writes either, so for its own partitions it is exact).
    private let memory = Mutex(AchievementMemory())

    /// How far back a streak is recomputed: enough for the longest milestone (365 days).
    static let streakLookbackDays = 400

    public init(database: Database, producer: KafkaProducer, logger: Logger, clock: @escaping @Sendable () -> Date = Date.init) {
        self.database = database
        self.achievements = AchievementRepository(database)
        self.activity = ActivityRepository(database)
        self.codingTime = CodingTimeRepository(database)
        self.intents = IntentPublisher(producer: producer)
        self.logger = logger
        self.clock = clock
    }

    public func partitionsChanged() {
        memory.withLock { $0 = AchievementMemory() }
    }

    public func apply(_ batch: [KafkaMessage]) async throws {
        // Messages that are not facts are skipped here (the metrics worker dead-letters them).
        let facts = decodeFacts(batch).values
        guard !facts.isEmpty else { return }
        let state = try await achievements.achievementState(userIDs: Array(Set(facts.map(\.userID))))
        let zones = state.mapValues(\.zone)
        let codingDays = Dictionary(grouping: facts.filter { $0.kind == .codingDay }, by: \.userID)
            .mapValues { Set($0.map { LocalDate($0.occurredAt, in: zones[$0.userID] ?? .gmt) }) }

        // Coding time and languages as they stand now (the signal only says which days changed).
        var codingSeconds: [UUID: [LocalDate: Double]] = [:]
        var marks: [(userID: UUID, mark: AchievementMark)] = []
        for (userID, days) in codingDays {
            guard let first = days.min(), let last = days.max(), let range = try? DateRange(from: first, to: last, maximumDays: 100_000) else {
                continue
            }
            let totals = try await codingTime.codingTotals(userID: userID, range: range)
            codingSeconds[userID] = Dictionary(uniqueKeysWithValues: days.map { ($0, totals[$0]?.seconds ?? 0) })
            let languages = try await achievements.codingLanguages(userID: userID, days: Array(days))
            for day in days {
                var byLanguage = languages[day] ?? [:]
                if byLanguage.isEmpty, (totals[day]?.seconds ?? 0) > 0 { byLanguage[""] = totals[day]!.seconds }  // reported time: no languages
                marks += AchievementMark.marks(codingDay: day, secondsByLanguage: byLanguage).map { (userID, $0) }
            }
        }
        var activeDays: [UUID: Set<LocalDate>] = [:]
        for fact in facts where fact.kind.isStoredActivity {
            guard let zone = zones[fact.userID] else { continue }
            marks += AchievementMark.marks(for: fact, in: zone).map { (fact.userID, $0) }
            if fact.kind.countsAsContribution { activeDays[fact.userID, default: []].insert(LocalDate(fact.occurredAt, in: zone)) }
        }
        for (userID, days) in codingSeconds {
            activeDays[userID, default: []].formUnion(days.filter { $0.value > 0 }.keys)
        }
        let streaks = try await streakUpdates(activeDays: activeDays, state: state)

        let markList = memory.withLock { memory in marks.filter { !(memory.marks[$0.userID]?.contains($0.mark) ?? false) } }
        let codingCredit = codingSeconds
        try await database.transaction { transaction in
            try await activity.applyFacts(facts, on: transaction)
            try await achievements.recordMarks(markList, on: transaction)
            for (userID, seconds) in codingCredit { try await achievements.creditCodingDays(userID: userID, seconds: seconds, on: transaction) }
            try await achievements.updateStreaks(streaks, on: transaction)
        }

        memory.withLock { memory in
            for (userID, mark) in markList { memory.marks[userID, default: []].insert(mark) }
        }
        let users = Array(zones.keys)
        let totals = try await achievements.achievementTotals(userIDs: users)
        let unknown = memory.withLock { memory in users.filter { memory.unlocked[$0] == nil } }
        let loaded = try await achievements.unlockedAchievements(userIDs: unknown)
        let unlocked = memory.withLock { memory in
            for userID in unknown { memory.unlocked[userID] = Set((loaded[userID] ?? []).map(\.achievementID)) }
            return memory.unlocked
        }
        let now = clock()
        var unlocks: [AchievementUnlock] = []
        var published: [NotificationIntent] = []
        for userID in users {
            let have = unlocked[userID] ?? []
            for achievement in AchievementCatalogue.newlyReached(totals[userID] ?? AchievementTotals(), unlocked: have) {
                var factID = Self.reachingFact(for: achievement.metric, among: facts.filter { $0.userID == userID })?.id
                if factID == nil, let kind = achievement.metric.countedKind {
                    // Another worker stored the fact first and raised the count before this batch saw it: the
                    // reaching fact is the threshold-th of its kind.
                    factID = try await achievements.nthFact(userID: userID, kind: kind, n: achievement.threshold)
                }
                unlocks.append(AchievementUnlock(userID: userID, achievementID: achievement.id, at: now, factID: factID))
                published.append(.achievementUnlocked(userID: userID, achievement: achievement))
                if achievement.metric == .streakDays, AchievementCatalogue.streakMilestones.contains(achievement.threshold) {
                    published.append(.streakMilestone(userID: userID, days: achievement.threshold))
                }
            }
        }
        guard !unlocks.isEmpty else { return }
        try await intents.publish(published)
        try await achievements.recordUnlocks(unlocks)
        memory.withLock { memory in
            for unlock in unlocks { memory.unlocked[unlock.userID, default: []].insert(unlock.achievementID) }
        }
        logger.info("achievements: \(unlocks.count) unlocked")
    }

    /// Each touched user's latest streak run after these active days, and the longest run it shows. Most
    /// days fall inside the stored run or extend it by one; the rest (a gap, a late day, a first day) are
    /// recomputed from the user's last 400 days, in one query for all of them.
    private func streakUpdates(
        activeDays: [UUID: Set<LocalDate>], state: [UUID: (zone: TimeZone, run: StreakRun?)]
    ) async throws -> [UUID: (run: StreakRun, longest: Int)] {
        var updates: [UUID: (run: StreakRun, longest: Int)] = [:]
        var recompute: [UUID] = []
        for (userID, days) in activeDays where !days.isEmpty {
            let stored = state[userID]?.run
            guard let run = StreakRun.advance(stored, with: days) else {
                recompute.append(userID)
                continue
            }
            if run != stored { updates[userID] = (run, run.activeDays) }
        }
        guard !recompute.isEmpty else { return updates }
        let now = clock()
        let earliest = recompute.map { LocalDate(now, in: state[$0]?.zone ?? .gmt) }.min()!
        let activity = try await achievements.recentActivity(userIDs: recompute, since: earliest.adding(days: -Self.streakLookbackDays))
        for userID in recompute {
            // The batch's days are stored in this batch's transaction, after this read: add them here.
            let active = (activity[userID]?.active ?? []) + Array(activeDays[userID] ?? [])
            let frozen = activity[userID]?.frozen ?? []
            guard let run = StreakRun.latest(activeDays: active, frozenDays: frozen) else { continue }
            let today = LocalDate(now, in: state[userID]?.zone ?? .gmt)
            let longest = StreakSummary.compute(activeDays: active, frozenDays: frozen, today: max(today, run.end)).longest
            updates[userID] = (run, max(longest, run.activeDays))
        }
        return updates
    }

    /// The latest fact of the batch that counts towards `metric`, recorded as what unlocked it.
    static func reachingFact(for metric: AchievementMetric, among facts: [ActivityFact]) -> ActivityFact? {
        let kinds: Set<ActivityKind> =
            switch metric {
            case .commits, .nightOwlDays, .earlyBirdDays: [.commit]
            case .prsOpened: [.prOpened]
            case .prsMerged: [.prMerged]
            case .reviews: [.review]
            case .issuesClosed: [.issueClosed]
            case .codingHours: [.codingDay]
            case .languages: [.commit, .codingDay]
            case .streakDays, .activeWeekends: Set(ActivityKind.builtIn.filter { $0.countsAsContribution } + [.codingDay])
            }
        return facts.filter { kinds.contains($0.kind) }.max { $0.occurredAt < $1.occurredAt }
    }
}

struct AchievementMemory {
    var marks: [UUID: Set<AchievementMark>] = [:]
    var unlocked: [UUID: Set<String>] = [:]
}
