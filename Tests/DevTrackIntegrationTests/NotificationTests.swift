import DevTrackCore
import DevTrackStore
import DevTrackTestSupport
import DevTrackWorkers
import Foundation
import Kafka
import Logging
import Testing

/// The notify worker's handler and the notification queries against the real PostgreSQL and the mock cluster.
@Suite(.timeLimit(.minutes(3)))
struct NotificationTests {
    let logger = Logger(label: "notification-tests")

    func message(_ value: [UInt8]?, offset: Int64) -> KafkaMessage {
        KafkaMessage(topic: Topics.notifications, partition: 0, offset: offset, key: nil, value: value)
    }

    @Test func everyIntentBecomesOneNotificationAndGarbageIsDeadLettered() async throws {
        try await TestDatabase.shared.withFreshStore { store, _ in
            let cluster = try KafkaMockCluster(brokers: 1, logger: logger)
            try cluster.createTopic(KafkaTopicSpecification(name: Topics.deadLetter(of: Topics.notifications), partitions: 1, replicationFactor: 1))
            let producer = try KafkaProducer(configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers), logger: logger)
            let user = try await store.users.createUser(login: "dev", githubID: 1, timezone: "UTC")
            let other = try await store.users.createUser(login: "other", githubID: 2, timezone: "UTC")
            let handler = NotifyHandler(database: store.database, producer: producer, logger: logger)
            let encoder = JSONEncoder()
            let intents =
                (1...25).map { NotificationIntent.streakMilestone(userID: user.id, days: $0) }
                + [.achievementUnlocked(userID: other.id, achievement: AchievementCatalogue.byID["first_commit"]!)]
            var batch = try intents.enumerated().map { message(Array(try encoder.encode($0.element)), offset: Int64($0.offset)) }
            batch.append(message(Array("not json".utf8), offset: 100))
            batch.append(message(nil, offset: 101))
            // No such user:
            batch.append(message(Array(try encoder.encode(NotificationIntent.streakMilestone(userID: UUID(), days: 7))), offset: 102))
            try await handler.apply(batch)
            try await handler.apply(Array(batch.prefix(10)))  // redelivered

            let first = try await store.notifications.notifications(userID: user.id, unreadOnly: false, limit: 10, after: nil)
            #expect(first.unread == 25, "each intent once")
            #expect(first.page.count == 10)
            // Pages follow each other without gaps or repeats, newest first.
            var seen = first.page.map(\.id)
            var cursor = first.page.last.map { NotificationCursor(createdAt: $0.createdAt, id: $0.id) }
            while let next = cursor {
                let page = try await store.notifications.notifications(
                    userID: user.id, unreadOnly: false, limit: 10, after: NotificationCursor(next.text))
                seen += page.page.map(\.id)
                cursor = page.page.count == 10 ? page.page.last.map { NotificationCursor(createdAt: $0.createdAt, id: $0.id) } : nil
            }
            #expect(seen.count == 25 && Set(seen).count == 25)
            #expect(Set(seen) == Set(intents.filter { $0.userID == user.id }.map(\.id)))

            let read = try #require(try await store.notifications.markNotificationRead(userID: user.id, id: seen[0]))
            #expect(read.readAt != nil)
            #expect(try await store.notifications.markNotificationRead(userID: other.id, id: seen[0]) == nil, "someone else's")
            #expect(try await store.notifications.notifications(userID: user.id, unreadOnly: true, limit: 100, after: nil).page.count == 24)
            #expect(try await store.notifications.markAllNotificationsRead(userID: user.id) == 24)
            #expect(try await store.notifications.notifications(userID: user.id, unreadOnly: false, limit: 1, after: nil).unread == 0)
            #expect(try await store.notifications.notifications(userID: other.id, unreadOnly: false, limit: 10, after: nil).unread == 1)

            // The two undecodable messages went to the dead-letter topic with their reason.
            let dead = try await DeadLetterReader(cluster: cluster, logger: logger).read([Topics.deadLetter(of: Topics.notifications)], count: 2)
            #expect(dead.compactMap { $0.header(RawEventHeaders.error)?.stringValue }.allSatisfy { $0.contains("notification") })
            await producer.shutdown()
            await cluster.shutdown()
        }
    }

    /// Deleting an endpoint deletes its deliveries and their recorded attempts (no foreign key does it for us),
    /// and nobody else's.
    @Test func deletingAnEndpointDeletesItsDeliveriesAndTheirAttempts() async throws {
        try await TestDatabase.shared.withFreshStore { store, _ in
            let user = try await store.users.createUser(login: "dev", githubID: 1, timezone: "UTC")
            var endpoints: [UUID] = []
            for name in ["gone", "kept"] {
                let endpoint = try #require(
                    try await store.webhookEndpoints.createWebhookEndpoint(
                        userID: user.id, name: name, url: "https://example.com/\(name)", events: ["test"], sealedSecret: [1, 2, 3], limit: 5))
                endpoints.append(endpoint.id)
                _ = try await store.webhookEndpoints.queueTestWebhookDelivery(userID: user.id, endpointID: endpoint.id, payload: #"{"event":"test"}"#)
            }
            let claimed = try await store.outbox.claimDeliveries(channel: "webhook", excluding: [], limit: 10, lease: .seconds(60))
            #expect(claimed.count == 2)
            try await store.outbox.recordDeliveryAttempts(
                claimed.map {
                    DeliveryAttemptResult(
                        $0, outcome: .retry(at: Date(), counts: true), statusCode: 500, latency: .milliseconds(5), error: "HTTP 500")
                })
            #expect(try await store.webhookEndpoints.deleteWebhookEndpoint(userID: user.id, id: endpoints[0]))
            var left: [String: Int64] = [:]
            for try await (destination, attempts) in try await store.client.query(
                """
                SELECT o.destination, count(a.*) FROM outbox o LEFT JOIN delivery_attempts a ON a.outbox_id = o.id GROUP BY o.destination
                """
            ).decode((String, Int64).self) { left[destination] = attempts }
            #expect(left == [endpoints[1].uuidString.lowercased(): 1])
            let orphans = try await store.client.query(
                """
                SELECT count(*) FROM delivery_attempts a WHERE NOT EXISTS (SELECT 1 FROM outbox o WHERE o.id = a.outbox_id)
                """
            ).decode(Int64.self).reduce(0) { $0 + $1 }
            #expect(orphans == 0)
        }
    }

    @Test func newNotificationsAreQueuedForDiscordOnceUnlessMutedOptedOutOrUnset() async throws {
        try await TestDatabase.shared.withFreshStore { store, _ in
            let cluster = try KafkaMockCluster(brokers: 1, logger: logger)
            let producer = try KafkaProducer(configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers), logger: logger)
            let box = try SecretBox(base64Key: Data(repeating: 7, count: 32).base64EncodedString())
            let url = "https://discord.com/api/webhooks/123456789012345678/token"
            let dev = try await store.users.createUser(login: "dev", githubID: 1, timezone: "UTC")
            let muted = try await store.users.createUser(login: "muted", githubID: 2, timezone: "UTC")
            let later = try await store.users.createUser(login: "later", githubID: 3, timezone: "UTC")
            _ = try await store.discord.updateDiscordSettings(
                userID: dev.id, DiscordSettingsChange(sealedWebhookURL: .some(box.seal(url)), optOuts: ["daily.summary"]))
            _ = try await store.discord.updateDiscordSettings(
                userID: muted.id,
                DiscordSettingsChange(
                    sealedWebhookURL: .some(box.seal(url)), mutedUntil: .some(Date().addingTimeInterval(3600))))
            let handler = NotifyHandler(
                database: store.database, producer: producer, logger: logger, profileURLTemplate: "https://hub.example/u/{login}")
            let encoder = JSONEncoder()
            let summary = DaySummary(
                date: LocalDate("2026-11-24")!, commits: 3, prsOpened: 0, prsMerged: 0, reviews: 1, issuesClosed: 0, codingMinutes: 50)
            let intents: [NotificationIntent] = [
                .streakMilestone(userID: dev.id, days: 7), .dailySummary(userID: dev.id, summary),
                .streakMilestone(userID: muted.id, days: 7), .streakMilestone(userID: later.id, days: 7),
            ]
            let batch = try intents.enumerated().map { message(Array(try encoder.encode($0.element)), offset: Int64($0.offset)) }
            try await handler.apply(batch)
            try await handler.apply(batch)  // redelivered

            let queued = try await store.discord.outbox(userID: dev.id, channel: "discord")
            #expect(queued.map(\.eventType) == ["streak.milestone"], "the opted-out daily summary is not queued, the milestone once")
            #expect(queued.first?.status == "pending")
            let payload = try JSONDecoder().decode(DiscordMessage.self, from: Data((queued.first?.payload ?? "").utf8))
            #expect(payload.embeds.first?.title == "7-day streak!")
            #expect(payload.embeds.first?.url == "https://hub.example/u/dev")
            #expect(try await store.discord.outbox(userID: muted.id, channel: "discord").isEmpty, "muted")
            #expect(try await store.discord.outbox(userID: later.id, channel: "discord").isEmpty, "no URL")

            // Setting a URL later does not send old notifications when they are redelivered or replayed.
            _ = try await store.discord.updateDiscordSettings(userID: later.id, DiscordSettingsChange(sealedWebhookURL: .some(box.seal(url))))
            try await handler.apply(batch)
            #expect(try await store.discord.outbox(userID: later.id, channel: "discord").isEmpty)
            try await handler.apply([message(Array(try encoder.encode(NotificationIntent.streakMilestone(userID: later.id, days: 30))), offset: 9)])
            #expect(try await store.discord.outbox(userID: later.id, channel: "discord").map(\.eventType) == ["streak.milestone"])
            await producer.shutdown()
            await cluster.shutdown()
        }
    }
}
