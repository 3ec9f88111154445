import ArgumentParser
import DevTrackCore
import DevTrackStore
import DevTrackWorkers
import Foundation
import Kafka
import Logging
import PostgresNIO
import Synchronization

/// Activity facts per second through the goals or the achievements worker: a fresh database seeded with
/// `users` users × `goals` goals and `history-days` days of past activity each, `facts` facts produced to
/// `devtrack.activity` on an in-process mock cluster, then one worker (one consumer, every partition)
/// applying them with its real handler and the production batch size. Run it once per worker: each must
/// store the facts itself, as it does in production when it is first to see them.
struct WorkerThroughput: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "workers", abstract: "Facts/s through the goals, achievements or metrics worker on real PostgreSQL and the mock cluster.")
    @Option(help: "goals, achievements or metrics (which stores the facts: pushes of 1–20 commits, counts checked after).")
    var worker: String = "goals"
    @Option var users: Int = 10_000
    @Option(help: "Goals per user.") var goals: Int = 20
    @Option(help: "Days of past activity per user (one commit a day).") var historyDays: Int = 90
    @Option(help: "Facts per pass.") var facts: Int = 100_000
    @Option(help: "Passes over new facts by the same worker: the first starts with nothing in memory, later ones show it warm.")
    var passes: Int = 2
    @Option(help: "Largest batch a worker takes (the production default).") var maxBatch: Int = 500
    @Flag(help: "Store the facts first, as the metrics worker does when it is ahead (then the measured worker only evaluates).")
    var storedByMetrics = false
    @Flag(help: "Keep the benchmark database (to inspect it) instead of dropping it.") var keepDatabase = false
    @Option(help: "PostgreSQL server URL (default: $DATABASE_URL, else a private cluster under .build/bench-pg).") var databaseURL: String?

    func run() async throws {
        var logger = Logger(label: "bench")
        logger.logLevel = .warning
        guard ["goals", "achievements", "metrics"].contains(worker) else { throw ValidationError("--worker must be goals, achievements or metrics") }
        let summary = try await withBenchDatabase(databaseURL: databaseURL, keep: keepDatabase, logger: logger) { client, database in
            let seeded = ContinuousClock.now
            let userIDs = try await seed(client)
            say("seeded \(users) users × \(goals) goals, \(historyDays) days of history each, in \(format(ContinuousClock.now - seeded))")
            return try await measure(client: client, database: database, userIDs: userIDs, logger: logger)
        }
        say(summary)
    }

    private func seed(_ client: PostgresClient) async throws -> [UUID] {
        try await client.query(
            """
            INSERT INTO users (id, login, github_id, timezone)
            SELECT gen_random_uuid(), 'bench' || i, 1000000 + i, (ARRAY['UTC', 'Europe/Berlin', 'Asia/Kolkata', 'America/New_York'])[1 + i % 4]
            FROM generate_series(1, \(users)) i
            """)
        // Units and periods cycle; targets so that some goals complete during the run and most do not.
        try await client.query(
            """
            INSERT INTO goals (id, user_id, title, target, unit, period, created_at)
            SELECT gen_random_uuid(), u.id, 'goal ' || g,
                   CASE (g / 7) % 4 WHEN 0 THEN 3 WHEN 1 THEN 15 WHEN 2 THEN 60 ELSE 400 END + g,
                   (ARRAY['commits', 'prs_opened', 'prs_merged', 'reviews', 'issues_closed', 'coding_minutes', 'active_days'])[1 + g % 7],
                   (ARRAY['daily', 'weekly', 'monthly', 'once'])[1 + (g / 7) % 4], now() - interval '45 days'
            FROM users u, generate_series(0, \(goals - 1)) g
            """)
        if historyDays > 0 {
            try await client.query(
                """
                INSERT INTO activities (user_id, id, kind, occurred_at, repo, language, source)
                SELECT u.id, 'commit:history-' || d, 'commit', date_trunc('day', now()) - d * interval '1 day' + interval '12 hours',
                       'bench/repo', 'Swift', 'bench'
                FROM users u, generate_series(1, \(historyDays)) d
                """)
            try await client.query(
                """
                INSERT INTO daily_stats (user_id, day, commits)
                SELECT a.user_id, (a.occurred_at AT TIME ZONE u.timezone)::date, count(*) FROM activities a JOIN users u ON u.id = a.user_id
                GROUP BY 1, 2
                """)
            try await client.query("INSERT INTO user_totals (user_id, commits) SELECT user_id, count(*) FROM activities GROUP BY user_id")
            try await client.query(
                """
                INSERT INTO user_marks (user_id, kind, key) SELECT id, 'commit_language', 'swift' FROM users
                """)
        }
        try await client.query("ANALYZE")
        var ids: [UUID] = []
        for try await id in try await client.query("SELECT id FROM users").decode(UUID.self) { ids.append(id) }
        return ids
    }

    private func measure(client: PostgresClient, database: Database, userIDs: [UUID], logger: Logger) async throws -> String {
        let cluster = try KafkaMockCluster(brokers: 1, logger: logger)
        try cluster.createTopic(KafkaTopicSpecification(name: Topics.activity, partitions: 6, replicationFactor: 1))
        try cluster.createTopic(KafkaTopicSpecification(name: Topics.notifications, partitions: 1, replicationFactor: 1))
        let producer = try KafkaProducer(
            configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers, ["linger.ms": "5"]), logger: logger)

        // A realistic mix of kinds, within the last 36 hours, across random users.
        let kinds: [(ActivityKind, Int)] = [(.commit, 60), (.prOpened, 10), (.review, 8), (.prMerged, 7), (.issueClosed, 5), (.issueOpened, 10)]
        let weighted = kinds.flatMap { Array(repeating: $0.0, count: $0.1) }
        let languages = ["Swift", "Go", "Rust", "Python", "TypeScript", "Kotlin", "Java", "C"]
        let now = Date()
        let encoder = FactCoding.encoder()
        let produced = ContinuousClock.now
        let total = facts * passes
        // For the metrics worker, pushes: 1 to 20 commits of one user at a time, as GitHub sends them.
        var pushes: [ActivityFact] = []
        if worker == "metrics" {
            while pushes.count < total {
                let user = userIDs.randomElement()!
                let at = now.addingTimeInterval(-Double.random(in: 0..<129_600))
                for _ in 0..<min(Int.random(in: 1...20), total - pushes.count) {
                    pushes.append(
                        ActivityFact(
                            id: "commit:bench-\(pushes.count)", userID: user, kind: .commit, occurredAt: at, repo: "bench/repo",
                            language: languages.randomElement(), source: "bench"))
                }
            }
        }
        for chunk in stride(from: 0, to: total, by: 5_000) {
            let generated = (chunk..<min(total, chunk + 5_000)).map { index in
                if worker == "metrics" { return pushes[index] }
                let kind = weighted[index % weighted.count]
                return ActivityFact(
                    id: "\(kind.rawValue):bench-\(index)", userID: userIDs.randomElement()!, kind: kind,
                    occurredAt: now.addingTimeInterval(-Double.random(in: 0..<129_600)), repo: "bench/repo",
                    language: kind == .commit ? languages.randomElement() : nil, source: "bench")
            }
            if storedByMetrics {
                for part in stride(from: 0, to: generated.count, by: 500) {
                    let slice = Array(generated[part..<min(generated.count, part + 500)])
                    try await database.transaction { try await ActivityRepository(database).applyFacts(slice, on: $0) }
                }
            }
            let messages = try generated.map { fact in
                KafkaOutgoingMessage(
                    topic: Topics.activity, key: Array(fact.userID.uuidString.lowercased().utf8), value: Array(try encoder.encode(fact)))
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for message in messages { group.addTask { try await producer.send(message) } }
                try await group.waitForAll()
            }
        }
        say(
            "produced \(total) facts to \(Topics.activity) (6 partitions)"
                + "\(storedByMetrics ? ", stored first as the metrics worker would," : "") in \(format(ContinuousClock.now - produced))"
        )

        // librdkafka's mock cluster keeps at most 5 MB or 100,000 message sets per partition and drops older
        // ones: the worker would then never see them all.
        let probe = try KafkaConsumer(
            configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers, ["group.id": "bench-probe"]),
            topics: [Topics.activity], logger: logger)
        var dropped: Int64 = 0
        for partition in 0..<6 {
            dropped += try await probe.watermarks(KafkaTopicPartition(topic: Topics.activity, partition: Int32(partition))).low
        }
        await probe.close()
        guard dropped == 0 else {
            await producer.shutdown()
            await cluster.shutdown()
            throw BenchFailure(
                description: """
                    the mock cluster dropped the \(dropped) oldest facts (it keeps at most 5 MB or 100,000 message sets per \
                    partition): run fewer --facts or --passes
                    """)
        }
        let handler: any BatchHandler =
            switch worker {
            case "goals": GoalsHandler(database: database, producer: producer, logger: logger)
            case "metrics": MetricsHandler(database: database, producer: producer, logger: logger)
            default: AchievementsHandler(database: database, producer: producer, logger: logger)
            }
        let timed = TimedHandler(handler, expected: total, pass: facts)
        let consumer = try KafkaConsumer(
            configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers, ["group.id": "bench-\(worker)"]),
            topics: [Topics.activity], logger: logger)
        let batchWorker = BatchWorker(name: worker, consumer: consumer, handler: timed, producer: producer, logger: logger, maxBatch: maxBatch)
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await batchWorker.run() }
            await timed.done()
            group.cancelAll()
        }
        let notifications = try KafkaConsumer(
            configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers, ["group.id": "bench-reader"]),
            topics: [Topics.notifications], logger: logger)
        let intents = try await notifications.watermarks(KafkaTopicPartition(topic: Topics.notifications, partition: 0)).high
        await notifications.close()
        await producer.shutdown()
        await cluster.shutdown()

        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        var lines: [String] = []
        for (index, pass) in timed.report().enumerated() {
            lines.append(
                """
                \(worker) pass \(index + 1) (\(index == 0 ? "cold" : "warm")): \(facts) facts in \(String(format: "%.1f", pass.elapsed)) s = \
                \(Int(Double(facts) / pass.elapsed)) facts/s (\(pass.batches) partition batches, p50 \(pass.p50) ms, p99 \(pass.p99) ms each)
                """)
        }
        // Passes are counted by facts applied, and each starts with what the consumer has fetched so far: the first pass
        // also pays the start (each lane's first batches are small, each connection's first statements are planned).
        let overall = timed.overall()
        lines.append(
            "\(worker) all passes: \(total) facts in \(String(format: "%.1f", overall)) s = \(Int(Double(total) / max(overall, 0.001))) facts/s")
        lines.append("\(intents) intents published; peak RSS \(usage.ru_maxrss / 1024) MB")
        if worker == "metrics" {
            // Exact: every fact once, in the facts table and in the daily and all-time counters.
            var stored = 0
            var daily = 0
            var totals = 0
            let counts = try await client.query(
                """
                SELECT (SELECT count(*) FROM activities WHERE id LIKE 'commit:bench-%')::bigint,
                       (SELECT coalesce(sum(commits), 0) FROM daily_stats)::bigint, (SELECT coalesce(sum(commits), 0) FROM user_totals)::bigint
                """)
            for try await (a, d, t) in counts.decode((Int, Int, Int).self) { (stored, daily, totals) = (a, d, t) }
            let history = userIDs.count * historyDays
            let exact = stored == total && daily == total + history && totals == total + history
            lines.append(
                "stored \(stored) of \(total) facts; daily_stats \(daily), user_totals \(totals) commits "
                    + "(with \(history) of history): \(exact ? "exact" : "WRONG")"
            )
            guard exact else {
                say(lines.joined(separator: "\n"))
                throw BenchFailure(description: "the metrics worker's counts are not exact")
            }
        }
        return lines.joined(separator: "\n")
    }

}

