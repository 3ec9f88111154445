import DevTrackCore
import Foundation
import Kafka
import Logging
import ServiceLifecycle

/// What a worker does with one batch. It must not throw for bad message content (that goes to the
/// dead-letter topic); a throw means "infrastructure trouble, try the same batch again".
public protocol BatchHandler: Sendable {
    func apply(_ batch: [KafkaMessage]) async throws
    /// Partitions came or went since the last batch: forget whatever was kept in memory about them (another
    /// member may have applied messages in between).
    func partitionsChanged()
}

extension BatchHandler {
    public func partitionsChanged() {}
}

/// A consumer-group loop: poll a batch, apply it, then commit its offsets — so a position is committed
/// only after the batch's PostgreSQL transaction committed. A failing batch is retried with backoff,
/// never skipped; on graceful shutdown the current batch finishes, is committed, and the member leaves
/// the group so its partitions move at once.
public struct BatchWorker: Service {
    public let name: String
    let consumer: KafkaConsumer
    let handler: any BatchHandler
    let logger: Logger
    let maxBatch: Int

    public init(name: String, consumer: KafkaConsumer, handler: any BatchHandler, logger: Logger, maxBatch: Int = 500) {
        self.name = name
        self.consumer = consumer
        self.handler = handler
        self.logger = logger
        self.maxBatch = maxBatch
    }

    public func run() async throws {
        logger.info("worker \(name) started")
        defer { logger.info("worker \(name) stopped") }
        do {
            // On graceful shutdown the sequence ends after the batch in hand is applied and committed.
            var generation = consumer.assignmentGeneration
            for try await batch in consumer.batches(maxMessages: maxBatch, maxWait: .milliseconds(100)).cancelOnGracefulShutdown() {
                if consumer.assignmentGeneration != generation {
                    generation = consumer.assignmentGeneration
                    handler.partitionsChanged()
                }
                guard await applyByPartition(batch) else { break }
                await commit(batch)
            }
        } catch {
            logger.error("worker \(name) cannot poll: \(error)")
            await consumer.close()
            throw error
        }
        await consumer.close()
    }

    private func commit(_ batch: [KafkaMessage]) async {
        do {
            try await consumer.commit(batch)
        } catch {
            // A rebalance conflict is benign: the next owner gets the batch again and our writes are
            // idempotent. Anything else is logged; the next commit covers these offsets too.
            if error.isRebalanceConflict {
                logger.info("worker \(name): commit skipped during a rebalance; batch will be redelivered")
            } else {
                logger.warning("worker \(name): commit failed: \(error)")
            }
        }
    }

    /// Applies each partition's messages of the batch concurrently, in order within a partition. Returns
    /// false when shutdown came before all of them were applied (the batch is then redelivered).
    private func applyByPartition(_ batch: [KafkaMessage]) async -> Bool {
        let parts = Dictionary(grouping: batch, by: \.partition)
        guard parts.count > 1 else { return await applyWithRetry(batch) }
        return await withTaskGroup(of: Bool.self) { group in
            for part in parts.values { group.addTask { await applyWithRetry(part) } }
            return await group.reduce(true) { $0 && $1 }
        }
    }

    /// Returns false when shutdown came before the batch could be applied (it is then redelivered).
    private func applyWithRetry(_ batch: [KafkaMessage]) async -> Bool {
        var delay = Duration.milliseconds(200)
        while true {
            do {
                try await handler.apply(batch)
                return true
            } catch {
                logger.error("worker \(name): batch of \(batch.count) failed, retrying in \(delay): \(error)")
                do {
                    try await Task.sleep(for: delay)
                } catch {
                    return false
                }
                if Task.isShuttingDownGracefully { return false }
                delay = min(delay * 2, .seconds(10))
            }
        }
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

/// Sends messages a worker cannot use to `<topic>.dlq`, unchanged, with the reason in headers.
public struct DeadLetters: Sendable {
    let producer: KafkaProducer

    public init(producer: KafkaProducer) {
        self.producer = producer
    }

    /// Dead-letters `items` (if any), logging how many and the first reason under `worker`'s name.
    public func send(_ items: [(message: KafkaMessage, reason: String)], worker: String, logger: Logger) async throws {
        guard !items.isEmpty else { return }
        logger.warning("\(worker): \(items.count) message(s) dead-lettered", metadata: ["first_reason": "\(items[0].reason)"])
        try await send(items)
    }

    public func send(_ items: [(message: KafkaMessage, reason: String)]) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (message, reason) in items {
                group.addTask {
                    try await producer.send(KafkaOutgoingMessage(
                        topic: Topics.deadLetter(of: message.topic), key: message.key, value: message.value,
                        headers: message.headers + [
                            KafkaHeader(RawEventHeaders.error, reason),
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
