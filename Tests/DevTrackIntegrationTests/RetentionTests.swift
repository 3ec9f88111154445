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
}
