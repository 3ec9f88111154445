import Foundation
import Kafka
import Logging
import Synchronization
import Testing

/// The cluster a test runs against: librdkafka's mock on loopback (the test command), or the real cluster
/// `scripts/kafka-real-check` names in `DEVTRACK_REAL_KAFKA_BROKERS`.
struct TestCluster: Sendable {
    let bootstrapServers: String
    /// The mock, for fault injection; nil on a real cluster.
    let mock: KafkaMockCluster?

    static let realBrokers = ProcessInfo.processInfo.environment["DEVTRACK_REAL_KAFKA_BROKERS"].flatMap { $0.isEmpty ? nil : $0 }
    static let realReplication = Int32(ProcessInfo.processInfo.environment["DEVTRACK_REAL_KAFKA_REPLICATION"] ?? "1") ?? 1
}

/// Integration tests of our librdkafka wrapper: produce and consume, groups, rebalances, flush on shutdown, lag, admin.
/// On librdkafka's mock cluster by default; `scripts/kafka-real-check` runs them on a real cluster too (each test's topic
/// is new, `devtrack-test.*`, created through the Admin API there).
@Suite(.serialized, .timeLimit(.minutes(3)))
struct KafkaClusterTests {
    let logger = Logger(label: "kafka-tests")

    func withCluster(
        partitions: Int32 = 4, _ body: (TestCluster, String) async throws -> Void
    ) async throws {
        if let brokers = TestCluster.realBrokers {
            let topic = "devtrack-test.\(UUID().uuidString.prefix(8).lowercased())"
            let admin = try KafkaAdmin(configuration: KafkaConfiguration(bootstrapServers: brokers), logger: logger)
            let specification = KafkaTopicSpecification(
                name: topic, partitions: partitions, replicationFactor: TestCluster.realReplication, configs: ["retention.ms": "3600000"])
            _ = try await admin.apply([specification])
            await admin.close()
            try await body(TestCluster(bootstrapServers: brokers, mock: nil), topic)
            return
        }
        let cluster = try KafkaMockCluster(brokers: 3, logger: logger)
        let topic = "test.\(UUID().uuidString.prefix(8))"
        try cluster.createTopic(KafkaTopicSpecification(name: topic, partitions: partitions, replicationFactor: 3))
        do {
            try await body(TestCluster(bootstrapServers: cluster.bootstrapServers, mock: cluster), topic)
        } catch {
            await cluster.shutdown()
            throw error
        }
        await cluster.shutdown()
    }

    func consumer(_ cluster: TestCluster, topic: String, group: String) throws -> KafkaConsumer {
        try KafkaConsumer(
            configuration: KafkaConfiguration(
                bootstrapServers: cluster.bootstrapServers,
                [
                    "group.id": group, "session.timeout.ms": "6000", "heartbeat.interval.ms": "500",
                    // A join waits up to this for members that never complete theirs (seen under load: minutes).
                    "max.poll.interval.ms": "10000",
                ]),
            topics: [topic], logger: logger)
    }

    /// Polls until `count` distinct messages arrived, failing when they have not by the deadline; commits each batch.
    /// Redeliveries after a rebalance are dropped (by partition and offset).
    func drain(_ consumer: KafkaConsumer, count: Int, within seconds: Double = 60) async throws -> [KafkaMessage] {
        var received: [KafkaMessage] = []
        var seen: Set<String> = []
        let deadline = Date().addingTimeInterval(seconds)
        while received.count < count, Date() < deadline {
            let batch = try await consumer.poll(maxMessages: 100, maxWait: .milliseconds(200))
            do {
                try await consumer.commit(batch)
            } catch {
                // A rebalance conflict means redelivery to the next owner; the tests compare sets there.
                if !error.isRebalanceConflict { throw error }
            }
            received += batch.filter { seen.insert("\($0.topic)/\($0.partition)/\($0.offset)").inserted }
        }
        try #require(received.count >= count, "\(received.count) of \(count) message(s) within \(seconds) s")
        return received
    }

