import DevTrackCore
import DevTrackStore
import DevTrackTestSupport
import Foundation
import Kafka
import PostgresNIO
import Testing

/// Messages that decode but cannot be applied (PostgreSQL refuses them) on the real pipeline: each is
/// dead-lettered with its reason while clean messages of other users, on the same partition behind it and on
/// other partitions, are applied within seconds.
extension PipelineTests {
    func fact(_ id: String, user: UUID, repo: String = "octo/hello", at date: String = "2026-03-02T10:00:00Z") throws -> [UInt8] {
        let fact = ActivityFact(
            id: id, userID: user, kind: .commit, occurredAt: Timestamps.parse(date)!, repo: repo, language: "Swift", source: "test")
        return Array(try FactCoding.encoder().encode(fact))
    }

    func send(_ producer: KafkaProducer, topic: String, partition: Int32, key: String, _ value: [UInt8], headers: [KafkaHeader] = []) async throws {
        _ = try await producer.send(KafkaOutgoingMessage(topic: topic, key: Array(key.utf8), value: value, headers: headers, partition: partition))
    }

    func deadLetters(_ cluster: KafkaMockCluster, of topic: String, count: Int) async throws -> [KafkaMessage] {
        try await DeadLetterReader(cluster: cluster, logger: logger).read([Topics.deadLetter(of: topic)], count: count)
    }

    func commits(_ store: TestStore, _ user: UUID, on date: String = "2026-03-02") async throws -> Int {
        try await day(store, user, date).commits
    }

    @Test func factsPostgreSQLRefusesAreDeadLetteredWhileOtherUsersFactsFlowOnEveryPartition() async throws {
        try await withPipeline { store, cluster, producer, _ in
            let alice = try await store.users.createUser(login: "alice", githubID: 1, timezone: "UTC")
            let bob = try await store.users.createUser(login: "bob", githubID: 2, timezone: "UTC")
            let carol = try await store.users.createUser(login: "carol", githubID: 3, timezone: "UTC")
            // A zone Foundation accepts and PostgreSQL does not, stored before validation existed.
            let dave = try await store.users.createUser(login: "dave", githubID: 4, timezone: "UTC")
            try await store.client.query("UPDATE users SET timezone = 'UTC+0530' WHERE id = \(dave.id)")

            // The group has joined and a clean fact flows (so what follows measures the poison, not the join).
            try await send(
                producer, topic: Topics.activity, partition: 2, key: "p2", try fact("commit:carol-0", user: carol.id, at: "2026-03-01T10:00:00Z"))
            _ = try await eventually(within: 20, { try await commits(store, carol.id, on: "2026-03-01") }, until: { $0 >= 1 })

            let started = ContinuousClock.now
            // Partition 0: two poison facts in front of a clean one of another user.
            try await send(producer, topic: Topics.activity, partition: 0, key: "p0", try fact("commit:nul", user: alice.id, repo: "octo/\u{0}evil"))
            try await send(producer, topic: Topics.activity, partition: 0, key: "p0", try fact("commit:zone", user: dave.id))
            try await send(producer, topic: Topics.activity, partition: 0, key: "p0", try fact("commit:bob-1", user: bob.id))
            // Partition 1: a clean fact, and a poison one behind it.
            try await send(producer, topic: Topics.activity, partition: 1, key: "p1", try fact("commit:carol-1", user: carol.id))
            try await send(producer, topic: Topics.activity, partition: 1, key: "p1", try fact("commit:nul-2", user: carol.id, repo: "\u{0}"))

            let bobs = try await eventually(within: 20, { try await commits(store, bob.id) }, until: { $0 >= 1 })
            let carols = try await eventually(within: 20, { try await commits(store, carol.id) }, until: { $0 >= 1 })
            print("a clean fact behind two poison facts was counted \(ContinuousClock.now - started) after it was produced")
            #expect(bobs == 1)
            #expect(carols == 1)

            let dead = try await deadLetters(cluster, of: Topics.activity, count: 3)
            let byOffset = Dictionary(
                dead.map {
                    ($0.header(RawEventHeaders.originalPartition)!.stringValue + "@" + $0.header(RawEventHeaders.originalOffset)!.stringValue, $0)
                }, uniquingKeysWith: { $1 })
            #expect(Set(byOffset.keys) == ["0@0", "0@1", "1@1"])
            for letter in dead {
                #expect(letter.header(RawEventHeaders.deadLetterWorker)?.stringValue == "metrics")
                #expect(Int(letter.header(RawEventHeaders.deadLetterAttempts)?.stringValue ?? "") ?? 0 >= 3)
                #expect(letter.header(RawEventHeaders.originalTopic)?.stringValue == Topics.activity)
                #expect(letter.header(RawEventHeaders.deadLetteredAt).flatMap { Timestamps.parse($0.stringValue) } != nil)
            }
            let zoneReason = byOffset["0@1"]?.header(RawEventHeaders.error)?.stringValue ?? ""
            #expect(zoneReason.contains("time zone"), "the reason is PostgreSQL's: \(zoneReason)")
            #expect(byOffset["0@0"]?.value == (try fact("commit:nul", user: alice.id, repo: "octo/\u{0}evil")), "the original bytes")
            #expect(try await commits(store, alice.id) == 0)
            #expect(try await commits(store, dave.id) == 0)

            // Still flowing afterwards, on the partition that held the poison.
            try await send(producer, topic: Topics.activity, partition: 0, key: "p0", try fact("commit:alice-2", user: alice.id))
            #expect(try await eventually(within: 20, { try await commits(store, alice.id) }, until: { $0 >= 1 }) == 1)
        }
    }