/// Wraps a handler to time each batch, per pass of `pass` messages, and signal when `expected` went through.
final class TimedHandler: BatchHandler, Sendable {
    struct Pass {
        var start: ContinuousClock.Instant?
        var end: ContinuousClock.Instant?
        var durations: [Double] = []
    }
    struct State {
        var processed = 0
        var passes: [Pass] = []
        var waiter: CheckedContinuation<Void, Never>?
        var finished = false
    }
    let inner: any BatchHandler
    let expected: Int
    let pass: Int
    let state = Mutex(State())

    init(_ inner: any BatchHandler, expected: Int, pass: Int) {
        self.inner = inner
        self.expected = expected
        self.pass = pass
    }

    func partitionsChanged() { inner.partitionsChanged() }

    func apply(_ batch: [KafkaMessage]) async throws {
        let start = ContinuousClock.now
        try await inner.apply(batch)
        let end = ContinuousClock.now
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            let index = min(state.processed / pass, max(0, expected / pass - 1))
            while state.passes.count <= index { state.passes.append(Pass()) }
            if state.passes[index].start == nil { state.passes[index].start = start }
            state.passes[index].end = end
            let duration = end - start
            state.passes[index].durations.append(Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15)
            if state.processed / 20_000 != (state.processed + batch.count) / 20_000 {
                say("  … \(state.processed + batch.count) of \(expected) facts applied")
            }
            state.processed += batch.count
            guard state.processed >= expected, !state.finished else { return nil }
            state.finished = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    func done() async {
        await withCheckedContinuation { continuation in
            let finished = state.withLock { state -> Bool in
                if state.finished { return true }
                state.waiter = continuation
                return false
            }
            if finished { continuation.resume() }
        }
    }

    /// Seconds from the first batch's start to the last one's end, over every pass.
    func overall() -> Double {
        state.withLock { state in
            guard let first = state.passes.first?.start, let last = state.passes.last?.end else { return 0 }
            let elapsed = last - first
            return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        }
    }

    func report() -> [(elapsed: Double, batches: Int, p50: Int, p99: Int)] {
        state.withLock { state in
            state.passes.map { pass in
                let sorted = pass.durations.sorted()
                let elapsed = pass.start.flatMap { first in pass.end.map { $0 - first } } ?? .zero
                func percentile(_ p: Double) -> Int { sorted.isEmpty ? 0 : Int(sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]) }
                return (
                    Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18, sorted.count, percentile(0.5),
                    percentile(0.99)
                )
            }
        }
    }
}

/// Writes a line at once (print is block-buffered when stdout is a pipe, and a killed run would lose it).
func say(_ text: String) {
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
}

struct BenchFailure: Error, CustomStringConvertible {
    let description: String
}
