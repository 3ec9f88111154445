import DevTrackCore
import DevTrackStore
import Foundation
import Kafka
import Logging
import Metrics
import ServiceLifecycle

/// `devtrack scheduler`: timed jobs. Several may run for availability; each tick runs only where the
/// PostgreSQL advisory lock is taken, so one instance does the work. Jobs: `goal.deadline_near` for every
/// goal whose deadline ends within 24 h while it is incomplete, once per goal and deadline; `streak.at_risk`
/// and `daily.summary`, once per user and local date; `weekly.summary`, once per user and week. Each is
/// published, then recorded: a crash in between re-sends the same dedupe key. And the leaderboard's scores, for
/// users whose numbers changed and for every listed user of a zone that reached a new local date.
public struct Scheduler: Service {
    /// How long logs are kept (`scheduler.retention`).
    public struct Retention: Sendable {
        public var deliveryLog: Duration
        public var readNotifications: Duration
        /// Nil: raw heartbeats are kept (coding time is computed from them; it stays when they go).
        public var heartbeats: Duration?

        public init(deliveryLog: Duration, readNotifications: Duration, heartbeats: Duration? = nil) {
            self.deliveryLog = deliveryLog
            self.readNotifications = readNotifications
            self.heartbeats = heartbeats
        }

        public static let standard = Retention(deliveryLog: .seconds(45 * 86_400), readNotifications: .seconds(90 * 86_400))
    }

    let goals: GoalRepository
    let largePayloads: LargePayloadRepository
    let sources: SourceRepository
    let outbox: OutboxRepository
    let notifications: NotificationRepository
    let accounts: AccountRepository
    let codingTime: CodingTimeRepository
    let retention: Retention
    let scheduler: SchedulerRepository
    let leaderboard: LeaderboardRepository
    let intents: IntentPublisher
    let interval: Duration
    let logger: Logger
    let clock: @Sendable () -> Date

    public init(
        database: Database, producer: KafkaProducer, interval: Duration, retention: Retention = .standard, logger: Logger,
        clock: @escaping @Sendable () -> Date = Date.init
    ) {
        self.goals = GoalRepository(database)
        self.largePayloads = LargePayloadRepository(database)
        self.sources = SourceRepository(database)
        self.outbox = OutboxRepository(database)
        self.notifications = NotificationRepository(database)
        self.accounts = AccountRepository(database)
        self.codingTime = CodingTimeRepository(database)
        self.retention = retention
        self.scheduler = SchedulerRepository(database)
        self.leaderboard = LeaderboardRepository(database)
        self.intents = IntentPublisher(producer: producer)
        self.interval = interval
        self.logger = logger
        self.clock = clock
    }

