import DevTrackCore
import DevTrackStore
import Foundation
import Kafka
import Logging
import Synchronization

/// `goals`: its own consumer group on `devtrack.activity`. It stores the batch's facts (idempotently, so
/// progress never waits on the metrics worker), then decides which goals the facts may have completed.
///
/// Reading every touched goal's progress from PostgreSQL costs tens of microseconds per goal, several goals
/// per fact. So the worker keeps, per goal and period, an upper bound of its progress in memory: a goal's
/// bound plus what the batch can add (`GoalMath.increase`) below its target means it cannot be complete,
/// and nothing is read. Only goals that may have reached their target, that are new to the worker, or
/// whose coding time changed are read exactly (from the daily aggregates, bounded by the period), and only
/// an exact reading completes a goal — so the bound can make the worker read more, never miss or invent a
/// completion. Goals themselves are kept in memory per user and reloaded when the user's goals revision
/// or zone changes; everything is forgotten when partitions move.
///
/// A completion emits `goal.completed` first to `devtrack.notifications` (its dedupe key makes a
/// re-emission harmless), then is recorded, then `BatchWorker` commits the offsets. Goals the facts moved
/// are announced to the user's open web clients as `goal.progress`.
public final class GoalsHandler: BatchHandler, Sendable {
    let database: Database
    let activity: ActivityRepository
    let goals: GoalRepository
    let liveEvents: LiveEventRepository
    let intents: IntentPublisher
    let logger: Logger
    let clock: @Sendable () -> Date
    private let memory = Mutex(GoalMemory())

    public init(database: Database, producer: KafkaProducer, logger: Logger, clock: @escaping @Sendable () -> Date = Date.init) {
        self.database = database
        self.activity = ActivityRepository(database)
        self.goals = GoalRepository(database)
        self.liveEvents = LiveEventRepository(database)
        self.intents = IntentPublisher(producer: producer)
        self.logger = logger
        self.clock = clock
    }

    public func partitionsChanged() {
        memory.withLock { $0 = GoalMemory() }
    }

    public func apply(_ batch: [KafkaMessage]) async throws {
        // Messages that are not facts are skipped here (the metrics worker dead-letters them).
        let facts = decodeFacts(batch).values
        guard !facts.isEmpty else { return }
        // The metrics worker may not have stored these yet: storing them here too is harmless (a fact is
        // kept once, and only its first insertion counts in the aggregates), and progress then sees them.
        let owners = try await activity.applyFacts(facts).owners

        let byUser = Dictionary(grouping: facts, by: \.userID)
        let stale = memory.withLock { memory in owners.filter { memory.users[$0.key]?.owner != $0.value }.map(\.key) }
        let reloaded = try await goals.goals(userIDs: stale)
        let now = clock()

        // Per touched goal: skip it on its bound, or read it exactly.
        let (toRead, movedOnBound): ([GoalInPeriod], [GoalRecord]) = memory.withLock { memory in
            for userID in stale { memory.users[userID] = GoalMemory.User(owner: owners[userID]!, goals: reloaded[userID] ?? []) }
            var todays: [String: LocalDate] = [:]
            var toRead: [GoalInPeriod] = []
            var movedOnBound: [GoalRecord] = []
            for (userID, userFacts) in byUser {
                guard let user = memory.users[userID] else { continue }
                // Most goals are in the user's zone; a goal with its own zone sees the facts in that one.
                var inZone: [String: LocalFacts] = [:]
                func localFacts(_ zone: TimeZone) -> LocalFacts {
                    if let known = inZone[zone.identifier] { return known }
                    let facts = LocalFacts(userFacts, zone: zone)
                    inZone[zone.identifier] = facts
                    return facts
                }
                let units = localFacts(memory.zone(named: user.owner.timezone)).units
                for goal in user.goals where units.contains(goal.unit) {
                    let current = memory.period(of: goal, owner: user.owner, now: now, todays: &todays)
                    guard let increase = GoalMath.increase(of: goal.unit, in: current.window, from: localFacts(current.zone)) else {
                        toRead.append(current)
                        continue
                    }
                    guard increase > 0 else { continue }
                    switch memory.bounds[goal.id] {
                    case .some(let bound) where bound.key == current.boundKey && bound.completed:
                        movedOnBound.append(goal)
                    case .some(let bound) where bound.key == current.boundKey && bound.atMost + increase < goal.target:
                        memory.bounds[goal.id]?.atMost += increase
                        movedOnBound.append(goal)
                    default:
                        toRead.append(current)
                    }
                }
            }
            return (toRead, movedOnBound)
        }
        let progress = toRead.isEmpty ? [:] : try await goals.currentProgress(toRead)
        try await announceProgress(read: toRead, progress: progress, movedOnBound: movedOnBound)
        guard !toRead.isEmpty else { return }

        let reachedCandidates = toRead.filter { (progress[$0.goal.id] ?? 0) >= $0.goal.target }
        let recorded = try await goals.recordedCompletions(reachedCandidates.map(\.key))
        let reached = reachedCandidates.filter { !recorded.contains($0.key) }
        memory.withLock { memory in
            for goal in toRead {
                let current = progress[goal.goal.id] ?? 0
                memory.bounds[goal.goal.id] = GoalMemory.Bound(key: goal.boundKey, atMost: current, completed: current >= goal.goal.target)
            }
        }
        guard !reached.isEmpty else { return }
        var completions: [(key: GoalPeriodKey, at: Date)] = []
        for goal in reached {
            // When exactly the target was reached (the reaching fact's time), for the few goals that did.
            let detail = try await goals.progress(of: goal.goal, userZone: goal.zone.identifier, now: now)
            completions.append((goal.key, detail.completedAt ?? now))
        }
        try await intents.publish(
            reached.map { goal in
                .goalCompleted(
                    userID: goal.goal.userID, goalID: goal.goal.id, title: goal.goal.title, target: goal.goal.target,
                    unit: goal.goal.unit, window: goal.window)
            })
        try await goals.recordCompletions(completions)
        logger.info("goals: \(reached.count) goal(s) completed")
    }

