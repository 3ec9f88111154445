import DevTrackCore
import DevTrackStore
import DevTrackTestSupport
import DevTrackWorkers
import Foundation
import Kafka
import Logging
import PostgresNIO
import Synchronization
import Testing

/// The goals and achievements workers' handlers against the real PostgreSQL and librdkafka's mock cluster
/// (where their notification intents go), fed batches directly so each step is deterministic.
@Suite(.timeLimit(.minutes(3)))
struct AchievementsWorkerTests {
    let logger = Logger(label: "achievements-tests")
    static let now = Timestamps.parse("2024-03-20T12:00:00Z")!

    func message(_ fact: ActivityFact, offset: Int64) throws -> KafkaMessage {
        KafkaMessage(
            topic: Topics.activity, partition: 0, offset: offset, key: Array(fact.userID.uuidString.lowercased().utf8),
            value: Array(try FactCoding.encoder().encode(fact)))
    }

    func fact(_ id: String, _ user: UUID, _ kind: ActivityKind, _ at: String, language: String? = nil) -> ActivityFact {
        ActivityFact(id: id, userID: user, kind: kind, occurredAt: Timestamps.parse(at)!, repo: "o/r", language: language, source: "github-app")
    }

    /// A mock cluster with the notifications topic, a producer, and a way to read every intent so far.
    /// `read()` returns every intent published so far: the topic read up to its high watermark, which holds all of them
    /// since a handler's `apply` returns only once its sends are acknowledged.
    func withNotifications(
        _ body: @Sendable (TestStore, KafkaProducer, @Sendable () async throws -> [NotificationIntent]) async throws -> Void
    ) async throws {
        try await TestDatabase.shared.withFreshStore { store, _ in
            let cluster = try KafkaMockCluster(brokers: 1, logger: logger)
            try cluster.createTopic(KafkaTopicSpecification(name: Topics.notifications, partitions: 1, replicationFactor: 1))
            let producer = try KafkaProducer(configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers), logger: logger)
            let consumer = try KafkaConsumer(
                configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers, ["group.id": "test-reader"]),
                topics: [Topics.notifications], logger: logger)
            let seen = IntentLog()
            let read: @Sendable () async throws -> [NotificationIntent] = {
                let high = try await consumer.watermarks(KafkaTopicPartition(topic: Topics.notifications, partition: 0)).high
                let deadline = ContinuousClock.now + .seconds(20)
                while seen.next < high {
                    try #require(ContinuousClock.now < deadline, "read \(seen.next) of the topic's \(high) message(s) within 20 s")
                    for message in try await consumer.poll(maxMessages: 500, maxWait: .milliseconds(200)) {
                        seen.append(try JSONDecoder().decode(NotificationIntent.self, from: Data(message.value ?? [])), offset: message.offset)
                    }
                }
                return seen.all
            }
            do {
                try await body(store, producer, read)
            } catch {
                await consumer.close()
                await producer.shutdown()
                await cluster.shutdown()
                throw error
            }
            await consumer.close()
            await producer.shutdown()
            await cluster.shutdown()
        }
    }

    @Test func habitsLanguagesAndStreaksUnlockOnceEvenWhenTheBatchComesAgain() async throws {
        try await withNotifications { store, producer, intents in
            let user = try await store.users.createUser(login: "owl", githubID: 1, timezone: "Asia/Kolkata")
            let handler = AchievementsHandler(database: store.database, producer: producer, logger: logger, clock: { Self.now })
            // Ten days in a row (2024-03-01…10), one commit each at 01:30 IST, in five languages, and a merge.
            let languages = ["Swift", "Go", "Rust", "Python", "Kotlin"]
            // 20:00Z on the previous UTC day is 01:30 IST on the day.
            var facts = (1...10).map { day in
                let previous = LocalDate(year: 2024, month: 3, day: day)!.adding(days: -1)
                return fact("commit:\(day)", user.id, .commit, "\(previous)T20:00:00Z", language: languages[day % 5])
            }
            facts.append(fact("pr_merged:1", user.id, .prMerged, "2024-03-10T10:00:00Z"))
            let batch = try facts.enumerated().map { try message($0.element, offset: Int64($0.offset)) }
            try await handler.apply(batch)
            try await handler.apply(batch)  // redelivered

            let totals = try #require(try await store.achievements.achievementTotals(userIDs: [user.id])[user.id])
            #expect(totals[.commits] == 10, "counted once")
            #expect(totals[.nightOwlDays] == 10)
            #expect(totals[.earlyBirdDays] == 10)
            #expect(totals[.languages] == 5)
            #expect(totals[.streakDays] == 10)
            #expect(totals[.activeWeekends] == 2, "Sat 2 + Sun 3 and Sat 9 + Sun 10 March")
            let unlocked = Set((try await store.achievements.unlockedAchievements(userIDs: [user.id])[user.id] ?? []).map(\.achievementID))
            #expect(unlocked == ["first_commit", "first_pr_merged", "night_owl", "early_bird", "polyglot", "streak_7"])
            let unlock = try #require(
                try await store.achievements.unlockedAchievements(userIDs: [user.id])[user.id]?.first { $0.achievementID == "first_pr_merged" })
            #expect(unlock.factID == "pr_merged:1", "records the fact that reached it")

            let sent = try await intents()
            #expect(sent.count == 7, "six unlocks and one milestone, once each: \(sent.map(\.dedupeKey))")
            #expect(Set(sent.map(\.dedupeKey)).count == sent.count)
            #expect(sent.filter { $0.type == "streak.milestone" }.map { $0.data["days"] } == ["7"])
        }
    }

    @Test func anUnlockRaisedByAFactAnotherWorkerStoredNamesThatFact() async throws {
        try await withNotifications { store, producer, _ in
            let user = try await store.users.createUser(login: "dev", githubID: 1, timezone: "UTC")
            let handler = AchievementsHandler(database: store.database, producer: producer, logger: logger, clock: { Self.now })
            // The metrics worker stored the commit (and counted it) before this worker's batch with it.
            let commit = fact("commit:abc", user.id, .commit, "2024-03-20T10:00:00Z")
            _ = try await store.database.transaction { try await store.activity.applyFacts([commit], on: $0) }
            try await handler.apply([try message(fact("review:1", user.id, .review, "2024-03-20T11:00:00Z"), offset: 0)])
            let unlock = try #require(
                try await store.achievements.unlockedAchievements(userIDs: [user.id])[user.id]?.first { $0.achievementID == "first_commit" })
            #expect(unlock.factID == "commit:abc")
        }
    }

    @Test func codingTimeCountsOnceAndComesFromWhatIsStored() async throws {
        try await withNotifications { store, producer, intents in
            let user = try await store.users.createUser(login: "coder", githubID: 2, timezone: "UTC")
            let handler = AchievementsHandler(database: store.database, producer: producer, logger: logger, clock: { Self.now })
            // 10 h 30 min of Swift on 2024-03-16 (a Saturday): a heartbeat every 2 minutes from 08:00 UTC.
            let start = Timestamps.parse("2024-03-16T08:00:00Z")!.timeIntervalSince1970
            let beats = (0...315).map { Heartbeat(time: start + Double($0) * 120, entity: "main.swift", language: "Swift") }
            _ = try await store.database.transaction { try await store.codingTime.applyHeartbeats([user.id: beats], timeout: 900, on: $0) }
            let signal = ActivityFact.codingDay(userID: user.id, day: LocalDate("2024-03-16")!, zone: .gmt)
            try await handler.apply([try message(signal, offset: 0)])
            try await handler.apply([try message(signal, offset: 0)])  // the same signal again adds nothing

            let totals = try #require(try await store.achievements.achievementTotals(userIDs: [user.id])[user.id])
            #expect(totals[.codingHours] == 10)
            #expect(totals[.activeWeekends] == 1)
            #expect(totals[.languages] == 1)
            #expect(totals[.streakDays] == 1, "a coding day is an active day")
            #expect(try await intents().map { $0.data["achievement_id"] } == ["coding_hours_10"])
        }
    }

    @Test func goalsCompleteOnceAcrossBatchesAndFollowEditsAndRebalances() async throws {
        try await withNotifications { store, producer, intents in
            let user = try await store.users.createUser(login: "dev", githubID: 4, timezone: "UTC")
            let handler = GoalsHandler(database: store.database, producer: producer, logger: logger, clock: { Self.now })
            let weekly = GoalRecord(
                id: UUID(), userID: user.id, title: "Three a week", target: 3, unit: .commits, period: .weekly, deadline: nil,
                timezone: nil, createdAt: Timestamps.parse("2024-03-01T00:00:00Z")!)
            var reviews = GoalRecord(
                id: UUID(), userID: user.id, title: "Review", target: 5, unit: .reviews, period: .monthly, deadline: nil,
                timezone: nil, createdAt: Timestamps.parse("2024-03-01T00:00:00Z")!)
            try await store.goals.createGoal(weekly)
            try await store.goals.createGoal(reviews)
            var offset: Int64 = 0
            func send(_ facts: ActivityFact...) async throws {
                try await handler.apply(
                    try facts.map { fact in
                        offset += 1
                        return try message(fact, offset: offset)
                    })
            }
            // Now is Wednesday 2024-03-20: the week runs from Monday the 18th.
            try await send(fact("commit:1", user.id, .commit, "2024-03-18T10:00:00Z"), fact("review:1", user.id, .review, "2024-03-18T11:00:00Z"))
            try await send(fact("commit:1", user.id, .commit, "2024-03-18T10:00:00Z"))  // redelivered
            try await send(fact("commit:old", user.id, .commit, "2024-03-10T10:00:00Z"))  // last week's
            try await send(fact("commit:2", user.id, .commit, "2024-03-19T10:00:00Z"))
            let afterTwo = try await store.goals.recordedCompletions([GoalPeriodKey(goalID: weekly.id, periodStart: LocalDate("2024-03-18")!)])
            #expect(afterTwo.isEmpty, "two of three")
            try await send(fact("commit:3", user.id, .commit, "2024-03-20T09:00:00Z"))
            try await send(fact("commit:3", user.id, .commit, "2024-03-20T09:00:00Z"), fact("commit:4", user.id, .commit, "2024-03-20T10:00:00Z"))

            // Lowering a target is seen at the next fact (the goals revision moved).
            reviews.target = 2
            try await store.goals.updateGoal(reviews)
            try await send(fact("review:2", user.id, .review, "2024-03-19T11:00:00Z"))
            // After a rebalance nothing remembered is trusted; nothing is completed twice either.
            handler.partitionsChanged()
            try await send(fact("commit:5", user.id, .commit, "2024-03-20T11:00:00Z"), fact("review:3", user.id, .review, "2024-03-20T11:00:00Z"))

            let sent = try await intents()
            #expect(
                sent.map { $0.data["goal_id"] }.sorted { ($0 ?? "") < ($1 ?? "") }
                    == [weekly.id, reviews.id].map { $0.uuidString.lowercased() }.sorted(), "\(sent.map(\.dedupeKey))")
            #expect(sent.first { $0.data["goal_id"] == weekly.id.uuidString.lowercased() }?.data["period_start"] == "2024-03-18")
            let completed = try await store.goals.recordedCompletions([
                GoalPeriodKey(goalID: weekly.id, periodStart: LocalDate("2024-03-18")!),
                GoalPeriodKey(goalID: reviews.id, periodStart: LocalDate("2024-03-01")!),
            ])
            #expect(completed.count == 2)
        }
    }

    @Test func streakAtRiskGoesOutInEachUsersEveningOnceAndOnlyForLiveStreaks() async throws {
        try await withNotifications { store, producer, intents in
            func user(_ login: String, _ zone: String, runEnd: String, days: Int) async throws -> UUID {
                let user = try await store.users.createUser(login: login, githubID: Int64.random(in: 1...1_000_000), timezone: zone)
                let end = LocalDate(runEnd)!
                let run = StreakRun(start: end.adding(days: -(days - 1)), end: end, activeDays: days)
                try await store.database.transaction { try await store.achievements.updateStreaks([user.id: (run, days)], on: $0) }
                return user.id
            }
            let kolkata = try await user("kolkata", "Asia/Kolkata", runEnd: "2024-03-19", days: 5)
            let utc = try await user("utc", "UTC", runEnd: "2024-03-19", days: 4)
            _ = try await user("active-today", "Asia/Kolkata", runEnd: "2024-03-20", days: 6)
            _ = try await user("short", "Asia/Kolkata", runEnd: "2024-03-19", days: 2)
            let frozen = try await user("frozen", "Asia/Kolkata", runEnd: "2024-03-19", days: 9)
            _ = try await store.streakFreezes.freeze(userID: frozen, day: LocalDate("2024-03-20")!, allowance: 2)

            // 15:00 UTC is 20:30 in Kolkata: only the Kolkata user with a live 5-day streak is reminded, once.
            let afternoon = Scheduler(
                database: store.database, producer: producer, interval: .seconds(60), logger: logger,
                clock: { Timestamps.parse("2024-03-20T15:00:00Z")! })
            #expect(try await afternoon.sendStreakRiskReminders() == 1)
            #expect(try await afternoon.sendStreakRiskReminders() == 0, "already sent today")
            // 20:00 UTC: the UTC user's evening.
            let evening = Scheduler(
                database: store.database, producer: producer, interval: .seconds(60), logger: logger,
                clock: { Timestamps.parse("2024-03-20T20:00:00Z")! })
            #expect(try await evening.sendStreakRiskReminders() == 1)

            let sent = try await intents()
            #expect(
                sent.map(\.dedupeKey) == [
                    "streak.at_risk:\(kolkata.uuidString.lowercased()):2024-03-20", "streak.at_risk:\(utc.uuidString.lowercased()):2024-03-20",
                ])
            #expect(sent.first?.data["days"] == "5")
        }
    }

    @Test func dailySummariesGoOutOnceForActiveDaysAfterEachUsersMidnight() async throws {
        try await withNotifications { store, producer, intents in
            let active = try await store.users.createUser(login: "active", githubID: 11, timezone: "Asia/Kolkata")
            let quiet = try await store.users.createUser(login: "quiet", githubID: 12, timezone: "Asia/Kolkata")
            let coder = try await store.users.createUser(login: "coder", githubID: 13, timezone: "America/New_York")
            // The 19th in Kolkata: two commits and a review. The 19th in New York: 30 minutes of coding.
            _ = try await store.database.transaction {
                try await store.activity.applyFacts(
                    [
                        fact("commit:a", active.id, .commit, "2024-03-19T05:00:00Z"), fact("commit:b", active.id, .commit, "2024-03-19T06:00:00Z"),
                        fact("review:a", active.id, .review, "2024-03-19T07:00:00Z"),
                    ], on: $0)
            }
            let start = Timestamps.parse("2024-03-19T16:00:00Z")!.timeIntervalSince1970
            let beats = (0...30).map { Heartbeat(time: start + Double($0) * 60, entity: "a.swift", language: "Swift") }
            _ = try await store.database.transaction { try await store.codingTime.applyHeartbeats([coder.id: beats], timeout: 900, on: $0) }

            // 2024-03-20T02:00Z: past midnight in Kolkata (07:30), still the 19th in New York (22:00).
            let morning = Scheduler(
                database: store.database, producer: producer, interval: .seconds(60), logger: logger,
                clock: { Timestamps.parse("2024-03-20T02:00:00Z")! })
            #expect(try await morning.sendDailySummaries() == 1)
            #expect(try await morning.sendDailySummaries() == 0, "once per user and date")
            let later = Scheduler(
                database: store.database, producer: producer, interval: .seconds(60), logger: logger,
                clock: { Timestamps.parse("2024-03-20T05:00:00Z")! })
            #expect(try await later.sendDailySummaries() == 1, "New York's midnight has passed")

            let sent = try await intents()
            #expect(
                sent.map(\.dedupeKey) == [
                    "daily.summary:\(active.id.uuidString.lowercased()):2024-03-19", "daily.summary:\(coder.id.uuidString.lowercased()):2024-03-19",
                ])
            #expect(sent.first?.body == "2 commits and 1 review.")
            #expect(sent.last?.data["coding_minutes"] == "30")
            #expect(!sent.contains { $0.userID == quiet.id })
        }
    }

    @Test func weeklySummariesGoOutOnMondayMorningLocallyOncePerWeek() async throws {
        try await withNotifications { store, producer, intents in
            let user = try await store.users.createUser(login: "weekly", githubID: 21, timezone: "Asia/Kolkata")
            _ = try await store.users.createUser(login: "idle", githubID: 22, timezone: "Asia/Kolkata")
            // In the ISO week of Monday 2024-03-11 (Kolkata): commits on two days; a goal completed; a commit the week after.
            _ = try await store.database.transaction {
                try await store.activity.applyFacts(
                    [
                        fact("commit:a", user.id, .commit, "2024-03-11T05:00:00Z"), fact("commit:b", user.id, .commit, "2024-03-15T05:00:00Z"),
                        fact("commit:c", user.id, .commit, "2024-03-17T19:00:00Z"),  // Monday 00:30 IST: next week
                    ], on: $0)
            }
            let goal = GoalRecord(
                id: UUID(), userID: user.id, title: "g", target: 1, unit: .commits, period: .daily, deadline: nil,
                timezone: nil, createdAt: Timestamps.parse("2024-03-01T00:00:00Z")!)
            try await store.goals.createGoal(goal)
            try await store.goals.recordCompletions([
                (GoalPeriodKey(goalID: goal.id, periodStart: LocalDate("2024-03-15")!), Timestamps.parse("2024-03-15T05:00:00Z")!)
            ])

            func scheduler(_ instant: String) -> Scheduler {
                Scheduler(database: store.database, producer: producer, interval: .seconds(60), logger: logger, clock: { Timestamps.parse(instant)! })
            }
            #expect(try await scheduler("2024-03-18T03:29:00Z").sendWeeklySummaries() == 0, "08:59 on Monday in Kolkata")
            #expect(try await scheduler("2024-03-18T03:30:00Z").sendWeeklySummaries() == 1, "09:00")
            #expect(try await scheduler("2024-03-18T10:00:00Z").sendWeeklySummaries() == 0, "once per week")
            #expect(try await scheduler("2024-03-19T03:30:00Z").sendWeeklySummaries() == 0, "Tuesday")

            let sent = try await intents()
            #expect(sent.map(\.dedupeKey) == ["weekly.summary:\(user.id.uuidString.lowercased()):2024-03-11"])
            #expect(sent.first?.body == "2 commits on 2 active days; 1 goal completed.")
        }
    }

    @Test func bulkGoalProgressAgreesWithTheOneByOneReference() async throws {
        try await TestDatabase.shared.withFreshStore { store, _ in
            let user = try await store.users.createUser(login: "dev", githubID: 3, timezone: "Asia/Kolkata")
            let facts = [
                fact("commit:a", user.id, .commit, "2024-03-10T18:30:00Z"),  // Mon 00:00 IST, Sun 18:30 UTC
                fact("commit:b", user.id, .commit, "2024-03-12T09:00:00Z"),
                fact("review:1", user.id, .review, "2024-03-13T09:00:00Z"),
                fact("pr_merged:1", user.id, .prMerged, "2024-03-13T10:00:00Z"),
            ]
            _ = try await store.database.transaction { try await store.activity.applyFacts(facts, on: $0) }
            let beats = (0..<21).map {
                Heartbeat(time: Timestamps.parse("2024-03-14T04:00:00Z")!.timeIntervalSince1970 + Double($0) * 60, entity: "x")
            }
            _ = try await store.database.transaction { try await store.codingTime.applyHeartbeats([user.id: beats], timeout: 900, on: $0) }
            let now = Timestamps.parse("2024-03-14T06:00:00Z")!
            let specifications: [(String, GoalPeriod, String?)] = [
                ("commits", .weekly, nil), ("commits", .weekly, "UTC"), ("reviews", .monthly, nil), ("prs_merged", .daily, nil),
                ("active_days", .weekly, nil), ("coding_minutes", .daily, nil), ("coding_minutes", .once, nil),
            ]
            for (unit, period, zone) in specifications {
                try await store.goals.createGoal(
                    GoalRecord(
                        id: UUID(), userID: user.id, title: unit, target: 1, unit: GoalUnit(unit)!, period: period, deadline: nil,
                        timezone: zone, createdAt: Timestamps.parse("2024-03-01T00:00:00Z")!))
            }
            let goals = (try await store.goals.goals(userIDs: [user.id])[user.id] ?? []).map { goal in
                let zone = TimeZone(identifier: goal.timezone ?? user.timezone)!
                return GoalInPeriod(
                    goal: goal, zone: zone, inUserZone: goal.timezone == nil,
                    window: GoalMath.window(
                        goal.period, containing: LocalDate(now, in: zone), created: LocalDate(goal.createdAt, in: zone), deadline: nil))
            }
            #expect(goals.count == specifications.count)
            let bulk = try await store.goals.currentProgress(goals)
            for goal in goals {
                let reference = try await store.goals.progress(of: goal.goal, userZone: user.timezone, now: now)
                #expect(bulk[goal.goal.id] == reference.current, "\(goal.goal.unit) \(goal.goal.period) \(goal.goal.timezone ?? "")")
                #expect(goal.window == reference.window)
            }
            #expect(bulk.values.sorted() == [0, 1, 1, 2, 4, 20, 20], "\(bulk)")
        }
    }
}

/// Intents read so far, shared with the reading closure.
final class IntentLog: Sendable {
    private let items = Mutex<(intents: [NotificationIntent], next: Int64)>(([], 0))
    func append(_ intent: NotificationIntent, offset: Int64) {
        items.withLock {
            $0.intents.append(intent)
            $0.next = max($0.next, offset + 1)
        }
    }
    var all: [NotificationIntent] { items.withLock { $0.intents } }
    /// The offset after the last message read.
    var next: Int64 { items.withLock { $0.next } }
}