    public func run() async throws {
        logger.info("scheduler started (every \(interval))")
        defer { logger.info("scheduler stopped") }
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                let ran = try await scheduler.withSchedulerLock {
                    try await sendDeadlineReminders()
                    try await sendStreakRiskReminders()
                    try await sendDailySummaries()
                    try await sendWeeklySummaries()
                    try await deleteExpiredLargePayloads()
                    try await applyRetention()
                    try await sweepDeletedAccounts()
                    try await refreshLeaderboard()
                }
                if !ran { logger.debug("scheduler: another instance holds the lock") }
                Self.tick(ran ? "ran" : "skipped")
            } catch {
                logger.error("scheduler tick failed (retried next tick): \(error)")
                Self.tick("failed")
            }
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
        }
    }

    /// `devtrack_scheduler_ticks_total{outcome}`: ran (this instance held the lock), skipped (another did), failed.
    static func tick(_ outcome: String) {
        Counter(label: "devtrack_scheduler_ticks_total", dimensions: [("outcome", outcome)]).increment()
    }

    /// Recomputes the leaderboard scores of changed users, `batch` at a time, at most `maxBatches` batches a tick
    /// (the rest wait for the next one); returns how many users it recomputed.
    @discardableResult
    public func refreshLeaderboard(batch: Int = 500, maxBatches: Int = 20) async throws -> Int {
        let now = clock()
        try await leaderboard.markZonesThatRolledOver(now: now)
        var recomputed = 0
        for _ in 0..<maxBatches {
            let users = try await leaderboard.takeChanged(limit: batch)
            guard !users.isEmpty else { break }
            do {
                try await leaderboard.recompute(users, now: now)
            } catch  where StoreFailures.classify(error) == .permanent {
                try await recomputeOneByOne(users, now: now)
            } catch {
                try? await leaderboard.markChanged(users)
                throw error
            }
            recomputed += users.count
            if users.count < batch { break }
        }
        if recomputed > 0 { logger.debug("scheduler: leaderboard scores of \(recomputed) user(s) recomputed") }
        return recomputed
    }

    /// One user's data must not hold back the others: each alone, and one that fails for good is logged and left
    /// until its next change. Trouble that passes (PostgreSQL away) puts the rest back on the list.
    private func recomputeOneByOne(_ users: [UUID], now: Date) async throws {
        for (index, user) in users.enumerated() {
            do {
                try await leaderboard.recompute([user], now: now)
            } catch  where StoreFailures.classify(error) == .permanent {
                logger.error("scheduler: leaderboard scores of user \(user) cannot be computed: \(StoreFailures.summary(error))")
            } catch {
                try? await leaderboard.markChanged(Array(users[index...]))
                throw error
            }
        }
    }

    /// Large raw bodies are kept as long as the raw topic keeps the messages that name them (30 days); a tick
    /// deletes at most a few thousand older ones, so the lock is never held long.
    public func deleteExpiredLargePayloads(retention: TimeInterval = 30 * 86_400) async throws {
        let cutoff = clock().addingTimeInterval(-retention)
        let deleted = try await Self.drain { try await largePayloads.deleteLargePayloads(before: cutoff) }
        if deleted > 0 { logger.info("scheduler: \(deleted) expired large payload(s) deleted") }
    }

    /// Deletes what is past its retention — the inbound delivery log, finished outbound deliveries with their
    /// attempts, read notifications, raw heartbeats when a retention is set for them — at most 5,000 rows of each a tick
    /// (in batches of 1,000), so a first run on a large backlog never holds the scheduler long; the rest goes in the next
    /// ticks. Returns the rows deleted.
    @discardableResult
    public func applyRetention() async throws -> RetentionPass {
        let now = clock()
        let logCutoff = now.addingTimeInterval(-Double(retention.deliveryLog.components.seconds))
        let readCutoff = now.addingTimeInterval(-Double(retention.readNotifications.components.seconds))
        var pass = RetentionPass()
        pass.deliveryLog = try await Self.drain { try await sources.deleteDeliveryLog(before: logCutoff) }
        pass.deliveries = try await Self.drain { try await outbox.deleteFinishedDeliveries(before: logCutoff) }
        pass.notifications = try await Self.drain { try await notifications.deleteRead(before: readCutoff) }
        if let kept = retention.heartbeats {
            let cutoff = now.timeIntervalSince1970 - Double(kept.components.seconds)
            pass.heartbeats = try await Self.drain { try await codingTime.deleteHeartbeats(before: cutoff) }
        }
        if pass.total > 0 {
            logger.info(
                """
                scheduler: retention deleted \(pass.deliveryLog) inbound log rows, \(pass.deliveries) deliveries, \
                \(pass.notifications) read notifications, \(pass.heartbeats) heartbeats
                """)
        }
        return pass
    }

    /// What one retention pass deleted.
    public struct RetentionPass: Sendable, Equatable {
        public var deliveryLog = 0
        public var deliveries = 0
        public var notifications = 0
        public var heartbeats = 0
        var total: Int { deliveryLog + deliveries + notifications + heartbeats }
    }

    /// How long after an account's deletion the scheduler still looks for rows written under it by transactions that
    /// began before it (a worker's batch takes seconds at most; ten minutes leaves room for a PostgreSQL stall).
    public static let deletedAccountSweepWindow: TimeInterval = 600

    /// Deletes what was written under recently deleted accounts since their deletion (see `AccountRepository`).
    @discardableResult
    public func sweepDeletedAccounts() async throws -> Int {
        let swept = try await accounts.sweepDeletedAccounts(settledBefore: clock().addingTimeInterval(-Self.deletedAccountSweepWindow))
        if swept > 0 { logger.info("scheduler: \(swept) row(s) written under deleted accounts removed") }
        return swept
    }

    /// Repeats a bounded delete (batches of 1,000) at most 5 times, stopping at the first short batch.
    private static func drain(_ deleteBatch: () async throws -> Int) async throws -> Int {
        var deleted = 0
        for _ in 0..<5 {
            let count = try await deleteBatch()
            deleted += count
            if count < 1000 { break }
        }
        return deleted
    }

    /// One pass of the at-risk job: `streak.at_risk` from 20:00 local time for a streak of 3+ days that
    /// ended yesterday (in every zone, each user's own evening); returns how many it published.
    @discardableResult
    public func sendStreakRiskReminders() async throws -> Int {
        try await sendOncePerUserAndDate(
            "streak.at_risk",
            try await scheduler.streaksAtRisk(now: clock(), hour: 20, minimumDays: 3).map {
                ($0.userID, $0.date, .streakAtRisk(userID: $0.userID, days: $0.days, date: $0.date))
            })
    }

    /// One pass of the daily-summary job: `daily.summary` for each user's local yesterday when it had
    /// activity, once per user and date; returns how many it published.
    @discardableResult
    public func sendDailySummaries() async throws -> Int {
        try await sendOncePerUserAndDate(
            "daily.summary",
            try await scheduler.dailySummariesDue(now: clock()).map {
                ($0.userID, $0.summary.date, .dailySummary(userID: $0.userID, $0.summary))
            })
    }

    /// One pass of the weekly-summary job: `weekly.summary` on Monday from 09:00 local time for the week
    /// before, when it had activity, once per user and week (keyed by its Monday); returns how many it published.
    @discardableResult
    public func sendWeeklySummaries() async throws -> Int {
        try await sendOncePerUserAndDate(
            "weekly.summary",
            try await scheduler.weeklySummariesDue(now: clock()).map {
                ($0.userID, $0.summary.totals.date, .weeklySummary(userID: $0.userID, $0.summary))
            })
    }

    /// Publishes the due intents, then records them in `scheduled_intents` under (user, `type`, date).
    private func sendOncePerUserAndDate(
        _ type: String, _ due: [(userID: UUID, date: LocalDate, intent: NotificationIntent)]
    ) async throws -> Int {
        guard !due.isEmpty else { return 0 }
        try await intents.publish(due.map(\.intent))
        try await scheduler.recordScheduledIntents(due.map { ($0.userID, type, $0.date) })
        logger.info("scheduler: \(due.count) \(type) intent(s) sent")
        return due.count
    }

    /// One pass of the deadline job; returns how many reminders it published.
    @discardableResult
    public func sendDeadlineReminders() async throws -> Int {
        let now = clock()
        // Deadlines are local dates: every zone's "within 24 h" lies within a day either side of UTC's.
        let today = LocalDate(now, in: .gmt)
        var due: [(intent: NotificationIntent, goalID: UUID, deadline: LocalDate)] = []
        for (goal, userZone) in try await scheduler.goalsAwaitingReminder(deadlinesFrom: today.adding(days: -1), to: today.adding(days: 2)) {
            guard let deadline = goal.deadline else { continue }
            let zone = TimeZones.named(goal.timezone ?? userZone) ?? .gmt
            guard GoalMath.deadlineIsNear(deadline, in: zone, now: now) else { continue }
            let progress = try await goals.progress(of: goal, userZone: userZone, now: now)
            guard progress.current < goal.target else { continue }
            due.append(
                (
                    .goalDeadlineNear(
                        userID: goal.userID, goalID: goal.id, title: goal.title, current: progress.current, target: goal.target,
                        unit: goal.unit, deadline: deadline), goal.id, deadline
                ))
        }
        guard !due.isEmpty else { return 0 }
        try await intents.publish(due.map(\.intent))
        try await scheduler.recordReminders(due.map { ($0.goalID, $0.deadline) })
        logger.info("scheduler: \(due.count) deadline reminder(s) sent")
        return due.count
    }
}