    /// Tells the users' open web clients which goals moved (`goal.progress`), with the progress read exactly.
    /// The facts are committed already, so a client re-reading a goal sees them.
    private func announceProgress(read: [GoalInPeriod], progress: [UUID: Int], movedOnBound: [GoalRecord]) async throws {
        var byUser: [UUID: [(id: UUID, target: Int, progress: Int?)]] = [:]
        for goal in read { byUser[goal.goal.userID, default: []].append((goal.goal.id, goal.goal.target, progress[goal.goal.id] ?? 0)) }
        for goal in movedOnBound { byUser[goal.userID, default: []].append((goal.id, goal.target, nil)) }
        guard !byUser.isEmpty else { return }
        let events = byUser.map { LiveEvent.goalProgress(userID: $0.key, goals: $0.value) }
        try await database.transaction { try await liveEvents.announce(events, on: $0) }
    }
}

/// What the goals worker remembers between batches (per process, forgotten when partitions move).
struct GoalMemory {
    struct User {
        let owner: GoalOwner
        let goals: [GoalRecord]
    }

    /// The period a bound is about: a new period, another zone or another deadline starts from an exact read.
    struct BoundKey: Equatable {
        let start: LocalDate
        let deadline: LocalDate?
        let zone: String
    }

    /// At most `atMost` progress in that period (exact when read, plus every increase since).
    struct Bound {
        let key: BoundKey
        var atMost: Int
        var completed: Bool
    }

    var users: [UUID: User] = [:]
    var bounds: [UUID: Bound] = [:]
    // Zone lookups and offsets are the costly part of a period: each zone once per batch, each goal's
    // creation date once per zone.
    private var zones: [String: TimeZone] = [:]
    private var createdDays: [UUID: (zone: String, day: LocalDate)] = [:]

    mutating func zone(named name: String) -> TimeZone {
        if let known = zones[name] { return known }
        let zone = TimeZones.named(name) ?? .gmt
        zones[name] = zone
        return zone
    }

    /// `todays` caches each zone's local date at `now` for one batch.
    mutating func period(of goal: GoalRecord, owner: GoalOwner, now: Date, todays: inout [String: LocalDate]) -> GoalInPeriod {
        let zoneName = goal.timezone ?? owner.timezone
        let zone = zone(named: zoneName)
        let today = todays[zoneName] ?? LocalDate(now, in: zone)
        todays[zoneName] = today
        let created: LocalDate
        if let cached = createdDays[goal.id], cached.zone == zoneName {
            created = cached.day
        } else {
            created = LocalDate(goal.createdAt, in: zone)
            createdDays[goal.id] = (zoneName, created)
        }
        let window = GoalMath.window(goal.period, containing: today, created: created, deadline: goal.deadline)
        return GoalInPeriod(goal: goal, zone: zone, inUserZone: goal.timezone == nil || goal.timezone == owner.timezone, window: window)
    }
}

extension GoalInPeriod {
    var boundKey: GoalMemory.BoundKey {
        GoalMemory.BoundKey(start: window.start, deadline: goal.deadline, zone: zone.identifier)
    }
}
