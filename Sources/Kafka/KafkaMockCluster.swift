import CRdKafka
import Logging

/// librdkafka's built-in mock cluster (`rdkafka_mock.h`): real Kafka-protocol brokers on loopback, with
/// consumer groups and fault injection. Any client, in this process or another, can use
/// `bootstrapServers` while this object lives. Data is kept in memory only.
///
/// The mock does not implement CreateTopics, so topics are created here with `createTopic`.
public final class KafkaMockCluster: Sendable {
    private let handle: SendableHandle
    private let cluster: SendableHandle
    private let executor: BlockingExecutor
    public let bootstrapServers: String
    public let brokerCount: Int

    public init(brokers: Int = 3, logger: Logger) throws(KafkaError) {
        // The cluster lives inside a helper client handle; this one never connects anywhere.
        let raw = try makeClient(
            type: RD_KAFKA_PRODUCER,
            configuration: KafkaConfiguration(["log_level": "3"]),
            context: ClientContext(logger: logger))
        guard let cluster = rd_kafka_mock_cluster_new(raw, Int32(brokers)) else {
            let opaque = rd_kafka_opaque(raw)
            rd_kafka_destroy(raw)
            releaseContext(opaque)
            throw KafkaError(.mockCluster, "rd_kafka_mock_cluster_new failed")
        }
        self.handle = SendableHandle(raw)
        self.cluster = SendableHandle(cluster)
        self.bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
        self.brokerCount = brokers
        self.executor = BlockingExecutor(name: "kafka-mock-cluster")
    }

    /// Creates a topic (or does nothing when it exists with at least that many partitions).
    public func createTopic(_ specification: KafkaTopicSpecification) throws(KafkaError) {
        let replication = min(specification.replicationFactor, Int32(brokerCount))
        let err = rd_kafka_mock_topic_create(cluster.raw, specification.name, specification.partitions, replication)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS {
            throw KafkaError(.mockCluster, err: err, context: "create topic \(specification.name)")
        }
    }

    /// Broker ids are 1...brokerCount.
    public func setBrokerDown(_ id: Int32) {
        rd_kafka_mock_broker_set_down(cluster.raw, id)
    }

    public func setBrokerUp(_ id: Int32) {
        rd_kafka_mock_broker_set_up(cluster.raw, id)
    }

    /// Takes every broker down (clients then see an unavailable cluster) or brings them all back. librdkafka
    /// 2.0.2 re-binds a broker's port as it goes down and aborts the whole process when that bind fails (a port
    /// in TIME_WAIT, or taken meanwhile): use it only in a process of its own (`devtrack kafka-mock`), never in
    /// a test process — there, refuse requests with `pushRequestErrors` instead.
    public func setAllBrokers(up: Bool) {
        for id in 1...Int32(brokerCount) {
            up ? setBrokerUp(id) : setBrokerDown(id)
        }
    }

    /// Makes the next `errors.count` requests with Kafka API key `apiKey` fail with these error codes.
    public func pushRequestErrors(apiKey: Int16, errors: [Int32]) {
        var codes = errors.map { rd_kafka_resp_err_t(rawValue: $0) }
        rd_kafka_mock_push_request_errors_array(cluster.raw, apiKey, codes.count, &codes)
    }

    /// Forgets the errors pushed for `apiKey` that were not used yet.
    public func clearRequestErrors(apiKey: Int16) {
        rd_kafka_mock_clear_request_errors(cluster.raw, apiKey)
    }

    public func setPartitionLeader(topic: String, partition: Int32, broker: Int32) {
        rd_kafka_mock_partition_set_leader(cluster.raw, topic, partition, broker)
    }

    /// Stops the brokers. `rd_kafka_destroy` blocks, so it runs on the cluster's own thread.
    public func shutdown() async {
        let handle = self.handle
        let cluster = self.cluster
        await executor.run {
            rd_kafka_mock_cluster_destroy(cluster.raw)
            let opaque = rd_kafka_opaque(handle.raw)
            rd_kafka_destroy(handle.raw)
            releaseContext(opaque)
        }
        executor.stop()
    }
}