    @Test func roundTripKeepsKeyValueHeadersAndTombstones() async throws {
        try await withCluster { cluster, topic in
            let producer = try KafkaProducer(configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers), logger: logger)
            let report = try await producer.send(
                KafkaOutgoingMessage(
                    topic: topic, key: Array("user-1".utf8), value: Array("{\"a\":1}".utf8),
                    headers: [KafkaHeader("event", "push"), KafkaHeader("empty", [])]))
            #expect(report.topic == topic)
            #expect(report.offset >= 0)
            try await producer.send(KafkaOutgoingMessage(topic: topic, key: Array("user-1".utf8), value: nil))
            await producer.shutdown()

            let consumer = try consumer(cluster, topic: topic, group: "round-trip")
            let messages = try await drain(consumer, count: 2)
            await consumer.close()
            #expect(messages.count == 2)
            let first = try #require(messages.first)
            #expect(first.key == Array("user-1".utf8))
            #expect(first.value == Array("{\"a\":1}".utf8))
            #expect(first.header("event")?.stringValue == "push")
            #expect(first.header("empty")?.value == [])
            #expect(messages.last?.value == nil, "a tombstone arrives as a nil value")
            #expect(Set(messages.map(\.partition)).count == 1, "one key stays on one partition")
        }
    }

    @Test func twoConsumersInOneGroupSplitPartitionsAndTakeOverAfterOneLeaves() async throws {
        try await withCluster(partitions: 4) { cluster, topic in
            let first = try consumer(cluster, topic: topic, group: "split")
            let second = try consumer(cluster, topic: topic, group: "split")
            // Both must poll for the group to form and settle.
            let deadline = Date().addingTimeInterval(30)
            while Date() < deadline {
                _ = try await first.poll(maxWait: .milliseconds(100))
                _ = try await second.poll(maxWait: .milliseconds(100))
                if first.assignment.count == 2 && second.assignment.count == 2 { break }
            }
            #expect(first.assignment.count == 2)
            #expect(second.assignment.count == 2)
            #expect(first.assignment.isDisjoint(with: second.assignment))

            let producer = try KafkaProducer(configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers), logger: logger)
            for index in 0..<40 {
                try await producer.send(KafkaOutgoingMessage(topic: topic, key: Array("k\(index)".utf8), value: Array("\(index)".utf8)))
            }

            // The second member leaves: its partitions are revoked and the first takes over (a rebalance).
            await second.close()
            let all = try await drain(first, count: 40)
            #expect(first.assignment.count == 4)
            #expect(Set(all.compactMap { $0.value.map { String(decoding: $0, as: UTF8.self) } }) == Set((0..<40).map(String.init)))

            // Committed positions survive: a new member of the group gets nothing old again.
            await first.close()
            try await producer.send(KafkaOutgoingMessage(topic: topic, key: Array("late".utf8), value: Array("late".utf8)))
            await producer.shutdown()
            let third = try consumer(cluster, topic: topic, group: "split")
            let after = try await drain(third, count: 1)
            await third.close()
            #expect(after.map { $0.value.map { String(decoding: $0, as: UTF8.self) } } == ["late"])
        }
    }

    @Test func rebalanceEventsReportAssignments() async throws {
        try await withCluster(partitions: 2) { cluster, topic in
            let consumer = try consumer(cluster, topic: topic, group: "events")
            var iterator = consumer.rebalanceEvents.makeAsyncIterator()
            let deadline = Date().addingTimeInterval(20)
            while consumer.assignment.isEmpty, Date() < deadline {
                _ = try await consumer.poll(maxWait: .milliseconds(100))
            }
            let event = await iterator.next()
            #expect(
                event == .assigned([KafkaTopicPartition(topic: topic, partition: 0), KafkaTopicPartition(topic: topic, partition: 1)])
                    || event == .assigned([KafkaTopicPartition(topic: topic, partition: 1), KafkaTopicPartition(topic: topic, partition: 0)]))
            await consumer.close()
        }
    }

    /// The callback form (for NIO handlers, no task per message) calls each completion once, with the message's own
    /// report, and refuses at once after shutdown.
    @Test func sendWithACompletionCallsItOncePerMessage() async throws {
        try await withCluster(partitions: 2) { cluster, topic in
            let producer = try KafkaProducer(configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers), logger: logger)
            typealias Results = [Int: [Result<KafkaDeliveryReport, KafkaError>]]
            let results = await withCheckedContinuation { (done: CheckedContinuation<Results, Never>) in
                let collected = Mutex<Results>([:])
                for index in 0..<100 {
                    producer.send(KafkaOutgoingMessage(topic: topic, key: Array("\(index % 7)".utf8), value: Array("\(index)".utf8))) { result in
                        let all = collected.withLock { reports -> Results? in
                            reports[index, default: []].append(result)
                            return reports.values.reduce(0) { $0 + $1.count } == 100 ? reports : nil
                        }
                        if let all { done.resume(returning: all) }
                    }
                }
            }
            #expect(results.count == 100, "every message got its completion")
            #expect(results.values.allSatisfy { $0.count == 1 }, "and only one")
            let reports = try results.values.map { try $0[0].get() }
            #expect(Set(reports.map { "\($0.partition):\($0.offset)" }).count == 100, "each its own offset")
            #expect(producer.messagesInFlight == 0)
            await producer.shutdown()

            let refused = await withCheckedContinuation { done in
                producer.send(KafkaOutgoingMessage(topic: topic, value: [])) { done.resume(returning: $0) }
            }
            #expect(throws: KafkaError.self) { try refused.get() }
            let consumer = try consumer(cluster, topic: topic, group: "callbacks")
            #expect(try await drain(consumer, count: 100).count == 100)
            await consumer.close()
        }
    }

    /// A cluster that refuses every produce makes a send time out, and the producer recovers once it accepts
    /// again. (Refused with retriable errors rather than brokers taken down: librdkafka 2.0.2's mock aborts the
    /// process when a broker going down cannot re-bind its port, which once killed a whole test run.)
    @Test(.enabled(if: TestCluster.realBrokers == nil, "fault injection needs the mock cluster"))
    func aClusterRefusingProducesMakesSendTimeOutAndRecovers() async throws {
        try await withCluster(partitions: 1) { cluster, topic in
            let mock = try #require(cluster.mock)
            let producer = try KafkaProducer(
                configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers, ["message.timeout.ms": "1500"]),
                logger: logger)
            try await producer.send(KafkaOutgoingMessage(topic: topic, value: Array("before".utf8)))

            let produce: Int16 = 0
            mock.pushRequestErrors(apiKey: produce, errors: Array(repeating: 19, count: 10_000))  // NOT_ENOUGH_REPLICAS, retriable
            await #expect {
                try await producer.send(KafkaOutgoingMessage(topic: topic, value: Array("while-down".utf8)))
            } throws: { error in
                (error as? KafkaError)?.kind == .timedOut
            }

            mock.clearRequestErrors(apiKey: produce)
            var delivered = false
            for _ in 0..<10 where !delivered {
                delivered = (try? await producer.send(KafkaOutgoingMessage(topic: topic, value: Array("after".utf8)))) != nil
            }
            #expect(delivered, "the producer recovers once brokers are back")
            await producer.shutdown()

            let consumer = try consumer(cluster, topic: topic, group: "down-up")
            let values = try await drain(consumer, count: 2).compactMap { $0.value.map { String(decoding: $0, as: UTF8.self) } }
            await consumer.close()
            #expect(values.first == "before")
            #expect(values.contains("after"))
        }
    }

    @Test func shutdownFlushesInFlightMessages() async throws {
        try await withCluster(partitions: 2) { cluster, topic in
            let producer = try KafkaProducer(
                configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers, ["linger.ms": "200"]),
                logger: logger)
            // Start 200 sends without awaiting them, then shut down: every one must be acknowledged.
            let (results, underWay) = await withTaskGroup(of: Bool.self) { group in
                for index in 0..<200 {
                    group.addTask {
                        (try? await producer.send(KafkaOutgoingMessage(topic: topic, key: Array("\(index)".utf8), value: Array("\(index)".utf8))))
                            != nil
                    }
                }
                // Shut down once sends are under way (linger.ms holds them): a positive signal, not a sleep.
                let deadline = ContinuousClock.now + .seconds(30)
                while producer.messagesInFlight == 0, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(1)) }
                let underWay = producer.messagesInFlight > 0
                await producer.shutdown()
                var ok = 0
                for await success in group where success { ok += 1 }
                return (ok, underWay)
            }
            try #require(underWay, "no send was under way within 30 s")
            let consumer = try consumer(cluster, topic: topic, group: "flush")
            let received = try await drain(consumer, count: results)
            await consumer.close()
            #expect(received.count == results)
            #expect(results > 0)
        }
    }

    @Test func groupLagIsWhatTheGroupHasNotCommittedReadWithoutJoiningIt() async throws {
        try await withCluster(partitions: 2) { cluster, topic in
            let producer = try KafkaProducer(configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers), logger: logger)
            for index in 0..<5 {
                try await producer.send(KafkaOutgoingMessage(topic: topic, key: nil, value: Array("\(index)".utf8), partition: 0))
            }
            await producer.shutdown()
            let configuration = KafkaConfiguration(bootstrapServers: cluster.bootstrapServers)
            let (first, second) = (KafkaTopicPartition(topic: topic, partition: 0), KafkaTopicPartition(topic: topic, partition: 1))
            let idle = try KafkaGroupOffsets(configuration: configuration, group: "never-consumed", logger: logger)
            #expect(try await idle.lag(topics: [topic: 2]) == [first: 5, second: 0], "a group that committed nothing is behind by everything")
            await idle.close()

            let member = try consumer(cluster, topic: topic, group: "consumed")
            _ = try await drain(member, count: 5)
            try await member.commit(offsets: [first: 3])
            let offsets = try KafkaGroupOffsets(configuration: configuration, group: "consumed", logger: logger)
            #expect(try await offsets.lag(topics: [topic: 2]) == [first: 2, second: 0])
            #expect(member.assignment.count == 2, "reading the group's offsets did not take its member's partitions")
            await offsets.close()
            await member.close()
        }
    }

    @Test func adminReportsTopicsAndSendAfterShutdownIsRefused() async throws {
        try await withCluster(partitions: 3) { cluster, topic in
            let admin = try KafkaAdmin(configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers), logger: logger)
            let counts = try await admin.topicPartitionCounts()
            await admin.close()
            #expect(counts[topic] == 3)

            let producer = try KafkaProducer(configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers), logger: logger)
            await producer.shutdown()
            await #expect(throws: KafkaError.self) {
                try await producer.send(KafkaOutgoingMessage(topic: topic, value: []))
            }
        }
    }

    @Test func invalidConfigurationIsATypedError() throws {
        #expect {
            _ = try KafkaProducer(configuration: KafkaConfiguration(["no.such.property": "1"]), logger: logger)
        } throws: { error in
            (error as? KafkaError)?.kind == .configuration
        }
    }
}
