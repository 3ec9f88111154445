import DevTrackCore
import DevTrackStore
import Foundation
import Kafka
import Logging
import Metrics
import ServiceLifecycle

/// What a worker does with one batch. Bad message content it recognises goes to the dead-letter topic from
/// the handler itself; a throw means the batch could not be applied. `BatchWorker` then classifies the
/// failure: transient trouble is retried for as long as it lasts, and a permanent failure is narrowed down to
/// the messages that cause it (see `PoisonIsolation`), which are dead-lettered while the rest is applied.
public protocol BatchHandler: Sendable {
    func apply(_ batch: [KafkaMessage]) async throws
    /// Partitions came or went since the last batch: forget whatever was kept in memory about them (another
    /// member may have applied messages in between). Never called while a batch is being applied.
    func partitionsChanged()
    /// Messages the worker loop dead-lettered because they could not be applied (already on the DLQ), for
    /// handlers that keep a log of what they received (a source's delivery log).
    func deadLettered(_ items: [DeadLetter]) async throws
}

extension BatchHandler {
    public func partitionsChanged() {}
    public func deadLettered(_ items: [DeadLetter]) async throws {}
}

/// A message that goes to `<topic>.dlq`, and why.
public struct DeadLetter: Sendable {
    public let message: KafkaMessage
    public let reason: String
    /// How many applications including it failed (0 when the handler rejected it on sight).
    public let attempts: Int

    public init(message: KafkaMessage, reason: String, attempts: Int = 0) {
        self.message = message
        self.reason = reason
        self.attempts = attempts
    }
}

/// A consumer-group loop. Each owned partition has its own lane: its messages are applied in order, in batches
/// of up to `maxBatch`, and its position is committed only after the batch's PostgreSQL transaction (commits
/// of all lanes go out together between polls). A partition whose lane is retrying holds back nothing of the
/// others: polling goes on, and only a lane with a long backlog has its partition paused until it drains.
/// On graceful shutdown polling stops, each lane finishes and commits the batch in hand, and the member leaves
/// the group so its partitions move at once.
public struct BatchWorker: Service {
    public let name: String
    let consumer: KafkaConsumer
    let handler: any BatchHandler
    let deadLetters: DeadLetters
    let logger: Logger
    let maxBatch: Int
    let retry: RetryPolicy
    /// A lane holding more than this many messages, or bytes, has its partition paused until half of it is applied.
    let maxBacklogMessages: Int
    let maxBacklogBytes: Int
    /// Told about every commit (the embedded default's gauge of what ingest may still accept).
    let backlog: KafkaBacklog?
    let metrics: WorkerMetrics

    public init(
        name: String, consumer: KafkaConsumer, handler: any BatchHandler, producer: KafkaProducer, logger: Logger,
        maxBatch: Int, retry: RetryPolicy = RetryPolicy(), maxBacklogBytes: Int = 64 << 20, backlog: KafkaBacklog? = nil
    ) {
        self.backlog = backlog
        self.name = name
        self.consumer = consumer
        self.handler = handler
        self.deadLetters = DeadLetters(producer: producer)
        self.logger = logger
        self.maxBatch = maxBatch
        self.retry = retry
        self.maxBacklogMessages = max(4 * maxBatch, 1000)
        self.maxBacklogBytes = maxBacklogBytes
        self.metrics = WorkerMetrics(worker: name)
    }

