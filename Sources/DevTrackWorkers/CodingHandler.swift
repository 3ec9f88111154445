import DevTrackCore
import DevTrackStore
import Foundation
import Kafka
import Logging

/// `coding`: heartbeat batches → `heartbeats` + `coding_daily`, one PostgreSQL transaction per Kafka batch.
/// Heartbeats collapse on their natural key and touched days are recomputed from what is stored, so
/// redelivery, replay and late arrivals all end in the same totals. After the transaction, each changed
/// (user, local day) is announced on `devtrack.activity` as a `coding_day` signal, so the goals and
/// achievements workers re-read coding time that is already committed.
public struct CodingHandler: BatchHandler {
    let database: Database
    let achievements: AchievementRepository
    let codingTime: CodingTimeRepository
    let deadLetters: DeadLetters
    let activity: FactPublisher
    let timeout: Double
    let logger: Logger

    public init(database: Database, producer: KafkaProducer, timeout: Duration, logger: Logger) {
        self.database = database
        self.achievements = AchievementRepository(database)
        self.codingTime = CodingTimeRepository(database)
        self.deadLetters = DeadLetters(producer: producer)
        self.activity = FactPublisher(producer: producer)
        self.timeout = Double(timeout.components.seconds)
        self.logger = logger
    }

    public func apply(_ batch: [KafkaMessage]) async throws {
        let (batches, rejected) = decodeEach(batch, as: HeartbeatBatch.self, what: "a heartbeat batch", decoder: JSONDecoder())
        try await deadLetters.send(rejected, worker: "coding", logger: logger)
        var byUser: [UUID: [Heartbeat]] = [:]
        var reported: [(userID: UUID, days: [ReportedCodingDay])] = []
        for heartbeats in batches {
            if !heartbeats.heartbeats.isEmpty { byUser[heartbeats.userID, default: []] += heartbeats.heartbeats }
            if !heartbeats.reportedDays.isEmpty { reported.append((heartbeats.userID, heartbeats.reportedDays)) }
        }
        guard !byUser.isEmpty || !reported.isEmpty else { return }
        let reportedDays = reported
        let applied = try await database.transaction { transaction in
            // In partition order, so a day re-sent later replaces the earlier total.
            for (userID, days) in reportedDays {
                try await codingTime.applyReportedDays(days, userID: userID, on: transaction)
            }
            return try await codingTime.applyHeartbeats(byUser, timeout: timeout, on: transaction)
        }
        var changed = applied.days.mapValues { (zone: $0.zone, days: $0.days) }
        let reportedZones = try await achievements.achievementState(userIDs: reportedDays.map(\.userID)).mapValues(\.zone)
        for (userID, days) in reportedDays {
            guard let zone = reportedZones[userID] else { continue }
            changed[userID, default: (zone, [])].days.formUnion(days.map(\.date))
        }
        try await activity.publish(
            changed.flatMap { userID, entry in
                entry.days.sorted().map { ActivityFact.codingDay(userID: userID, day: $0, zone: entry.zone) }
            })
        logger.debug("coding: batch of \(batch.count), \(applied.inserted) new heartbeat(s)")
    }
}
