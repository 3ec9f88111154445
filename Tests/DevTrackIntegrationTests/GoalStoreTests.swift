import DevTrackCore
import DevTrackStore
import DevTrackTestSupport
import Foundation
import Logging
import PostgresNIO
import Testing

@Suite(.timeLimit(.minutes(3)))
struct GoalStoreTests {
    let logger = Logger(label: "goal-store-tests")

    func fact(_ id: String, _ user: UUID, _ kind: ActivityKind, _ at: String) -> ActivityFact {
        ActivityFact(id: id, userID: user, kind: kind, occurredAt: Timestamps.parse(at)!, repo: "o/r", language: nil, source: "github-app")
    }

    func goal(_ user: UUID, _ unit: String, _ period: GoalPeriod, target: Int, created: String, timezone: String? = nil) -> GoalRecord {
        GoalRecord(
            id: UUID(), userID: user, title: "t", target: target, unit: GoalUnit(unit)!, period: period, deadline: nil,
            timezone: timezone, createdAt: Timestamps.parse(created)!)
    }

    @Test func progressCountsTheCurrentPeriodIncludingActivityBeforeTheGoalExisted() async throws {
        try await TestDatabase.shared.withFreshStore { store, _ in
            let user = try await store.users.createUser(login: "dev", githubID: 1, timezone: "Asia/Kolkata")
            let facts = [
                fact("commit:last-week", user.id, .commit, "2024-03-10T18:00:00Z"),  // Sun 23:30 IST: the week before
                fact("commit:a", user.id, .commit, "2024-03-10T18:30:00Z"),  // Mon 00:00 IST: this week
                fact("commit:b", user.id, .commit, "2024-03-12T09:00:00Z"),
                fact("commit:c", user.id, .commit, "2024-03-13T09:00:00Z"),
                fact("review:1", user.id, .review, "2024-03-12T09:00:00Z"),
            ]
            for _ in 0..<2 {  // redelivered: counted once
                _ = try await store.database.transaction { try await store.activity.applyFacts(facts, on: $0) }
            }
            // Created on Wednesday the 13th; "now" is Thursday the 14th.
            let now = Timestamps.parse("2024-03-14T06:00:00Z")!
            let weekly = goal(user.id, "commits", .weekly, target: 2, created: "2024-03-13T00:00:00Z")
            let progress = try await store.goals.progress(of: weekly, userZone: user.timezone, now: now)
            #expect(progress.window == GoalWindow(start: LocalDate("2024-03-11")!, end: LocalDate("2024-03-17")!))
            #expect(progress.current == 3)
            #expect(progress.completedAt == Timestamps.parse("2024-03-12T09:00:00Z"), "the second commit of the week reached it")

            // In UTC the Monday-midnight commit falls into the week before.
            let utc = goal(user.id, "commits", .weekly, target: 5, created: "2024-03-13T00:00:00Z", timezone: "UTC")
            let inUTC = try await store.goals.progress(of: utc, userZone: user.timezone, now: now)
            #expect(inUTC.current == 2)
            #expect(inUTC.completedAt == nil)

            let reviews = goal(user.id, "reviews", .monthly, target: 1, created: "2024-03-01T00:00:00Z")
            #expect(try await store.goals.progress(of: reviews, userZone: user.timezone, now: now).current == 1)
            let active = goal(user.id, "active_days", .weekly, target: 3, created: "2024-03-01T00:00:00Z")
            let days = try await store.goals.progress(of: active, userZone: user.timezone, now: now)
            #expect(days.current == 3, "the 11th, 12th and 13th (IST)")
            #expect(days.completedAt == LocalDate("2024-03-13")!.startOfDay(in: TimeZone(identifier: "Asia/Kolkata")!))
        }
    }

    @Test func codingMinutesComeFromCodingTime() async throws {
        try await TestDatabase.shared.withFreshStore { store, _ in
            let user = try await store.users.createUser(login: "dev", githubID: 1, timezone: "UTC")
            let beats = (0..<11).map { Heartbeat(time: 1_710_000_000 + Double($0) * 60, entity: "a") }  // 10 minutes on 2024-03-09
            _ = try await store.database.transaction {
                try await store.codingTime.applyHeartbeats([user.id: beats], timeout: 900, on: $0)
            }
            let daily = goal(user.id, "coding_minutes", .daily, target: 30, created: "2024-03-01T00:00:00Z")
            let progress = try await store.goals.progress(of: daily, userZone: "UTC", now: Timestamps.parse("2024-03-09T20:00:00Z")!)
            #expect(progress.current == 10)
            #expect(GoalMath.percent(current: progress.current, target: daily.target) == 33.33)
        }
    }

    @Test func historyHasOneRowPerFinishedPeriod() async throws {
        try await TestDatabase.shared.withFreshStore { store, _ in
            let user = try await store.users.createUser(login: "dev", githubID: 1, timezone: "UTC")
            let facts = [
                fact("commit:1", user.id, .commit, "2024-02-27T10:00:00Z"),  // week of Mon 02-26
                fact("commit:2", user.id, .commit, "2024-02-29T10:00:00Z"),
                fact("commit:3", user.id, .commit, "2024-03-06T10:00:00Z"),  // week of 03-04
                fact("commit:4", user.id, .commit, "2024-03-12T10:00:00Z"),  // the current week: not history
            ]
            _ = try await store.database.transaction { try await store.activity.applyFacts(facts, on: $0) }
            let weekly = goal(user.id, "commits", .weekly, target: 2, created: "2024-02-28T00:00:00Z")
            let history = try await store.goals.history(of: weekly, userZone: "UTC", now: Timestamps.parse("2024-03-13T12:00:00Z")!)
            #expect(
                history.map { "\($0.window.start)…\($0.window.end)=\($0.achieved)" } == ["2024-03-04…2024-03-10=1", "2024-02-26…2024-03-03=2"],
                "newest first; the week it was created in counts whole")
            var once = goal(user.id, "commits", .once, target: 3, created: "2024-02-28T00:00:00Z")
            once.deadline = LocalDate("2024-03-08")
            #expect(try await store.goals.history(of: once, userZone: "UTC", now: Timestamps.parse("2024-03-13T12:00:00Z")!).map(\.achieved) == [2])
            #expect(
                try await store.goals.history(of: once, userZone: "UTC", now: Timestamps.parse("2024-03-05T12:00:00Z")!).isEmpty,
                "before the deadline")
        }
    }
}