    @Test func aDeliveryWhoseLogRowCannotBeStoredIsDeadLetteredAndShownUnderTheCanonicalSourceID() async throws {
        try await withPipeline { store, cluster, producer, _ in
            let user = try await store.users.createUser(login: "Codertocat", githubID: 21031067, timezone: "UTC")
            let other = try await store.users.createUser(login: "Hubot2", githubID: 5551212, timezone: "UTC")
            let source = try await store.sources.createSource(userID: user.id, kind: "github", name: "mine", sealedSecret: [1, 2, 3])
            // An 8 KB delivery id that does not compress (refused at ingest now) overflows the delivery log's unique index.
            let longID = (0..<250).map { _ in UUID().uuidString }.joined()
            var poison = try raw("push", "push/branch-created.json", delivery: longID, source: source.id)
            poison.partition = 0
            poison.headers = poison.headers.map { $0.name == RawEventHeaders.sourceID ? KafkaHeader($0.name, source.id.uuidString.uppercased()) : $0 }
            _ = try await producer.send(poison)
            // Behind it on the same partition, another user's pull request (by GitHub identity).
            let text = String(decoding: try Fixtures.data("pull_request/opened.json"), as: UTF8.self)
                .replacingOccurrences(of: "Codertocat", with: "Hubot2").replacingOccurrences(of: "21031067", with: "5551212")
            var clean = try raw("pull_request", "pull_request/opened.json", delivery: "clean-1")
            clean.value = Array(text.utf8)
            clean.partition = 0
            _ = try await producer.send(clean)

            let counters = try await eventually(within: 20, { try await day(store, other.id, "2019-05-15") }, until: { $0.prsOpened >= 1 })
            #expect(counters.prsOpened == 1)

            let dead = try await deadLetters(cluster, of: Topics.githubEvents, count: 1)
            #expect(dead[0].header(RawEventHeaders.deadLetterWorker)?.stringValue == "normalize")
            let reason = dead[0].header(RawEventHeaders.error)?.stringValue ?? ""
            #expect(reason.contains("54000"), "PostgreSQL's program limit (the index row size): \(reason)")

            // The source's delivery log (read by the lower-case id) shows it as dead-lettered, with the reason.
            let rows = try await store.client.query(
                """
                SELECT status, error, length(delivery_id) FROM webhook_deliveries WHERE source = \(source.id.uuidString.lowercased())
                """)
            var logged: [(String, String?, Int)] = []
            for try await row in rows.decode((String, String?, Int).self) { logged.append(row) }
            #expect(logged.count == 1)
            #expect(logged.first?.0 == "dead_lettered")
            #expect(logged.first?.1?.contains("54000") == true)
            #expect((logged.first?.2 ?? 0) <= DeliveryIDs.maxBytes)
        }
    }
}
