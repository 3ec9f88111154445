import DevTrackCore
import DevTrackDelivery
import DevTrackOutbound
import DevTrackStore
import DevTrackTestSupport
import DevTrackWorkers
import Foundation
import Kafka
import Logging
import Synchronization
import Testing

/// The Discord deliverer against the real PostgreSQL and a fake Discord on loopback.
@Suite(.timeLimit(.minutes(3)))
struct DiscordDeliveryTests {
    let logger = Logger(label: "discord-delivery-tests")
    let box = try! SecretBox(base64Key: Data(repeating: 9, count: 32).base64EncodedString())

    @Test func answersDecideRetriesRateLimitsAndDisablingWhileAHangingWebhookDelaysNoOneElse() async throws {
        try await TestDatabase.shared.withFreshStore { store, _ in
            let discord = FakeDiscord()
            try await discord.serving { base in
                // One user per behaviour; webhook ids are the users' logins' numbers.
                let behaviours: [(String, [FakeDiscord.Answer])] = [
                    ("100000000000000001", []),  // healthy
                    (
                        "100000000000000002",
                        [.init(status: .tooManyRequests, body: #"{"message":"You are being rate limited.","retry_after":0.4,"global":false}"#)]
                    ),
                    ("100000000000000003", [.init(status: .internalServerError), .init(status: .badGateway)]),
                    ("100000000000000004", [.init(status: .notFound, body: #"{"message":"Unknown Webhook","code":10015}"#)]),
                    ("100000000000000005", [.init(status: .noContent, delay: .seconds(4))]),  // hangs past the client's timeout
                    ("100000000000000006", [.init(status: .badRequest, body: #"{"message":"Invalid Form Body","code":50035}"#)]),
                ]
                discord.scripts.withLock { scripts in for (id, script) in behaviours { scripts[id] = script } }
                var users: [String: UUID] = [:]
                for (index, (id, _)) in behaviours.enumerated() {
                    let user = try await store.users.createUser(login: "u\(index)", githubID: Int64(index + 1), timezone: "UTC")
                    users[id] = user.id
                    _ = try await store.discord.updateDiscordSettings(
                        userID: user.id, DiscordSettingsChange(sealedWebhookURL: .some(box.seal("\(base)/api/webhooks/\(id)/token"))))
                    let intent = NotificationIntent.streakMilestone(userID: user.id, days: 7)
                    let message = DiscordMessage.notification(intent, profileURL: nil, at: Date())
                    _ = try await store.database.transaction { transaction in
                        let stored = try await store.notifications.storeNotifications([intent], on: transaction)
                        try await store.outbox.queueDeliveries(
                            stored.map {
                                .discord(
                                    userID: $0.intent.userID, dedupeKey: $0.intent.dedupeKey, eventType: $0.intent.type,
                                    payload: String(decoding: try JSONEncoder().encode(message), as: UTF8.self))
                            }, on: transaction)
                    }
                }
                let channel = DiscordChannel(
                    database: store.database, secretBox: box, http: try OutboundHTTPClient(allowList: ["127.0.0.1"], timeout: .seconds(1)),
                    logger: logger, schedule: RetrySchedule(maxFailures: 4, base: 0.2, cap: 1))
                let deliverer = OutboxDeliverer(
                    database: store.database, channel: channel, logger: logger, maxConcurrent: 8, pollInterval: .milliseconds(20), lease: .seconds(60)
                )
                let started = ContinuousClock.now
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await deliverer.run() }
                    func entry(_ id: String) async throws -> OutboxEntry? {
                        try await store.discord.outbox(userID: users[id]!, channel: "discord").first
                    }

                    // Healthy: once, at once, even though another webhook hangs.
                    let healthy = try await eventually(within: 20, { try await entry("100000000000000001") }, until: { $0?.status == "delivered" })
                    #expect(healthy?.status == "delivered")
                    #expect(healthy?.attempts == 1)
                    #expect(
                        try #require(discord.requests(to: "100000000000000001").first).at - started < .seconds(1),
                        "not held up by the hanging webhook")
                    let posted = try JSONDecoder().decode(DiscordMessage.self, from: Data(discord.requests(to: "100000000000000001")[0].body))
                    #expect(posted.embeds.first?.title == "7-day streak!")

                    // 429: waited for retry_after, then delivered; a rate limit is not a failure.
                    let limited = try await eventually(within: 20, { try await entry("100000000000000002") }, until: { $0?.status == "delivered" })
                    #expect(limited?.attempts == 2)
                    #expect(limited?.failures == 0)
                    let tries = discord.requests(to: "100000000000000002")
                    #expect(tries.count == 2)
                    #expect(tries[1].at - tries[0].at >= .milliseconds(400), "honoured retry_after")

                    // 5xx twice: retried with backoff, then delivered.
                    let flaky = try await eventually(within: 20, { try await entry("100000000000000003") }, until: { $0?.status == "delivered" })
                    #expect(flaky?.attempts == 3)
                    #expect(flaky?.failures == 2)
                    let attempts = try await store.outbox.deliveryAttempts(outboxID: flaky!.id)
                    #expect(attempts.map(\.statusCode) == [500, 502, 204])

                    // 404 Unknown Webhook: failed, URL disabled, the user told in the app.
                    let gone = try await eventually(within: 20, { try await entry("100000000000000004") }, until: { $0?.status == "failed" })
                    #expect(gone?.lastError == "404 Unknown Webhook")
                    let settings = try await store.discord.discordSettings(userID: users["100000000000000004"]!)
                    #expect(settings?.disabledReason?.contains("Unknown Webhook") == true)
                    let inApp = try await store.notifications.notifications(
                        userID: users["100000000000000004"]!, unreadOnly: false, limit: 10, after: nil)
                    #expect(inApp.page.contains { $0.type == "discord.disabled" })
                    #expect(discord.requests(to: "100000000000000004").count == 1)

                    // Hanging: timed out, then retried and delivered.
                    let slow = try await eventually(within: 30, { try await entry("100000000000000005") }, until: { $0?.status == "delivered" })
                    #expect((slow?.failures ?? 0) >= 1)
                    #expect(try await store.outbox.deliveryAttempts(outboxID: slow!.id).first?.error?.contains("no response within") == true)

                    // 400: not retried.
                    let bad = try await eventually(within: 20, { try await entry("100000000000000006") }, until: { $0?.status == "failed" })
                    #expect(bad?.lastError?.contains("Invalid Form Body") == true)
                    #expect(discord.requests(to: "100000000000000006").count == 1)
                    group.cancelAll()
                }
            }
        }
    }

    /// The documented rate under a 429 storm: after a 429 no request reaches that webhook before its
    /// `retry_after`, after a global one none reaches any webhook before it, and `X-RateLimit-Remaining: 0`
    /// holds the webhook for `X-RateLimit-Reset-After`.
    @Test func aRateLimitStormNeverExceedsTheRateDiscordAsksFor() async throws {
        try await TestDatabase.shared.withFreshStore { store, _ in
            let discord = FakeDiscord()
            try await discord.serving { base in
                let limited = FakeDiscord.Answer(
                    status: .tooManyRequests, body: #"{"message":"You are being rate limited.","retry_after":0.3,"global":false}"#)
                let exhausted = FakeDiscord.Answer(status: .noContent, headers: [("X-RateLimit-Remaining", "0"), ("X-RateLimit-Reset-After", "0.3")])
                let slow = FakeDiscord.Answer(status: .noContent, delay: .milliseconds(100))
                let behaviours: [(webhook: String, messages: Int, script: [FakeDiscord.Answer])] = [
                    ("100000000000000011", 3, [limited, limited, limited, exhausted]),
                    (
                        "100000000000000012", 1,
                        [.init(status: .tooManyRequests, body: #"{"message":"You are being rate limited.","retry_after":1.0,"global":true}"#)]
                    ),
                    ("100000000000000013", 8, Array(repeating: slow, count: 8)),  // steady work that the global limit must pause
                ]
                discord.scripts.withLock { scripts in for behaviour in behaviours { scripts[behaviour.webhook] = behaviour.script } }
                var users: [String: UUID] = [:]
                for (index, behaviour) in behaviours.enumerated() {
                    let user = try await store.users.createUser(login: "s\(index)", githubID: Int64(index + 1), timezone: "UTC")
                    users[behaviour.webhook] = user.id
                    _ = try await store.discord.updateDiscordSettings(
                        userID: user.id, DiscordSettingsChange(sealedWebhookURL: .some(box.seal("\(base)/api/webhooks/\(behaviour.webhook)/token"))))
                    let rows = try (0..<behaviour.messages).map { day in
                        let intent = NotificationIntent.streakMilestone(userID: user.id, days: 7 + day)
                        let message = DiscordMessage.notification(intent, profileURL: nil, at: Date())
                        return OutboxRow.discord(
                            userID: user.id, dedupeKey: intent.dedupeKey, eventType: intent.type,
                            payload: String(decoding: try JSONEncoder().encode(message), as: UTF8.self))
                    }
                    _ = try await store.database.transaction { try await store.outbox.queueDeliveries(rows, on: $0) }
                }
                let channel = DiscordChannel(
                    database: store.database, secretBox: box, http: try OutboundHTTPClient(allowList: ["127.0.0.1"], timeout: .seconds(2)),
                    logger: logger)
                let deliverer = OutboxDeliverer(
                    database: store.database, channel: channel, logger: logger, maxConcurrent: 8, pollInterval: .milliseconds(10), lease: .seconds(60)
                )
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await deliverer.run() }
                    for behaviour in behaviours {
                        let entries = try await eventually(
                            within: 30, { try await store.discord.outbox(userID: users[behaviour.webhook]!, channel: "discord") },
                            until: {
                                $0.count == behaviour.messages && $0.allSatisfy { $0.status == "delivered" }
                            })
                        #expect(entries.allSatisfy { $0.failures == 0 }, "a rate limit is not a failure")
                    }
                    group.cancelAll()
                }
                // Per webhook: after a 429 or an exhausted bucket, nothing before the time Discord gave.
                let storm = discord.requests(to: "100000000000000011")
                #expect(storm.count == 3 + 3)
                for index in 0..<4 {
                    #expect(storm[index + 1].at - storm[index].at >= .milliseconds(300), "request \(index + 1) came too soon")
                }
                // Global: nothing new to any webhook while the pause runs, and the steady work went on after it.
                // Each webhook may have had one request on the wire before the deliverer read the 429 (on a
                // loaded machine that read can lag a few hundred milliseconds), so the window starts 250 ms in
                // and allows one per webhook; ignoring the pause puts about six of the steady webhook's in it.
                let global = try #require(discord.requests(to: "100000000000000012").first).at
                let everything = discord.received.withLock { $0 }
                let duringPause = everything.filter { $0.at > global + .milliseconds(250) && $0.at < global + .milliseconds(1000) }
                let perWebhook = Dictionary(grouping: duringPause, by: \.webhookID).mapValues(\.count)
                #expect(perWebhook.values.allSatisfy { $0 <= 1 }, "\(perWebhook)")
                #expect(discord.requests(to: "100000000000000013").contains { $0.at >= global + .milliseconds(1000) }, "steady work was waiting")
            }
        }
    }

    /// What the hand-off tests share: a fresh store, a fake Discord with one user per webhook (answering as
    /// `scripts` say), a Discord deliverer running for the duration of `body`, and the notify handler handing
    /// off to it.
    struct Handoff {
        let store: TestStore
        let discord: FakeDiscord
        let handler: NotifyHandler
        let users: [String: UUID]

        func notify(_ intents: [NotificationIntent]) async throws {
            try await handler.apply(
                try intents.enumerated().map {
                    KafkaMessage(
                        topic: Topics.notifications, partition: 0, offset: Int64($0.offset), key: nil,
                        value: Array(try JSONEncoder().encode($0.element)))
                })
        }

        func outbox(_ webhook: String) async throws -> [OutboxEntry] { try await store.discord.outbox(userID: users[webhook]!, channel: "discord") }

        /// (attempts, seconds until the next attempt) of the webhook's rows, oldest first.
        func leases(_ webhook: String) async throws -> [(Int, Double)] {
            var result: [(Int, Double)] = []
            for try await row in try await store.client.query(
                """
                SELECT attempts, extract(epoch FROM next_attempt_at - now())::float8 FROM outbox WHERE user_id = \(users[webhook]!)
                ORDER BY created_at, dedupe_key
                """
            ).decode((Int, Double).self) { result.append(row) }
            return result
        }
    }

    func withHandoff(
        webhooks: [String], scripts: [String: [FakeDiscord.Answer]] = [:], schedule: RetrySchedule = RetrySchedule(),
        queuedBeforeStart: [String] = [], pollInterval: Duration, _ body: @Sendable (Handoff) async throws -> Void
    ) async throws {
        try await TestDatabase.shared.withFreshStore { store, _ in
            let cluster = try KafkaMockCluster(brokers: 1, logger: logger)
            let producer = try KafkaProducer(configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers), logger: logger)
            let discord = FakeDiscord()
            discord.scripts.withLock { $0 = scripts }
            try await discord.serving { base in
                var users: [String: UUID] = [:]
                for (index, webhook) in webhooks.enumerated() {
                    let user = try await store.users.createUser(login: "h\(index)", githubID: Int64(100 + index), timezone: "UTC")
                    users[webhook] = user.id
                    _ = try await store.discord.updateDiscordSettings(
                        userID: user.id, DiscordSettingsChange(sealedWebhookURL: .some(box.seal("\(base)/api/webhooks/\(webhook)/token"))))
                }
                let channel = DiscordChannel(
                    database: store.database, secretBox: box, http: try OutboundHTTPClient(allowList: ["127.0.0.1"], timeout: .seconds(2)),
                    logger: logger, schedule: schedule)
                let deliverer = OutboxDeliverer(
                    database: store.database, channel: channel, logger: logger, maxConcurrent: 8, pollInterval: pollInterval, lease: .seconds(60))
                let handoff = Handoff(
                    store: store, discord: discord,
                    handler: NotifyHandler(database: store.database, producer: producer, logger: logger, handoffs: [deliverer]), users: users)
                // Queued without a handoff, due at once: only the deliverer's own claim can send these.
                try await Handoff(
                    store: store, discord: discord, handler: NotifyHandler(database: store.database, producer: producer, logger: logger),
                    users: users
                ).notify(queuedBeforeStart.map { .streakMilestone(userID: users[$0]!, days: 7) })
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await deliverer.run() }
                    try await body(handoff)
                    group.cancelAll()
                }
            }
            await producer.shutdown()
            await cluster.shutdown()
        }
    }

    /// The notify worker hands what it queues to the deliverer of its process, leased in the same statement:
    /// sent at once although this deliverer never polls, one request at a time per webhook (a second message
    /// for a webhook in the same batch waits in the outbox and goes when the first is done), each exactly once.
    @Test func freshDeliveriesAreHandedToTheDelivererLeasedAndSentOnceWithoutAPoll() async throws {
        let (first, second, sentinel) = ("100000000000000021", "100000000000000022", "100000000000000023")
        try await withHandoff(webhooks: [first, second, sentinel], queuedBeforeStart: [sentinel], pollInterval: .seconds(3600)) { hub in
            // The sentinel was due before the start: once it arrived, the deliverer's first look at the outbox is over, and
            // from now on it only wakes when rung.
            _ = try await eventually(within: 20, { hub.discord.requests(to: sentinel).count }, until: { $0 == 1 })
            try await hub.notify([
                .streakMilestone(userID: hub.users[first]!, days: 7), .streakMilestone(userID: hub.users[first]!, days: 30),
                .streakMilestone(userID: hub.users[second]!, days: 7),
            ])
            let leased = try await hub.leases(first) + hub.leases(second)
            #expect(leased.map(\.0).sorted() == [0, 1, 1], "the first row per webhook is queued leased, as by a claim")
            #expect(leased.filter { $0.0 == 1 }.allSatisfy { $0.1 > 50 }, "leased for the 60 s lease")
            let entries = try await eventually(
                within: 20, { try await hub.outbox(first) + hub.outbox(second) },
                until: {
                    $0.count == 3 && $0.allSatisfy { $0.status == "delivered" }
                })
            #expect(entries.allSatisfy { $0.status == "delivered" && $0.attempts == 1 }, "\(entries.map { ($0.status, $0.attempts) })")
            #expect(hub.discord.requests(to: first).count == 2)
            #expect(hub.discord.requests(to: second).count == 1)
        }
    }

    /// A webhook held by a 429 gets nothing before its `retry_after`, not even a message queued during the hold
    /// (it is due at once in the outbox, but the deliverer remembers the hold).
    @Test func aMessageQueuedWhileItsWebhookIsRateLimitedWaitsForTheRetryAfter() async throws {
        let webhook = "100000000000000031"
        let limited = FakeDiscord.Answer(
            status: .tooManyRequests, body: #"{"message":"You are being rate limited.","retry_after":1.0,"global":false}"#)
        try await withHandoff(webhooks: [webhook], scripts: [webhook: [limited]], pollInterval: .milliseconds(20)) { hub in
            let user = hub.users[webhook]!
            try await hub.notify([.streakMilestone(userID: user, days: 7)])
            _ = try await eventually(within: 10, { try await hub.outbox(webhook) }, until: { $0.first?.lastError?.contains("rate limited") == true })
            try await hub.notify([.streakMilestone(userID: user, days: 30)])
            _ = try await eventually(
                within: 10, { try await hub.outbox(webhook) }, until: { $0.count == 2 && $0.allSatisfy { $0.status == "delivered" } })
            let requests = hub.discord.requests(to: webhook)
            #expect(requests.count == 3, "the limited one, its retry, the new one")
            for later in requests.dropFirst() {
                #expect(later.at - requests[0].at >= .milliseconds(1000), "a request \(later.at - requests[0].at) after the 429")
            }
        }
    }

    /// A webhook that keeps failing is left alone for the backoff, whatever else is queued for it: five
    /// messages at once cost one request, not five, until the backoff runs out; a healthy webhook meanwhile
    /// gets its message at once.
    @Test func aFailingWebhookCostsOneRequestPerBackoffNotOnePerMessage() async throws {
        let (failing, healthy) = ("100000000000000041", "100000000000000042")
        try await withHandoff(
            webhooks: [failing, healthy], scripts: [failing: Array(repeating: .init(status: .internalServerError), count: 20)],
            schedule: RetrySchedule(maxFailures: 8, base: 2, cap: 8), pollInterval: .milliseconds(20)
        ) { hub in
            try await hub.notify((1...5).map { .streakMilestone(userID: hub.users[failing]!, days: $0) })
            _ = try await eventually(within: 10, { hub.discord.requests(to: failing).count }, until: { $0 >= 1 })
            try await hub.notify([.streakMilestone(userID: hub.users[healthy]!, days: 7)])
            _ = try await eventually(within: 10, { hub.discord.requests(to: healthy).count }, until: { $0 == 1 })
            // The second request comes after the backoff of one failure (1 to 2 s), not milliseconds after the first as
            // it would without the hold; the backoff after two failures is longer still.
            let requests = try await eventually(within: 10, { hub.discord.requests(to: failing) }, until: { $0.count >= 2 })
            #expect(requests.count == 2, "\(requests.count) requests")
            #expect(requests[1].at - requests[0].at >= .milliseconds(1000), "a request \(requests[1].at - requests[0].at) after the first failure")
            let pending = try await hub.outbox(failing)
            #expect(pending.count == 5 && pending.allSatisfy { $0.status == "pending" })
        }
    }

    @Test func internalAddressesAreRefusedBeforeAnyConnection() async throws {
        let client = try OutboundHTTPClient(allowList: [], timeout: .seconds(2))
        for url in [
            "http://example.com/hook", "https://127.0.0.1/hook", "https://localhost:9/hook", "https://169.254.169.254/latest/meta-data",
            "https://10.0.0.1/hook", "https://[::1]/hook", "https://[::ffff:127.0.0.1]/hook", "ftp://example.com/x", "/relative",
        ] {
            do {
                _ = try await client.post(OutboundRequest(url: url, body: []))
                Issue.record("\(url) was not refused")
            } catch {
                guard case .refused = error else {
                    Issue.record("\(url): \(error), expected a refusal")
                    continue
                }
            }
        }
    }
}