    public func run() async throws {
        logger.info("worker \(name) started")
        defer { logger.info("worker \(name) stopped") }
        let commits = PendingCommits()
        let gate = ApplyGate()
        var pollFailure: KafkaError?
        await withDiscardingTaskGroup { group in
            var lanes: [KafkaTopicPartition: PartitionLane] = [:]
            var paused: Set<KafkaTopicPartition> = []
            var generation = consumer.assignmentGeneration
            while !Task.isCancelled && !Task.isShuttingDownGracefully {
                let batch: [KafkaMessage]
                do {
                    batch = try await consumer.poll(maxMessages: maxBatch, maxWait: .milliseconds(100))
                } catch let error as KafkaError {
                    if error.kind != .closed { pollFailure = error }
                    break
                } catch {
                    break
                }
                if consumer.assignmentGeneration != generation {
                    generation = consumer.assignmentGeneration
                    let owned = consumer.assignment
                    for (partition, lane) in lanes where !owned.contains(partition) {
                        lane.close(revoked: true)
                        lanes[partition] = nil
                    }
                    commits.keep(only: owned)
                    consumer.resume(Array(paused))
                    paused = []
                    await gate.exclusively { handler.partitionsChanged() }
                }
                for (partition, messages) in Dictionary(grouping: batch, by: { KafkaTopicPartition(topic: $0.topic, partition: $0.partition) }) {
                    let lane: PartitionLane
                    if let existing = lanes[partition] {
                        lane = existing
                    } else {
                        lane = PartitionLane(partition)
                        lanes[partition] = lane
                        group.addTask { await drain(lane, gate: gate, commits: commits) }
                    }
                    lane.enqueue(messages)
                }
                let (full, drained) = backlogChanges(lanes: lanes, paused: paused)
                if !full.isEmpty { consumer.pause(full); paused.formUnion(full) }
                if !drained.isEmpty { consumer.resume(drained); paused.subtract(drained) }
                await commitPending(commits)
            }
            // Lanes finish the batch they are applying; what they hold beyond it is redelivered.
            for lane in lanes.values { lane.close(revoked: false) }
        }
        await commitPending(commits)
        await consumer.close()
        if let pollFailure {
            logger.error("worker \(name) cannot poll: \(pollFailure)")
            throw pollFailure
        }
    }

    private func backlogChanges(
        lanes: [KafkaTopicPartition: PartitionLane], paused: Set<KafkaTopicPartition>
    ) -> (full: [KafkaTopicPartition], drained: [KafkaTopicPartition]) {
        var full: [KafkaTopicPartition] = []
        var drained: [KafkaTopicPartition] = []
        for (partition, lane) in lanes {
            let backlog = lane.backlog
            if paused.contains(partition) {
                if backlog.messages <= maxBacklogMessages / 2 && backlog.bytes <= maxBacklogBytes / 2 { drained.append(partition) }
            } else if backlog.messages > maxBacklogMessages || backlog.bytes > maxBacklogBytes {
                full.append(partition)
            }
        }
        return (full, drained)
    }

    /// One partition's loop: apply what it holds in order, dead-letter its poison, record the position.
    private func drain(_ lane: PartitionLane, gate: ApplyGate, commits: PendingCommits) async {
        let isolation = PoisonIsolation<KafkaMessage>(
            policy: retry, classify: WorkerFailures.classify, describe: StoreFailures.summary,
            wait: { delay in
                try await Task.sleep(for: delay)
                if lane.isClosed || Task.isShuttingDownGracefully { throw CancellationError() }
            },
            observe: { [name, logger] error, kind, count in
                switch kind {
                case .transient:
                    logger.warning(
                        "worker \(name) \(lane.partition): \(count) message(s) wait for the infrastructure: \(StoreFailures.summary(error))")
                case .permanent:
                    logger.error("worker \(name) \(lane.partition): \(count) message(s) cannot be applied: \(StoreFailures.summary(error))")
                }
            })
        while let batch = await lane.next(maxMessages: maxBatch) {
            let poisoned: [PoisonedMessage<KafkaMessage>]
            let started = ContinuousClock.now
            do {
                poisoned = try await isolation.run(batch) { part in
                    await gate.enter()
                    do {
                        try await handler.apply(part)
                    } catch {
                        await gate.leave()
                        throw error
                    }
                    await gate.leave()
                }
            } catch {
                return  // closed or shutting down during a retry: the batch is redelivered
            }
            metrics.applied(batch.count, poisoned: poisoned.count, in: ContinuousClock.now - started)
            if !poisoned.isEmpty {
                let letters = poisoned.map { DeadLetter(message: $0.message, reason: $0.reason, attempts: $0.attempts) }
                guard await deadLetter(letters, lane: lane) else { return }
            }
            guard !lane.isRevoked, let last = batch.last else { return }
            commits.record(lane.partition, next: last.offset + 1)
        }
    }

