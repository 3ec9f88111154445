import CRdKafka
import Logging
import Synchronization

/// A consumed message, copied out of librdkafka. `value == nil` is a tombstone, which is valid data.
public struct KafkaMessage: Sendable {
    public let topic: String
    public let partition: Int32
    public let offset: Int64
    public let key: [UInt8]?
    public let value: [UInt8]?
    public let headers: [KafkaHeader]
    /// Milliseconds since the epoch, when the broker or producer set one.
    public let timestampMilliseconds: Int64?

    public init(
        topic: String, partition: Int32, offset: Int64, key: [UInt8]?, value: [UInt8]?, headers: [KafkaHeader] = [],
        timestampMilliseconds: Int64? = nil
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.headers = headers
        self.timestampMilliseconds = timestampMilliseconds
    }

    public func header(_ name: String) -> KafkaHeader? {
        headers.last { $0.name == name }
    }
}

public struct KafkaTopicPartition: Sendable, Hashable, CustomStringConvertible {
    public let topic: String
    public let partition: Int32
    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }
    public var description: String { "\(topic)[\(partition)]" }
}

/// A partition-assignment change, reported so that callers can drop per-partition state.
public enum KafkaRebalanceEvent: Sendable, Equatable {
    case assigned([KafkaTopicPartition])
    case revoked([KafkaTopicPartition])
}

/// A consumer-group member with manual offset commits: nothing is committed until `commit(_:)` is
/// called, so a caller commits only after it has durably applied a batch (at-least-once delivery).
///
/// Every blocking librdkafka call (poll, commit, close, destroy) runs on the consumer's dedicated thread.
public final class KafkaConsumer: Sendable {
    private let handle: SendableHandle
    private let executor: BlockingExecutor
    private let logger: Logger
    private let shared: Shared

    final class Shared: Sendable {
        let assignment = Mutex<Set<KafkaTopicPartition>>([])
        let generation = Atomic<Int>(0)
        let closed = Mutex(false)
        let rebalanceContinuation: AsyncStream<KafkaRebalanceEvent>.Continuation
        init(continuation: AsyncStream<KafkaRebalanceEvent>.Continuation) {
            self.rebalanceContinuation = continuation
        }
    }

    /// Assignment changes, in order. Buffered (newest 64 kept) so an unread stream never blocks Kafka.
    public let rebalanceEvents: AsyncStream<KafkaRebalanceEvent>

