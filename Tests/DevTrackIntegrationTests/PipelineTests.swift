import DevTrackCore
import DevTrackStore
import DevTrackTestSupport
import DevTrackWorkers
import Foundation
import Kafka
import Logging
import PostgresNIO
import Testing

/// The normalize and metrics workers against the real PostgreSQL and librdkafka's mock cluster:
/// raw deliveries in, daily stats out; bad messages to the dead-letter topic without stopping the flow.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct PipelineTests {
    let logger = Logger(label: "pipeline-tests")

    func raw(_ event: String, _ fixture: String, delivery: String, source: UUID? = nil) throws -> KafkaOutgoingMessage {
        let body = try Fixtures.data(fixture)
        return KafkaOutgoingMessage(
            topic: Topics.githubEvents, key: Array("21031067".utf8), value: Array(body),
            headers: [
                KafkaHeader(RawEventHeaders.event, event),
                KafkaHeader(RawEventHeaders.deliveryID, delivery),
                KafkaHeader(RawEventHeaders.sourceID, source?.uuidString ?? ""),
                KafkaHeader(RawEventHeaders.contentType, "application/json"),
            ])
    }

    /// Waits until both workers have committed everything their topics hold: nothing more is on its way.
    struct Settled: Sendable {
        let consumers: [KafkaConsumer]

        func wait() async throws {
            _ = try await eventually(
                within: 60,
                {
                    var behind = 0
                    for consumer in consumers {
                        let owned = Array(consumer.assignment)
                        let committed = try await consumer.committed(owned)
                        for partition in owned {
                            let high = try await consumer.watermarks(partition).high
                            behind += Int(high - ((committed[partition] ?? nil) ?? 0))
                        }
                    }
                    return behind
                }, until: { $0 == 0 })
        }
    }

    /// A mock cluster with the hub's topics, both workers running, and a producer for the test.
    func withPipeline(
        _ body: @Sendable (TestStore, KafkaMockCluster, KafkaProducer, Settled) async throws -> Void
    ) async throws {
        try await TestDatabase.shared.withFreshStore { store, _ in
            let cluster = try KafkaMockCluster(brokers: 1, logger: logger)
            for topic in [Topics.githubEvents, Topics.activity] {
                try cluster.createTopic(KafkaTopicSpecification(name: topic, partitions: 3, replicationFactor: 1))
                try cluster.createTopic(KafkaTopicSpecification(name: Topics.deadLetter(of: topic), partitions: 1, replicationFactor: 1))
            }
            let producer = try KafkaProducer(configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers), logger: logger)
            var consumers: [KafkaConsumer] = []
            func worker(_ name: String, topic: String, _ handler: any BatchHandler) throws -> BatchWorker {
                let consumer = try KafkaConsumer(
                    configuration: KafkaConfiguration(
                        bootstrapServers: cluster.bootstrapServers,
                        [
                            "group.id": "devtrack-\(name)", "auto.offset.reset": "earliest",
                            "session.timeout.ms": "6000", "heartbeat.interval.ms": "500", "max.poll.interval.ms": "10000",
                        ]),
                    topics: [topic], logger: logger)
                consumers.append(consumer)
                return BatchWorker(name: name, consumer: consumer, handler: handler, producer: producer, logger: logger, maxBatch: 500)
            }
            let workers = [
                try worker("normalize", topic: Topics.githubEvents, NormalizeHandler(database: store.database, producer: producer, logger: logger)),
                try worker("metrics", topic: Topics.activity, MetricsHandler(database: store.database, producer: producer, logger: logger)),
            ]
            let outcome: Result<Void, any Error> = await withTaskGroup(of: Void.self) { group in
                for worker in workers {
                    group.addTask { try? await worker.run() }
                }
                defer { group.cancelAll() }
                do {
                    // Both groups have their partitions before the test starts (a join on the mock has taken 30 s
                    // under the whole suite's load).
                    let members = consumers
                    _ = try await eventually(within: 90, { members.map(\.assignment.count) }, until: { $0.allSatisfy { $0 > 0 } })
                    try await body(store, cluster, producer, Settled(consumers: members))
                    return .success(())
                } catch {
                    return .failure(error)
                }
            }
            await producer.shutdown()
            await cluster.shutdown()
            try outcome.get()
        }
    }

    func day(_ store: TestStore, _ user: UUID, _ date: String) async throws -> DailyCounters {
        let local = LocalDate(date)!
        return try await store.activity.dailyCounters(userID: user, range: DateRange(from: local, to: local))[local] ?? DailyCounters()
    }

    @Test func rawDeliveriesBecomeDailyStatsOnceEach() async throws {
        try await withPipeline { store, _, producer, settled in
            let user = try await store.users.createUser(login: "Codertocat", githubID: 21031067, timezone: "UTC")
            _ = try await producer.send(try raw("push", "push/branch-created.json", delivery: "d-1"))
            _ = try await producer.send(try raw("pull_request", "pull_request/opened.json", delivery: "d-2"))
            // The same delivery again (GitHub's redelivery button), and the same commit in a second push.
            _ = try await producer.send(try raw("push", "push/branch-created.json", delivery: "d-1"))
            _ = try await producer.send(try raw("push", "push/branch-created-committer-without-username.json", delivery: "d-3"))
            // A tag push carries no commits.
            _ = try await producer.send(try raw("push", "push/tag-deleted.json", delivery: "d-4"))

            let counters = try await eventually({ try await day(store, user.id, "2019-05-15") }, until: { $0.commits >= 1 && $0.prsOpened >= 1 })
            #expect(counters.commits == 1)
            #expect(counters.prsOpened == 1)
            // Every delivery and fact consumed and committed: the duplicates changed nothing.
            try await settled.wait()
            #expect(try await day(store, user.id, "2019-05-15") == counters)

            let statuses = try await store.client.query("SELECT delivery_id, status FROM webhook_deliveries ORDER BY delivery_id")
            var seen: [String: String] = [:]
            for try await (delivery, status) in statuses.decode((String, String).self) { seen[delivery] = status }
            #expect(seen["d-1"] == "processed")
            #expect(seen["d-2"] == "processed")
            #expect(seen["d-4"] == "ignored")
        }
    }

    @Test func undecodableMessagesGoToTheDeadLetterTopicAndThePartitionKeepsFlowing() async throws {
        try await withPipeline { store, cluster, producer, _ in
            let user = try await store.users.createUser(login: "Codertocat", githubID: 21031067, timezone: "UTC")
            // Same key as the good ones, so they share a partition: the garbage sits in front of them.
            var garbage = try raw("push", "push/branch-created.json", delivery: "bad-1")
            garbage.value = Array("{not json".utf8)
            var headless = try raw("push", "push/branch-created.json", delivery: "bad-2")
            headless.headers.removeAll { $0.name == RawEventHeaders.event }
            _ = try await producer.send(garbage)
            _ = try await producer.send(headless)
            _ = try await producer.send(try raw("pull_request", "pull_request/opened.json", delivery: "good-1"))
            // A message on the activity topic that is not a fact.
            _ = try await producer.send(KafkaOutgoingMessage(topic: Topics.activity, key: nil, value: Array("[1,2]".utf8)))

            let counters = try await eventually({ try await day(store, user.id, "2019-05-15") }, until: { $0.prsOpened >= 1 })
            #expect(counters.prsOpened == 1, "the good delivery behind the bad ones was applied")

            let dead = try await DeadLetterReader(cluster: cluster, logger: logger)
                .read([Topics.deadLetter(of: Topics.githubEvents), Topics.deadLetter(of: Topics.activity)], count: 3)
            let reasons = Dictionary(
                dead.map { ($0.header(RawEventHeaders.deliveryID)?.stringValue ?? $0.topic, $0.header(RawEventHeaders.error)?.stringValue ?? "") },
                uniquingKeysWith: { $1 })
            #expect(reasons["bad-1"]?.isEmpty == false)
            #expect(reasons["bad-2"]?.contains(RawEventHeaders.event) == true, "the reason names the missing header: \(reasons)")
            #expect(reasons[Topics.deadLetter(of: Topics.activity)]?.contains("not an activity fact") == true)
            #expect(
                dead.first { $0.header(RawEventHeaders.deliveryID)?.stringValue == "bad-1" }?.value == garbage.value, "the original bytes are kept")

            let status = try await store.client.query("SELECT status, error FROM webhook_deliveries WHERE delivery_id = 'bad-1'")
            for try await (state, error) in status.decode((String, String?).self) {
                #expect(state == "dead_lettered")
                #expect(error?.isEmpty == false)
            }
        }
    }
}
