import DevTrackCore
import DevTrackStore
import DevTrackTestSupport
import DevTrackWorkers
import Foundation
import Kafka
import Logging
import PostgresNIO
import Testing

/// The scheduler's retention: only what is past its age goes (the inbound delivery log, finished deliveries with
/// their attempts, read notifications), in bounded batches; pending deliveries and unread notifications stay.
@Suite(.timeLimit(.minutes(2)))
struct RetentionTests {
    let logger = Logger(label: "retention-tests")

    @Test func retentionRemovesOnlyWhatIsPastItsAge() async throws {
        try await TestDatabase.shared.withFreshStore { store, _ in
            let cluster = try KafkaMockCluster(brokers: 1, logger: logger)
            let producer = try KafkaProducer(configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers), logger: logger)
            let user = try await store.users.createUser(login: "keeper", githubID: 4242, timezone: "UTC")
            let now = Date()
            func daysAgo(_ days: Double) -> Date { now.addingTimeInterval(-days * 86_400) }
            let client = store.client

            // The inbound delivery log: 2,500 rows past 45 days (more than one batch), one just inside.
            try await client.query(
                """
                INSERT INTO webhook_deliveries (direction, source, delivery_id, event, status, processed_at)
                SELECT 'inbound', 'source-1', 'old-' || n, 'push', 'applied', \(daysAgo(50)) FROM generate_series(1, 2500) AS n
                """, logger: logger)
            try await client.query(
                """
                INSERT INTO webhook_deliveries (direction, source, delivery_id, event, status, processed_at)
                VALUES ('inbound', 'source-1', 'recent', 'push', 'applied', \(daysAgo(44)))
                """, logger: logger)

            // Deliveries: finished ones past 45 days go with their attempts; a pending one never goes; recent ones stay.
            func delivery(_ status: String, _ created: Date) async throws -> UUID {
                let id = UUID()
                try await client.query(
                    """
                    INSERT INTO outbox (id, user_id, channel, destination, dedupe_key, event_type, payload, status, created_at)
                    VALUES (\(id), \(user.id), 'webhook', 'endpoint-1', \(id.uuidString), 'goal.completed', '{}'::jsonb, \(status), \(created))
                    """, logger: logger)
                try await client.query(
                    "INSERT INTO delivery_attempts (outbox_id, attempt, attempted_at, latency_ms) VALUES (\(id), 1, \(created), 12)",
                    logger: logger)
                return id
            }
            _ = try await delivery("delivered", daysAgo(60))
            _ = try await delivery("failed", daysAgo(60))
            let oldPending = try await delivery("pending", daysAgo(60))
            let recentDelivered = try await delivery("delivered", daysAgo(10))

            // Notifications: read past 90 days go; unread ones stay however old; recently read ones stay.
            func notification(read: Date?, created: Date) async throws -> UUID {
                let id = UUID()
                try await client.query(
                    """
                    INSERT INTO notifications (id, user_id, type, title, body, dedupe_key, created_at, read_at)
                    VALUES (\(id), \(user.id), 'goal.completed', 'Done', 'Done.', \(id.uuidString), \(created), \(read))
                    """, logger: logger)
                return id
            }
            _ = try await notification(read: daysAgo(100), created: daysAgo(120))
            let oldUnread = try await notification(read: nil, created: daysAgo(400))
            let recentlyRead = try await notification(read: daysAgo(5), created: daysAgo(200))

            let scheduler = Scheduler(
                database: store.database, producer: producer, interval: .seconds(60),
                retention: .init(deliveryLog: .seconds(45 * 86_400), readNotifications: .seconds(90 * 86_400)), logger: logger)
            let first = try await scheduler.applyRetention()
            #expect(first.deliveryLog == 2500 && first.deliveries == 2 && first.notifications == 1, "\(first)")

            func ids(_ sql: PostgresQuery) async throws -> Set<String> {
                var found: Set<String> = []
                for try await id in try await client.query(sql, logger: logger).decode(String.self) { found.insert(id) }
                return found
            }
            #expect(try await ids("SELECT delivery_id FROM webhook_deliveries") == ["recent"])
            #expect(
                try await ids("SELECT id::text FROM outbox")
                    == Set([oldPending, recentDelivered].map { $0.uuidString.lowercased() }))
            #expect(
                try await ids("SELECT outbox_id::text FROM delivery_attempts")
                    == Set([oldPending, recentDelivered].map { $0.uuidString.lowercased() }), "attempts go with their delivery")
            #expect(
                try await ids("SELECT id::text FROM notifications")
                    == Set([oldUnread, recentlyRead].map { $0.uuidString.lowercased() }))

            let again = try await scheduler.applyRetention()
            #expect(again.deliveryLog == 0 && again.deliveries == 0 && again.notifications == 0, "nothing more: \(again)")
            await producer.shutdown()
        }
    }

    /// Raw heartbeats past `heartbeat_days` go; the coding time computed from them stays, also through a later
    /// time-zone change, which rebuilds only the days whose heartbeats are all still there.
    @Test func heartbeatRetentionKeepsCodingTimeAndAZoneChangeRebuildsOnlyWholeDays() async throws {
        try await TestDatabase.shared.withFreshStore { store, _ in
            let cluster = try KafkaMockCluster(brokers: 1, logger: logger)
            let producer = try KafkaProducer(configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers), logger: logger)
            let user = try await store.users.createUser(login: "coder", githubID: 77, timezone: "UTC")
            let other = try await store.users.createUser(login: "keeps", githubID: 78, timezone: "UTC")
            let now = Date()
            // 1,200 heartbeats a minute apart from 12:00 UTC, 60 days ago (20 h, into the next UTC day), and ten 10 days ago.
            let oldStart = LocalDate(now.addingTimeInterval(-60 * 86_400), in: .gmt).startOfDay(in: .gmt).timeIntervalSince1970 + 12 * 3600
            let recentStart = LocalDate(now.addingTimeInterval(-10 * 86_400), in: .gmt).startOfDay(in: .gmt).timeIntervalSince1970 + 12 * 3600
            func beats(from start: Double, count: Int) -> [Heartbeat] {
                (0..<count).map {
                    Heartbeat(
                        time: start + Double($0) * 60, entity: "a.swift", type: "file", category: "coding", project: "p", branch: "main",
                        language: "Swift", editor: "vim", machine: "laptop", isWrite: false)
                }
            }
            _ = try await store.database.transaction { transaction in
                try await store.codingTime.applyHeartbeats(
                    [
                        user.id: beats(from: oldStart, count: 1200) + beats(from: recentStart, count: 10),
                        other.id: beats(from: recentStart, count: 5),
                    ],
                    timeout: 900, on: transaction)
            }
            func coding() async throws -> [String: Double] {
                var days: [String: Double] = [:]
                for try await (day, seconds) in try await store.client.query(
                    "SELECT day::text, sum(seconds) FROM coding_daily WHERE user_id = \(user.id) GROUP BY day", logger: logger
                ).decode((String, Double).self) { days[day] = seconds }
                return days
            }
            func heartbeats(_ id: UUID) async throws -> Int {
                var count = 0
                for try await n in try await store.client.query("SELECT count(*) FROM heartbeats WHERE user_id = \(id)", logger: logger)
                    .decode(Int.self)
                { count = n }
                return count
            }
            let before = try await coding()
            let oldDay = LocalDate(Date(timeIntervalSince1970: oldStart), in: .gmt)
            #expect(before["\(oldDay)"] == 12 * 3600 && before["\(oldDay.adding(days: 1))"] == 8 * 3600 - 60, "\(before)")

            let scheduler = Scheduler(
                database: store.database, producer: producer, interval: .seconds(60),
                retention: .init(deliveryLog: .seconds(45 * 86_400), readNotifications: .seconds(90 * 86_400), heartbeats: .seconds(40 * 86_400)),
                logger: logger)
            let first = try await scheduler.applyRetention()
            #expect(first.heartbeats == 1200, "in two batches of 1,000 and 200: \(first)")
            #expect(try await heartbeats(user.id) == 10, "only what is past 40 days")
            #expect(try await heartbeats(other.id) == 5)
            #expect(try await coding() == before, "coding time stays")
            #expect(try await scheduler.applyRetention().heartbeats == 0)

            // Tokyo is 9 h ahead: the recent day's 10 minutes stay on one local day; the old days keep their UTC buckets.
            _ = try await store.users.updateTimezone(userID: user.id, timezone: "Asia/Tokyo", codingTimeout: 900)
            let after = try await coding()
            #expect(
                after["\(oldDay)"] == before["\(oldDay)"] && after["\(oldDay.adding(days: 1))"] == before["\(oldDay.adding(days: 1))"], "\(after)")
            let recentDay = LocalDate(Date(timeIntervalSince1970: recentStart), in: TimeZone(identifier: "Asia/Tokyo")!)
            #expect(abs((after["\(recentDay)"] ?? 0) - 9 * 60) < 0.001, "nine one-minute gaps (the last heartbeat adds none): \(after)")
            #expect(after.count == 3, "\(after)")
            await producer.shutdown()
        }
    }
}
