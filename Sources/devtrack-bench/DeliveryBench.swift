import ArgumentParser
import DevTrackCore
import DevTrackDelivery
import DevTrackOutbound
import DevTrackStore
import DevTrackWorkers
import Foundation
import Hummingbird
import Kafka
import Logging
import PostgresNIO
import Synchronization

/// Outbound webhook deliveries per second and the time from intent on `devtrack.notifications` to its
/// arrival at a fast local receiver: `users` users with one endpoint each (a share of them pointing at a
/// destination that is down), intents produced at `rate` per second for `seconds`, the real `notify`
/// handler in a `BatchWorker`, and the real outbox deliverer with the webhook channel.
struct DeliveryThroughput: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deliveries", abstract: "Webhook deliveries/s and intent-to-delivery latency on real PostgreSQL and the mock cluster.")
    @Option var users: Int = 2_000
    @Option(help: "Intents produced per second.") var rate: Int = 2_000
    @Option(help: "How long intents are produced.") var seconds: Int = 10
    @Option(help: "Share of users whose endpoint is down (connection refused).") var downShare: Double = 0.1
    @Option(help: "Requests in flight per deliverer (notify.max_concurrent_deliveries).") var concurrency: Int = 128
    @Option(help: "PostgreSQL server URL (default: $DATABASE_URL, else a private cluster under .build/bench-pg).") var databaseURL: String?

    func run() async throws {
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let summary = try await withBenchDatabase(databaseURL: databaseURL, keep: false, logger: logger) { client, database in
            try await measure(client: client, database: database, logger: logger)
        }
        say(summary)
    }

    final class Receiver: Sendable {
        let produced = Mutex<[String: ContinuousClock.Instant]>([:])
        let latencies = Mutex<[Double]>([])
        let last = Mutex<ContinuousClock.Instant?>(nil)
    }

    private func measure(client: PostgresClient, database: Database, logger: Logger) async throws -> String {
        let receiver = Receiver()
        let router = Router()
        router.post("/hook/{user}") { request, _ -> Response in
            var request = request
            let body = try await request.collectBody(upTo: 1 << 20)
            let now = ContinuousClock.now
            // A fast receiver: it finds the notification id without decoding the whole body.
            let text = String(buffer: body)
            if let key = text.range(of: #""notification_id""#)?.upperBound,
                let id = Optional(String(text[key...].drop { $0 == ":" || $0 == " " || $0 == "\"" }.prefix(36))),
                let sent = receiver.produced.withLock({ $0[id] })
            {
                receiver.latencies.withLock {
                    $0.append(Double((now - sent).components.attoseconds) / 1e15 + Double((now - sent).components.seconds) * 1000)
                }
                receiver.last.withLock { $0 = now }
            }
            return Response(status: .noContent)
        }
        let port = Mutex<Int?>(nil)
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in port.withLock { $0 = channel.localAddress?.port } }, logger: logger)

        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.runService() }
            var bound: Int?
            while bound == nil {
                try await Task.sleep(for: .milliseconds(20))
                bound = port.withLock { $0 }
            }
            let base = "http://127.0.0.1:\(bound!)"
            let box = try SecretBox(base64Key: Data(Credentials.randomBytes(32)).base64EncodedString())
            let sealed = box.seal(StandardWebhooks.newSecret())
            let down = Int(Double(users) * downShare)
            try await client.query(
                """
                INSERT INTO users (id, login, github_id, timezone)
                SELECT gen_random_uuid(), 'bench' || i, 1000000 + i, 'UTC' FROM generate_series(1, \(users)) i
                """)
            // Port 9 (discard) has no listener here: connection refused, as from a destination that is down.
            try await client.query(
                """
                INSERT INTO webhook_endpoints (id, user_id, name, url, events, secret_sealed)
                SELECT gen_random_uuid(), id,
                       'bench', CASE WHEN row_number() OVER (ORDER BY id) <= \(down) THEN 'http://127.0.0.1:9/down'
                                ELSE \(base) || '/hook/' || id END,
                       ARRAY['streak.milestone'], \(ByteBuffer(bytes: sealed))
                FROM users
                """)
            try await client.query("ANALYZE users, webhook_endpoints")  // statistics, as a database in service has them
            var healthy: [UUID] = []
            var unhealthy: [UUID] = []
            for try await (id, url) in try await client.query("SELECT user_id, url FROM webhook_endpoints").decode((UUID, String).self) {
                if url.hasSuffix("/down") { unhealthy.append(id) } else { healthy.append(id) }
            }

            let cluster = try KafkaMockCluster(brokers: 1, logger: logger)
            try cluster.createTopic(KafkaTopicSpecification(name: Topics.notifications, partitions: 6, replicationFactor: 1))
            try cluster.createTopic(KafkaTopicSpecification(name: Topics.deadLetter(of: Topics.notifications), partitions: 1, replicationFactor: 1))
            let producer = try KafkaProducer(
                configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers, ["linger.ms": "2"]), logger: logger)
            let consumer = try KafkaConsumer(
                configuration: KafkaConfiguration(
                    bootstrapServers: cluster.bootstrapServers, ["group.id": "bench-notify", "fetch.wait.max.ms": "10"]),
                topics: [Topics.notifications], logger: logger)
            let http = try OutboundHTTPClient(allowList: ["127.0.0.1"], timeout: .seconds(5))
            let deliverer = OutboxDeliverer(
                database: database, channel: WebhookChannel(database: database, secretBox: box, http: http, logger: logger), logger: logger,
                maxConcurrent: concurrency, lease: .seconds(60))
            let worker = BatchWorker(
                name: "notify", consumer: consumer,
                handler: NotifyHandler(database: database, producer: producer, logger: logger, handoffs: [deliverer]),
                producer: producer, logger: logger, maxBatch: 500)
            group.addTask { try await worker.run() }
            group.addTask { try await deliverer.run() }

            // Warm up: one intent through the whole path, so the consumer group has joined before the clock starts.
            let warmUp = NotificationIntent(
                userID: healthy[0], type: "streak.milestone", title: "bench", body: "warm-up", data: [:], dedupeKey: "bench:warm-up")
            receiver.produced.withLock { $0[warmUp.id.uuidString.lowercased()] = .now }
            try await producer.send(
                KafkaOutgoingMessage(
                    topic: Topics.notifications, key: Array(healthy[0].uuidString.lowercased().utf8), value: Array(try JSONEncoder().encode(warmUp))))
            while receiver.latencies.withLock({ $0.isEmpty }) { try await Task.sleep(for: .milliseconds(20)) }
            receiver.latencies.withLock { $0 = [] }

            // Produce at `rate` per second, in 10 ms slices; every tenth intent goes to a user whose endpoint is down.
            let total = rate * seconds
            var expected = 0
            let encoder = JSONEncoder()
            let started = ContinuousClock.now
            var sent = 0
            while sent < total {
                let due = min(total, Int(Double(rate) * secondsIn(ContinuousClock.now - started)) + 1)
                var messages: [KafkaOutgoingMessage] = []
                while sent < due {
                    let toDown = !unhealthy.isEmpty && sent % 10 == 9
                    let user = toDown ? unhealthy[sent % unhealthy.count] : healthy[sent % healthy.count]
                    let intent = NotificationIntent(
                        userID: user, type: "streak.milestone", title: "bench", body: "bench \(sent)", data: ["n": String(sent)],
                        dedupeKey: "bench:\(sent)")
                    if !toDown { expected += 1 }
                    receiver.produced.withLock { $0[intent.id.uuidString.lowercased()] = .now }
                    messages.append(
                        KafkaOutgoingMessage(
                            topic: Topics.notifications, key: Array(user.uuidString.lowercased().utf8), value: Array(try encoder.encode(intent))))
                    sent += 1
                }
                try await withThrowingTaskGroup(of: Void.self) { sends in
                    for message in messages { sends.addTask { try await producer.send(message) } }
                    try await sends.waitForAll()
                }
                try await Task.sleep(for: .milliseconds(10))
            }
            let producedIn = ContinuousClock.now - started
            let deadline = ContinuousClock.now + .seconds(120)
            while receiver.latencies.withLock({ $0.count }) < expected, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(100))
            }
            let latencies = receiver.latencies.withLock { $0 }.sorted()
            let end = receiver.last.withLock { $0 } ?? .now
            let downAttempts = try await client.query(
                """
                SELECT count(*) FROM delivery_attempts a JOIN outbox o ON o.id = a.outbox_id WHERE o.destination IN (
                    SELECT id::text FROM webhook_endpoints WHERE url LIKE '%/down')
                """
            ).decode(Int64.self).reduce(0) { $0 + $1 }
            // Where the time went: queued in the outbox → delivered (recorded), per delivered row.
            let inOutbox = try await client.query(
                """
                SELECT (percentile_cont(0.5) WITHIN GROUP (ORDER BY ms))::float8, (percentile_cont(0.99) WITHIN GROUP (ORDER BY ms))::float8
                FROM (SELECT extract(epoch FROM updated_at - created_at) * 1000 AS ms FROM outbox
                      WHERE status = 'delivered' AND dedupe_key <> 'bench:warm-up') t
                """
            ).decode((Double?, Double?).self).reduce(into: [Double]()) { $0 = [$1.0 ?? 0, $1.1 ?? 0] }
            group.cancelAll()
            await producer.shutdown()
            await cluster.shutdown()
            func percentile(_ p: Double) -> Double { latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] }
            let elapsed = secondsIn(end - started)
            return """
                produced \(total) intents in \(format(producedIn)) (\(rate)/s) for \(users) users, \
                \(unhealthy.count) of them with an endpoint that is down
                delivered \(latencies.count) of \(expected) to the healthy receiver in \(String(format: "%.1f", elapsed)) s = \
                \(Int(Double(latencies.count) / elapsed)) deliveries/s
                intent on the topic → delivered: p50 \(Int(percentile(0.5))) ms, p99 \(Int(percentile(0.99))) ms, max \(Int(latencies.last ?? 0)) ms
                of which queued in the outbox → delivery recorded: p50 \(Int(inOutbox.first ?? 0)) ms, p99 \(Int(inOutbox.last ?? 0)) ms
                attempts at the down destinations meanwhile: \(downAttempts) (each refused, retried with backoff)
                """
        }
    }
}