    /// Sends poison to the DLQ (waiting out Kafka trouble), then tells the handler. False when the lane closed first.
    private func deadLetter(_ letters: [DeadLetter], lane: PartitionLane) async -> Bool {
        var delay = retry.initialBackoff
        while true {
            do {
                try await deadLetters.send(letters, worker: name, logger: logger)
                break
            } catch {
                logger.warning("worker \(name): dead letters wait for Kafka: \(error)")
                do { try await Task.sleep(for: delay) } catch { return false }
                if lane.isClosed { return false }
                delay = min(delay * 2, retry.maxBackoff)
            }
        }
        while true {
            do {
                try await handler.deadLettered(letters)
                return true
            } catch  where WorkerFailures.classify(error) == .transient {
                do { try await Task.sleep(for: delay) } catch { return false }
                if lane.isClosed { return false }
                delay = min(delay * 2, retry.maxBackoff)
            } catch {
                logger.error("worker \(name): cannot log \(letters.count) dead letter(s) (they are on the DLQ): \(error)")
                return true
            }
        }
    }

    private func commitPending(_ commits: PendingCommits) async {
        let offsets = commits.take()
        guard !offsets.isEmpty else { return }
        do {
            try await consumer.commit(offsets: offsets)
            backlog?.committed(offsets)
            metrics.lastCommit.record(Date().timeIntervalSince1970)
        } catch {
            // A rebalance conflict is benign: the next owner gets the messages again and our writes are
            // idempotent. Anything else is tried again with the next commit.
            if error.isRebalanceConflict {
                logger.info("worker \(name): commit skipped during a rebalance; messages will be redelivered")
            } else {
                logger.warning("worker \(name): commit failed, retried with the next one: \(error)")
                commits.restore(offsets)
            }
        }
    }
}

/// How the worker loop treats a failure of `apply`: Kafka and PostgreSQL say for their own errors; our own
/// validation (`PermanentFailure`) and anything unrecognised is permanent (it goes to the DLQ, from which
/// `devtrack dlq replay` brings it back once fixed).
public enum WorkerFailures {
    public static func classify(_ error: any Error) -> FailureClass {
        let error = StoreFailures.underlying(error)
        if error is CancellationError { return .transient }
        if let kafka = error as? KafkaError { return kafka.isPermanent ? .permanent : .transient }
        if let store = StoreFailures.classify(error) { return store }
        return .permanent
    }
}

/// Decodes every message of a batch with `decode`; tombstones and messages that do not decode come back
/// apart, each with the reason (`what` names the expected content, e.g. "an activity fact").
func decodeEach<Value>(
    _ batch: [KafkaMessage], what: String, decode: ([UInt8]) throws -> Value
) -> (values: [Value], rejected: [(message: KafkaMessage, reason: String)]) {
    var values: [Value] = []
    values.reserveCapacity(batch.count)
    var rejected: [(message: KafkaMessage, reason: String)] = []
    for message in batch {
        guard let bytes = message.value else {
            rejected.append((message, "empty message (tombstone) on \(message.topic)"))
            continue
        }
        do {
            values.append(try decode(bytes))
        } catch {
            rejected.append((message, "not \(what): \(error)"))
        }
    }
    return (values, rejected)
}

/// `decodeEach` with a `JSONDecoder`.
func decodeEach<Value: Decodable>(
    _ batch: [KafkaMessage], as type: Value.Type, what: String, decoder: JSONDecoder
) -> (values: [Value], rejected: [(message: KafkaMessage, reason: String)]) {
    decodeEach(batch, what: what) { try decoder.decode(Value.self, from: Data($0)) }
}

