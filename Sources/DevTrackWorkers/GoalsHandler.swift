import DevTrackCore
import DevTrackStore
import Foundation
import Kafka
import Logging

/// `goals`: its own consumer group on `devtrack.activity`. For every user a batch touches, it stores the
/// facts (idempotently) and evaluates
/// their goals in the current period and emits `goal.completed` once per goal and period: the intent goes
/// to `devtrack.notifications` first (its dedupe key makes a re-emission harmless), then the completion is
/// recorded, then `BatchWorker` commits the offsets. Undecodable facts are left to the metrics worker,
/// which dead-letters them.
public struct GoalsHandler: BatchHandler {
    let store: HubStore
    let producer: KafkaProducer
    let logger: Logger
    let clock: @Sendable () -> Date

    public init(store: HubStore, producer: KafkaProducer, logger: Logger, clock: @escaping @Sendable () -> Date = Date.init) {
        self.store = store
        self.producer = producer
        self.logger = logger
        self.clock = clock
    }

    public func apply(_ batch: [KafkaMessage]) async throws {
        let decoder = FactCoding.decoder()
        let facts = batch.compactMap { message in message.value.flatMap { try? decoder.decode(ActivityFact.self, from: Data($0)) } }
        // The metrics worker may not have stored these yet: storing them here too is harmless (a fact is
        // kept once, and only its first insertion counts in the daily stats), and progress then sees them.
        try await store.client.withTransaction(logger: logger) { try await store.applyFacts(facts, on: $0) }
        let users = Set(facts.map(\.userID))
        let now = clock()
        var intents: [NotificationIntent] = []
        var completions: [(key: GoalPeriodKey, at: Date)] = []
        for userID in users {
            guard let user = try await store.user(id: userID) else { continue }
            let goals = try await store.goals(userID: userID)
            guard !goals.isEmpty else { continue }
            let recorded = try await store.recordedCompletions(goalIDs: goals.map(\.id))
            for goal in goals {
                let progress = try await store.progress(of: goal, userZone: user.timezone, now: now)
                let key = GoalPeriodKey(goalID: goal.id, periodStart: progress.window.start)
                guard progress.current >= goal.target, !recorded.contains(key) else { continue }
                intents.append(.goalCompleted(
                    userID: userID, goalID: goal.id, title: goal.title, target: goal.target, unit: goal.unit, window: progress.window))
                completions.append((key, progress.completedAt ?? now))
            }
        }
        guard !intents.isEmpty else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try await withThrowingTaskGroup(of: Void.self) { group in
            for intent in intents {
                let value = try encoder.encode(intent)
                group.addTask {
                    try await producer.send(KafkaOutgoingMessage(
                        topic: Topics.notifications, key: Array(intent.userID.uuidString.lowercased().utf8), value: Array(value)))
                }
            }
            try await group.waitForAll()
        }
        try await store.recordCompletions(completions)
        logger.info("goals: \(intents.count) goal(s) completed")
    }
}
