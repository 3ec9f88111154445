import DevTrackCore
import DevTrackStore
import Foundation
import Kafka
import Logging

/// `goals`: its own consumer group on `devtrack.activity`. It stores the batch's facts (idempotently, so
/// progress never waits on the metrics worker), then re-evaluates only the goals those facts can move:
/// the users' goals of an affected unit whose current period contains one of the facts and that are not
/// completed in it yet. Progress is read from the daily aggregates (bounded by the period, not the user's
/// history). A goal reaching its target emits `goal.completed` — first to `devtrack.notifications` (its
/// dedupe key makes a re-emission harmless), then the completion is recorded, then `BatchWorker` commits.
public struct GoalsHandler: BatchHandler {
    let store: HubStore
    let intents: IntentPublisher
    let logger: Logger
    let clock: @Sendable () -> Date

    public init(store: HubStore, producer: KafkaProducer, logger: Logger, clock: @escaping @Sendable () -> Date = Date.init) {
        self.store = store
        self.intents = IntentPublisher(producer: producer)
        self.logger = logger
        self.clock = clock
    }

    public func apply(_ batch: [KafkaMessage]) async throws {
        let facts = decodeFacts(batch)
        guard !facts.isEmpty else { return }
        // The metrics worker may not have stored these yet: storing them here too is harmless (a fact is
        // kept once, and only its first insertion counts in the aggregates), and progress then sees them.
        try await store.client.withTransaction(logger: logger) { try await store.applyFacts(facts, on: $0) }

        var touched: [UUID: [GoalUnit: [Date]]] = [:]
        for fact in facts {
            for unit in GoalUnit.affected(by: fact.kind) { touched[fact.userID, default: [:]][unit, default: []].append(fact.occurredAt) }
        }
        let now = clock()
        let pairs = touched.flatMap { user, units in units.keys.map { (userID: user, unit: $0) } }
        let candidates = try await store.goals(units: pairs, now: now).filter { goal in
            // Only a fact inside the current period can move it.
            (touched[goal.goal.userID]?[goal.goal.unit] ?? []).contains { instant in
                let day = LocalDate(instant, in: goal.zone)
                return day >= goal.window.start && day <= goal.window.end
            }
        }
        let recorded = try await store.recordedCompletions(candidates.map(\.key))
        let open = candidates.filter { !recorded.contains($0.key) }
        let progress = try await store.currentProgress(open)
        let reached = open.filter { (progress[$0.goal.id] ?? 0) >= $0.goal.target }
        guard !reached.isEmpty else { return }

        var completions: [(key: GoalPeriodKey, at: Date)] = []
        for goal in reached {
            // When exactly the target was reached (the reaching fact's time), for the few goals that did.
            let detail = try await store.progress(of: goal.goal, userZone: goal.zone.identifier, now: now)
            completions.append((goal.key, detail.completedAt ?? now))
        }
        try await intents.publish(reached.map { goal in
            .goalCompleted(
                userID: goal.goal.userID, goalID: goal.goal.id, title: goal.goal.title, target: goal.goal.target,
                unit: goal.goal.unit, window: goal.window)
        })
        try await store.recordCompletions(completions)
        logger.info("goals: \(reached.count) goal(s) completed")
    }
}