    /// `configuration` must name `group.id`. Offsets are never committed automatically.
    public init(configuration: KafkaConfiguration, topics: [String], logger: Logger) throws(KafkaError) {
        guard configuration["group.id"] != nil else {
            throw KafkaError(.configuration, "group.id is required for a consumer")
        }
        var configuration = configuration
        configuration["enable.auto.commit"] = "false"
        configuration["enable.auto.offset.store"] = "false"
        if configuration["auto.offset.reset"] == nil { configuration["auto.offset.reset"] = "earliest" }
        if configuration["fetch.wait.max.ms"] == nil { configuration["fetch.wait.max.ms"] = "20" }
        self.logger = logger
        let (stream, continuation) = AsyncStream<KafkaRebalanceEvent>.makeStream(bufferingPolicy: .bufferingNewest(64))
        self.rebalanceEvents = stream
        let shared = Shared(continuation: continuation)
        self.shared = shared
        let context = ClientContext(logger: logger) { handle, err, partitions in
            Self.rebalance(handle: handle, err: err, partitions: partitions, shared: shared, logger: logger)
        }
        let raw = try makeClient(type: RD_KAFKA_CONSUMER, configuration: configuration, context: context) { conf in
            rd_kafka_conf_set_rebalance_cb(conf) { handle, err, partitions, _ in
                guard let handle, let context = ClientContext.from(handle) else { return }
                context.onRebalance?(handle, err, partitions)
            }
        }
        self.handle = SendableHandle(raw)
        self.executor = BlockingExecutor(name: "kafka-consumer-poll")
        rd_kafka_poll_set_consumer(raw)

        let list = rd_kafka_topic_partition_list_new(Int32(topics.count))
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for topic in topics {
            rd_kafka_topic_partition_list_add(list, topic, RD_KAFKA_PARTITION_UA)
        }
        let err = rd_kafka_subscribe(raw, list)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            let opaque = rd_kafka_opaque(raw)
            rd_kafka_destroy(raw)
            releaseContext(opaque)
            executor.stop()
            throw KafkaError(.consume, err: err, context: "subscribe to \(topics)")
        }
    }

    private static func rebalance(
        handle: OpaquePointer, err: rd_kafka_resp_err_t,
        partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?, shared: Shared, logger: Logger
    ) {
        let changed = partitions.map(topicPartitions) ?? []
        // NULL while the protocol is not known (seen when a group's coordinator went away mid-rebalance): eager.
        let cooperative = rd_kafka_rebalance_protocol(handle).map { String(cString: $0) } == "COOPERATIVE"
        switch err {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
            if cooperative {
                if let error = rd_kafka_incremental_assign(handle, partitions) { rd_kafka_error_destroy(error) }
            } else {
                rd_kafka_assign(handle, partitions)
            }
            shared.assignment.withLock { $0.formUnion(changed) }
            shared.generation.add(1, ordering: .sequentiallyConsistent)
            logger.info("partitions assigned", metadata: ["partitions": "\(changed.map(\.description).sorted())"])
            shared.rebalanceContinuation.yield(.assigned(changed))
        case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
            if cooperative {
                if let error = rd_kafka_incremental_unassign(handle, partitions) { rd_kafka_error_destroy(error) }
            } else {
                rd_kafka_assign(handle, nil)
            }
            shared.assignment.withLock { $0.subtract(changed) }
            shared.generation.add(1, ordering: .sequentiallyConsistent)
            logger.info("partitions revoked", metadata: ["partitions": "\(changed.map(\.description).sorted())"])
            shared.rebalanceContinuation.yield(.revoked(changed))
        default:
            logger.error("rebalance error: \(errorString(err))")
            rd_kafka_assign(handle, nil)
            shared.generation.add(1, ordering: .sequentiallyConsistent)
            let lost = shared.assignment.withLock { current -> [KafkaTopicPartition] in
                defer { current.removeAll() }
                return Array(current)
            }
            shared.rebalanceContinuation.yield(.revoked(lost))
        }
    }

    /// Grows with every assignment change: two equal readings mean no partition came or went in between
    /// (state a handler keeps about its partitions is still its own).
    public var assignmentGeneration: Int {
        shared.generation.load(ordering: .sequentiallyConsistent)
    }

    /// The partitions this member owns right now.
    public var assignment: Set<KafkaTopicPartition> {
        shared.assignment.withLock { $0 }
    }

    /// Waits up to `maxWait` for the first message, then takes whatever else is already fetched, up to
    /// `maxMessages`. Returns an empty array when nothing arrived. Consumer errors that librdkafka
    /// recovers from by itself are logged, not thrown; a fatal client error is thrown.
    public func poll(maxMessages: Int = 500, maxWait: Duration = .milliseconds(100)) async throws(KafkaError) -> [KafkaMessage] {
        if shared.closed.withLock({ $0 }) { throw KafkaError(.closed, "consumer is closed") }
        let handle = self.handle
        let logger = self.logger
        let waitMilliseconds = Int32(max(0, maxWait.components.seconds * 1000 + maxWait.components.attoseconds / 1_000_000_000_000_000))
        let result: Result<[KafkaMessage], KafkaError> = await executor.run {
            var batch: [KafkaMessage] = []
            var timeout = waitMilliseconds
            while batch.count < maxMessages {
                guard let message = rd_kafka_consumer_poll(handle.raw, timeout) else { break }
                defer { rd_kafka_message_destroy(message) }
                timeout = 0
                let err = message.pointee.err
                if err == RD_KAFKA_RESP_ERR_NO_ERROR {
                    batch.append(copyMessage(message))
                } else if err == RD_KAFKA_RESP_ERR__PARTITION_EOF {
                    continue
                } else if err == RD_KAFKA_RESP_ERR__FATAL {
                    var buffer = [CChar](repeating: 0, count: 512)
                    let fatal = rd_kafka_fatal_error(handle.raw, &buffer, buffer.count)
                    return .failure(KafkaError(.consume, err: fatal, context: "fatal consumer error"))
                } else {
                    logger.warning("consumer error (librdkafka retries by itself): \(errorString(err))")
                }
            }
            return .success(batch)
        }
        return try result.get()
    }

    /// Stops fetching these partitions until `resume(_:)`; what was fetched but not yet returned by `poll` is
    /// fetched again on resume, from the position after the last message `poll` returned. Non-blocking.
    public func pause(_ partitions: [KafkaTopicPartition]) {
        setPaused(partitions, paused: true)
    }

    public func resume(_ partitions: [KafkaTopicPartition]) {
        setPaused(partitions, paused: false)
    }

    private func setPaused(_ partitions: [KafkaTopicPartition], paused: Bool) {
        guard !partitions.isEmpty, !shared.closed.withLock({ $0 }) else { return }
        let list = rd_kafka_topic_partition_list_new(Int32(partitions.count))!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for partition in partitions { rd_kafka_topic_partition_list_add(list, partition.topic, partition.partition) }
        let err = paused ? rd_kafka_pause_partitions(handle.raw, list) : rd_kafka_resume_partitions(handle.raw, list)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            logger.warning("\(paused ? "pause" : "resume") of \(partitions.map(\.description).sorted()): \(errorString(err))")
        }
    }

    /// Commits, synchronously, the position after the last of `messages` in each partition.
    /// Call it only once the batch's effects are durable.
    public func commit(_ messages: [KafkaMessage]) async throws(KafkaError) {
        var next: [KafkaTopicPartition: Int64] = [:]
        for message in messages {
            let key = KafkaTopicPartition(topic: message.topic, partition: message.partition)
            next[key] = max(next[key] ?? 0, message.offset + 1)
        }
        guard !next.isEmpty else { return }
        try await commit(offsets: next)
    }

    /// Commits explicit next-offsets per partition.
    public func commit(offsets: [KafkaTopicPartition: Int64]) async throws(KafkaError) {
        let handle = self.handle
        let err: rd_kafka_resp_err_t = await executor.run {
            let list = rd_kafka_topic_partition_list_new(Int32(offsets.count))!
            defer { rd_kafka_topic_partition_list_destroy(list) }
            for (partition, offset) in offsets {
                rd_kafka_topic_partition_list_add(list, partition.topic, partition.partition).pointee.offset = offset
            }
            let err = rd_kafka_commit(handle.raw, list, 0)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR { return err }
            for index in 0..<Int(list.pointee.cnt) where list.pointee.elems[index].err != RD_KAFKA_RESP_ERR_NO_ERROR {
                return list.pointee.elems[index].err
            }
            return RD_KAFKA_RESP_ERR_NO_ERROR
        }
        if err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR__NO_OFFSET {
            throw KafkaError(.commit, err: err, context: "commit \(offsets.map { "\($0.key)@\($0.value)" }.sorted())")
        }
    }

    /// The group's committed next-offsets for the given partitions (`nil` where nothing is committed).
    public func committed(
        _ partitions: [KafkaTopicPartition], timeout: Duration = .seconds(5)
    ) async throws(KafkaError) -> [KafkaTopicPartition: Int64?] {
        let handle = self.handle
        let milliseconds = Int32(timeout.components.seconds * 1000)
        let result: Result<[KafkaTopicPartition: Int64?], KafkaError> = await executor.run {
            let list = rd_kafka_topic_partition_list_new(Int32(partitions.count))!
            defer { rd_kafka_topic_partition_list_destroy(list) }
            for partition in partitions {
                rd_kafka_topic_partition_list_add(list, partition.topic, partition.partition)
            }
            let err = rd_kafka_committed(handle.raw, list, milliseconds)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                return .failure(KafkaError(.consume, err: err, context: "committed offsets"))
            }
            var offsets: [KafkaTopicPartition: Int64?] = [:]
            for index in 0..<Int(list.pointee.cnt) {
                let element = list.pointee.elems[index]
                let key = KafkaTopicPartition(topic: String(cString: element.topic), partition: element.partition)
                offsets[key] = element.offset >= 0 ? element.offset : nil
            }
            return .success(offsets)
        }
        return try result.get()
    }

    /// The oldest and the next offset the broker holds for a partition.
    public func watermarks(_ partition: KafkaTopicPartition, timeout: Duration = .seconds(5)) async throws(KafkaError) -> (low: Int64, high: Int64) {
        let handle = self.handle
        let milliseconds = Int32(timeout.components.seconds * 1000)
        let result: Result<(low: Int64, high: Int64), KafkaError> = await executor.run {
            var (low, high): (Int64, Int64) = (0, 0)
            let err = rd_kafka_query_watermark_offsets(handle.raw, partition.topic, partition.partition, &low, &high, milliseconds)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                return .failure(KafkaError(.consume, err: err, context: "watermarks of \(partition)"))
            }
            return .success((low, high))
        }
        return try result.get()
    }

    /// Batches as an async sequence. It ends when the consumer is closed; empty polls are skipped.
    public func batches(maxMessages: Int = 500, maxWait: Duration = .milliseconds(100)) -> Batches {
        Batches(consumer: self, maxMessages: maxMessages, maxWait: maxWait)
    }

    public struct Batches: AsyncSequence, Sendable {
        public typealias Element = [KafkaMessage]
        let consumer: KafkaConsumer
        let maxMessages: Int
        let maxWait: Duration

        public struct AsyncIterator: AsyncIteratorProtocol {
            let consumer: KafkaConsumer
            let maxMessages: Int
            let maxWait: Duration

            public mutating func next() async throws -> [KafkaMessage]? {
                while !Task.isCancelled {
                    if consumer.shared.closed.withLock({ $0 }) { return nil }
                    let result: Result<[KafkaMessage], KafkaError>
                    do {
                        result = .success(try await consumer.poll(maxMessages: maxMessages, maxWait: maxWait))
                    } catch {
                        result = .failure(error)
                    }
                    switch result {
                    case .success(let batch) where !batch.isEmpty: return batch
                    case .success: continue
                    case .failure(let error) where error.kind == .closed: return nil
                    case .failure(let error): throw error
                    }
                }
                return nil
            }
        }

        public func makeAsyncIterator() -> AsyncIterator {
            AsyncIterator(consumer: consumer, maxMessages: maxMessages, maxWait: maxWait)
        }
    }

    /// Leaves the group (revoking partitions, so others take over at once) and destroys the client.
    /// Uncommitted work is simply redelivered to the next owner.
    public func close() async {
        let wasClosed = shared.closed.withLock { closed -> Bool in
            defer { closed = true }
            return closed
        }
        guard !wasClosed else { return }
        let handle = self.handle
        let logger = self.logger
        await executor.run {
            let err = rd_kafka_consumer_close(handle.raw)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR { logger.warning("consumer close: \(errorString(err))") }
            let opaque = rd_kafka_opaque(handle.raw)
            rd_kafka_destroy(handle.raw)
            releaseContext(opaque)
        }
        executor.stop()
        shared.rebalanceContinuation.finish()
    }

    deinit {
        if !shared.closed.withLock({ $0 }) {
            logger.warning("KafkaConsumer deinitialised without close(); its client leaks")
        }
    }
}