/// The activity facts of a batch (`FactCoding.decodeFact`), and the messages that are not facts.
func decodeFacts(_ batch: [KafkaMessage]) -> (values: [ActivityFact], rejected: [(message: KafkaMessage, reason: String)]) {
    let decoder = FactCoding.decoder()
    return decodeEach(batch, what: "an activity fact") { try FactCoding.decodeFact($0, fallback: decoder) }
}

/// Sends messages a worker cannot use to `<topic>.dlq`, unchanged, with the reason, the worker, the attempts,
/// when, and the original coordinates in headers (`devtrack dlq list` shows them, `devtrack dlq replay` uses them).
public struct DeadLetters: Sendable {
    let producer: KafkaProducer

    public init(producer: KafkaProducer) {
        self.producer = producer
    }

    /// Dead-letters `items` (if any) rejected on sight by `worker`, logging how many and the first reason.
    public func send(_ items: [(message: KafkaMessage, reason: String)], worker: String, logger: Logger) async throws {
        try await send(items.map { DeadLetter(message: $0.message, reason: $0.reason) }, worker: worker, logger: logger)
    }

    public func send(_ letters: [DeadLetter], worker: String, logger: Logger) async throws {
        guard !letters.isEmpty else { return }
        logger.warning("\(worker): \(letters.count) message(s) dead-lettered", metadata: ["first_reason": "\(letters[0].reason)"])
        let now = Timestamps.format(Date())
        try await withThrowingTaskGroup(of: Void.self) { group in
            for letter in letters {
                let message = letter.message
                group.addTask {
                    try await producer.send(
                        KafkaOutgoingMessage(
                            topic: Topics.deadLetter(of: message.topic), key: message.key, value: message.value,
                            headers: message.headers.filter { !RawEventHeaders.deadLetterHeaders.contains($0.name) } + [
                                KafkaHeader(RawEventHeaders.error, InputText.sanitized(letter.reason, maxBytes: 1000)),
                                KafkaHeader(RawEventHeaders.deadLetterWorker, worker),
                                KafkaHeader(RawEventHeaders.deadLetterAttempts, String(letter.attempts)),
                                KafkaHeader(RawEventHeaders.deadLetteredAt, now),
                                KafkaHeader(RawEventHeaders.originalTopic, message.topic),
                                KafkaHeader(RawEventHeaders.originalPartition, String(message.partition)),
                                KafkaHeader(RawEventHeaders.originalOffset, String(message.offset)),
                            ]))
                }
            }
            try await group.waitForAll()
        }
    }
}

/// A worker's figures for operators, labelled by worker name: batches and messages applied, messages dead-lettered, how
/// long a batch took (retries included), and when it last committed offsets.
struct WorkerMetrics: Sendable {
    let batches: Counter
    let messages: Counter
    let deadLetters: Counter
    let duration: Timer
    let lastCommit: Gauge

    init(worker: String) {
        let label = [("worker", worker)]
        batches = Counter(label: "devtrack_worker_batches_total", dimensions: label)
        messages = Counter(label: "devtrack_worker_messages_total", dimensions: label)
        deadLetters = Counter(label: "devtrack_worker_dead_letters_total", dimensions: label)
        duration = Timer(label: "devtrack_worker_batch_duration_seconds", dimensions: label, preferredDisplayUnit: .seconds)
        lastCommit = Gauge(label: "devtrack_worker_last_commit_timestamp_seconds", dimensions: label)
    }

    func applied(_ count: Int, poisoned: Int, in elapsed: Duration) {
        batches.increment()
        messages.increment(by: count)
        if poisoned > 0 { deadLetters.increment(by: poisoned) }
        duration.recordNanoseconds(elapsed.nanoseconds)
    }
}

extension Duration {
    /// Whole nanoseconds, saturating (what swift-metrics' timers take).
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : whole.addingReportingOverflow(attoseconds / 1_000_000_000).partialValue
    }
}
