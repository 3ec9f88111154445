import CRdKafka
import Logging

/// What one consumer group has committed, read through a consumer handle that never subscribes, so it never
/// joins the group and its members are not rebalanced. For lag figures, and for waiting until the workers
/// are through everything produced. Blocking calls run on its own thread.
public final class KafkaGroupOffsets: Sendable {
    public let group: String
    private let handle: SendableHandle
    private let executor: BlockingExecutor
    private let timeoutMilliseconds: Int32

    public init(configuration: KafkaConfiguration, group: String, logger: Logger, timeout: Duration = .seconds(5)) throws(KafkaError) {
        var configuration = configuration
        configuration["group.id"] = group
        configuration["enable.auto.commit"] = "false"
        self.group = group
        self.handle = SendableHandle(try makeClient(type: RD_KAFKA_CONSUMER, configuration: configuration, context: ClientContext(logger: logger)))
        self.executor = BlockingExecutor(name: "kafka-group-offsets")
        self.timeoutMilliseconds = Int32(timeout.components.seconds * 1000)
    }

    /// Per partition of each topic (name → partition count), the messages the group has not committed past:
    /// the high watermark minus the committed offset, or minus the low watermark where it has committed nothing.
    public func lag(topics: [String: Int32]) async throws(KafkaError) -> [KafkaTopicPartition: Int64] {
        let (handle, timeout) = (self.handle, timeoutMilliseconds)
        let result: Result<[KafkaTopicPartition: Int64], KafkaError> = await executor.run {
            let list = rd_kafka_topic_partition_list_new(Int32(topics.values.reduce(0, +)))!
            defer { rd_kafka_topic_partition_list_destroy(list) }
            for (topic, count) in topics {
                for partition in 0..<count { rd_kafka_topic_partition_list_add(list, topic, partition) }
            }
            let err = rd_kafka_committed(handle.raw, list, timeout)
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { return .failure(KafkaError(.consume, err: err, context: "committed offsets")) }
            var lag: [KafkaTopicPartition: Int64] = [:]
            for index in 0..<Int(list.pointee.cnt) {
                let element = list.pointee.elems[index]
                var (low, high): (Int64, Int64) = (0, 0)
                let err = rd_kafka_query_watermark_offsets(handle.raw, element.topic, element.partition, &low, &high, timeout)
                guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { return .failure(KafkaError(.consume, err: err, context: "watermarks")) }
                let partition = KafkaTopicPartition(topic: String(cString: element.topic), partition: element.partition)
                lag[partition] = max(0, high - (element.offset >= 0 ? element.offset : low))
            }
            return .success(lag)
        }
        return try result.get()
    }

    public func close() async {
        let handle = self.handle
        await executor.run {
            let opaque = rd_kafka_opaque(handle.raw)
            rd_kafka_destroy(handle.raw)
            releaseContext(opaque)
        }
        executor.stop()
    }
}