private func topicPartitions(_ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) -> [KafkaTopicPartition] {
    (0..<Int(list.pointee.cnt)).map { index in
        let element = list.pointee.elems[index]
        return KafkaTopicPartition(topic: String(cString: element.topic), partition: element.partition)
    }
}

private func copyMessage(_ message: UnsafeMutablePointer<rd_kafka_message_t>) -> KafkaMessage {
    let raw = message.pointee
    let topic = String(cString: rd_kafka_topic_name(raw.rkt))
    let value = raw.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: raw.len)) }
    let key = raw.key.map { Array(UnsafeRawBufferPointer(start: $0, count: raw.key_len)) }
    var headers: [KafkaHeader] = []
    var headerList: OpaquePointer?
    if rd_kafka_message_headers(message, &headerList) == RD_KAFKA_RESP_ERR_NO_ERROR, let headerList {
        var index = 0
        var name: UnsafePointer<CChar>?
        var valuePointer: UnsafeRawPointer?
        var size = 0
        while rd_kafka_header_get_all(headerList, index, &name, &valuePointer, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
            let bytes = valuePointer.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) } ?? []
            headers.append(KafkaHeader(name.map { String(cString: $0) } ?? "", bytes))
            index += 1
        }
    }
    var timestampType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
    let timestamp = rd_kafka_message_timestamp(message, &timestampType)
    return KafkaMessage(
        topic: topic, partition: raw.partition, offset: raw.offset, key: key, value: value, headers: headers,
        timestampMilliseconds: timestampType == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? nil : timestamp)
}
