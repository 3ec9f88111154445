import CRdKafka
import Logging

/// What a topic should look like: used to create it, or to grow its partitions.
public struct KafkaTopicSpecification: Sendable, Equatable {
    public var name: String
    public var partitions: Int32
    public var replicationFactor: Int32
    public var configs: [String: String]

    public init(name: String, partitions: Int32, replicationFactor: Int32, configs: [String: String] = [:]) {
        self.name = name
        self.partitions = partitions
        self.replicationFactor = replicationFactor
        self.configs = configs
    }
}

/// What the cluster said about one topic in an admin request.
public enum KafkaTopicChange: Sendable, Equatable {
    case created
    case partitionsIncreased(from: Int32, to: Int32)
    case unchanged(partitions: Int32)
    case failed(String)
}

/// The Admin API: topic metadata, CreateTopics, CreatePartitions. Blocking calls run on its own thread.
public final class KafkaAdmin: Sendable {
    private let handle: SendableHandle
    private let executor: BlockingExecutor
    private let requestTimeoutMilliseconds: Int32

    public init(configuration: KafkaConfiguration, logger: Logger, requestTimeout: Duration = .seconds(15)) throws(KafkaError) {
        let raw = try makeClient(type: RD_KAFKA_PRODUCER, configuration: configuration, context: ClientContext(logger: logger))
        self.handle = SendableHandle(raw)
        self.executor = BlockingExecutor(name: "kafka-admin")
        self.requestTimeoutMilliseconds = Int32(requestTimeout.components.seconds * 1000)
    }

    /// Partition counts of the topics that exist on the cluster.
    public func topicPartitionCounts() async throws(KafkaError) -> [String: Int32] {
        let handle = self.handle
        let timeout = requestTimeoutMilliseconds
        let result: Result<[String: Int32], KafkaError> = await executor.run {
            var metadata: UnsafePointer<rd_kafka_metadata>?
            let err = rd_kafka_metadata(handle.raw, 1, nil, &metadata, timeout)
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
                return .failure(KafkaError(.admin, err: err, context: "metadata request"))
            }
            defer { rd_kafka_metadata_destroy(metadata) }
            var counts: [String: Int32] = [:]
            for index in 0..<Int(metadata.pointee.topic_cnt) {
                let topic = metadata.pointee.topics[index]
                if topic.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                    counts[String(cString: topic.topic)] = topic.partition_cnt
                }
            }
            return .success(counts)
        }
        return try result.get()
    }

    /// Creates missing topics and grows the partition count of existing ones when the specification asks
    /// for more (Kafka cannot shrink a topic). Returns what happened per topic name.
    public func apply(_ specifications: [KafkaTopicSpecification]) async throws(KafkaError) -> [String: KafkaTopicChange] {
        let existing = try await topicPartitionCounts()
        var changes: [String: KafkaTopicChange] = [:]
        let missing = specifications.filter { existing[$0.name] == nil }
        let growing = specifications.filter { spec in existing[spec.name].map { $0 < spec.partitions } ?? false }
        for spec in specifications {
            if let count = existing[spec.name], count >= spec.partitions { changes[spec.name] = .unchanged(partitions: count) }
        }
        if !missing.isEmpty {
            for (name, error) in try await createTopics(missing) {
                changes[name] = error.map(KafkaTopicChange.failed) ?? .created
            }
        }
        if !growing.isEmpty {
            for (name, error) in try await createPartitions(growing) {
                let from = existing[name] ?? 0
                let to = growing.first { $0.name == name }?.partitions ?? from
                changes[name] = error.map(KafkaTopicChange.failed) ?? .partitionsIncreased(from: from, to: to)
            }
        }
        return changes
    }

    private func createTopics(_ specifications: [KafkaTopicSpecification]) async throws(KafkaError) -> [String: String?] {
        let handle = self.handle
        let timeout = requestTimeoutMilliseconds
        let result: Result<[String: String?], KafkaError> = await executor.run {
            var errorBuffer = [CChar](repeating: 0, count: 512)
            var newTopics: [OpaquePointer?] = []
            defer { newTopics.forEach { rd_kafka_NewTopic_destroy($0) } }
            for spec in specifications {
                guard let topic = rd_kafka_NewTopic_new(spec.name, spec.partitions, spec.replicationFactor, &errorBuffer, errorBuffer.count) else {
                    return .failure(KafkaError(.admin, "topic \(spec.name): \(cString(errorBuffer))"))
                }
                for (key, value) in spec.configs { rd_kafka_NewTopic_set_config(topic, key, value) }
                newTopics.append(topic)
            }
            return adminRequest(handle, "CreateTopics", timeout: timeout) {
                rd_kafka_CreateTopics(handle.raw, &newTopics, newTopics.count, nil, $0)
            } read: {
                var count = 0
                let results = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result($0), &count)
                return .success(topicResults(results, count: count))
            }
        }
        return try result.get()
    }

    private func createPartitions(_ specifications: [KafkaTopicSpecification]) async throws(KafkaError) -> [String: String?] {
        let handle = self.handle
        let timeout = requestTimeoutMilliseconds
        let result: Result<[String: String?], KafkaError> = await executor.run {
            var errorBuffer = [CChar](repeating: 0, count: 512)
            var requests: [OpaquePointer?] = []
            defer { requests.forEach { rd_kafka_NewPartitions_destroy($0) } }
            for spec in specifications {
                guard let request = rd_kafka_NewPartitions_new(spec.name, Int(spec.partitions), &errorBuffer, errorBuffer.count) else {
                    return .failure(KafkaError(.admin, "topic \(spec.name): \(cString(errorBuffer))"))
                }
                requests.append(request)
            }
            return adminRequest(handle, "CreatePartitions", timeout: timeout) {
                rd_kafka_CreatePartitions(handle.raw, &requests, requests.count, nil, $0)
            } read: {
                var count = 0
                let results = rd_kafka_CreatePartitions_result_topics(rd_kafka_event_CreatePartitions_result($0), &count)
                return .success(topicResults(results, count: count))
            }
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

/// Posts one admin request to a queue of its own (`send`), waits for its answer, and reads a successful one (`read`).
private func adminRequest<T>(
    _ handle: SendableHandle, _ name: String, timeout: Int32, send: (OpaquePointer?) -> Void, read: (OpaquePointer) -> Result<T, KafkaError>
) -> Result<T, KafkaError> {
    let queue = rd_kafka_queue_new(handle.raw)
    defer { rd_kafka_queue_destroy(queue) }
    send(queue)
    guard let event = rd_kafka_queue_poll(queue, timeout + 1000) else { return .failure(KafkaError(.timedOut, "\(name) got no answer")) }
    defer { rd_kafka_event_destroy(event) }
    guard rd_kafka_event_error(event) == RD_KAFKA_RESP_ERR_NO_ERROR else {
        return .failure(
            KafkaError(.admin, code: rd_kafka_event_error(event).rawValue, "\(name): \(String(cString: rd_kafka_event_error_string(event)))"))
    }
    return read(event)
}

private func topicResults(_ results: UnsafeMutablePointer<OpaquePointer?>?, count: Int) -> [String: String?] {
    var outcome: [String: String?] = [:]
    for index in 0..<count {
        guard let result = results?[index] else { continue }
        let name = String(cString: rd_kafka_topic_result_name(result))
        let err = rd_kafka_topic_result_error(result)
        if err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS {
            outcome[name] = .some(nil)
        } else {
            let message = rd_kafka_topic_result_error_string(result).map { String(cString: $0) } ?? errorString(err)
            outcome[name] = .some(message)
        }
    }
    return outcome
}

extension KafkaAdmin {
    /// Partition count and replication factor (the replicas of the first partition) of the topics that exist.
    public func topicLayouts() async throws(KafkaError) -> [String: KafkaTopicLayout] {
        let handle = self.handle
        let timeout = requestTimeoutMilliseconds
        let result: Result<[String: KafkaTopicLayout], KafkaError> = await executor.run {
            var metadata: UnsafePointer<rd_kafka_metadata>?
            let err = rd_kafka_metadata(handle.raw, 1, nil, &metadata, timeout)
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
                return .failure(KafkaError(.admin, err: err, context: "metadata request"))
            }
            defer { rd_kafka_metadata_destroy(metadata) }
            var layouts: [String: KafkaTopicLayout] = [:]
            for index in 0..<Int(metadata.pointee.topic_cnt) {
                let topic = metadata.pointee.topics[index]
                guard topic.err == RD_KAFKA_RESP_ERR_NO_ERROR else { continue }
                let replicas = topic.partition_cnt > 0 ? topic.partitions[0].replica_cnt : 0
                layouts[String(cString: topic.topic)] = KafkaTopicLayout(partitions: topic.partition_cnt, replicationFactor: replicas)
            }
            return .success(layouts)
        }
        return try result.get()
    }

    /// Each topic's configuration as the brokers report it (DescribeConfigs; defaults included).
    public func topicConfigs(_ names: [String]) async throws(KafkaError) -> [String: [String: String]] {
        guard !names.isEmpty else { return [:] }
        let handle = self.handle
        let timeout = requestTimeoutMilliseconds
        let result: Result<[String: [String: String]], KafkaError> = await executor.run {
            var resources: [OpaquePointer?] = names.map { rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, $0) }
            defer { resources.forEach { rd_kafka_ConfigResource_destroy($0) } }
            return adminRequest(handle, "DescribeConfigs", timeout: timeout) {
                rd_kafka_DescribeConfigs(handle.raw, &resources, resources.count, nil, $0)
            } read: { event in
                var count = 0
                guard let described = rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(event), &count) else {
                    return .success([:])
                }
                var configs: [String: [String: String]] = [:]
                for index in 0..<count {
                    guard let resource = described[index], rd_kafka_ConfigResource_error(resource) == RD_KAFKA_RESP_ERR_NO_ERROR else { continue }
                    var entryCount = 0
                    var values: [String: String] = [:]
                    if let entries = rd_kafka_ConfigResource_configs(resource, &entryCount) {
                        for entryIndex in 0..<entryCount {
                            guard let entry = entries[entryIndex], let name = rd_kafka_ConfigEntry_name(entry) else { continue }
                            values[String(cString: name)] = rd_kafka_ConfigEntry_value(entry).map { String(cString: $0) } ?? ""
                        }
                    }
                    configs[String(cString: rd_kafka_ConfigResource_name(resource))] = values
                }
                return .success(configs)
            }
        }
        return try result.get()
    }
}

/// A topic as the cluster has it.
public struct KafkaTopicLayout: Sendable, Equatable {
    public var partitions: Int32
    public var replicationFactor: Int32

    public init(partitions: Int32, replicationFactor: Int32) {
        self.partitions = partitions
        self.replicationFactor = replicationFactor
    }
}

/// How a topic on the cluster differs from its specification: what `topics apply` cannot change (more partitions than
/// asked, another replication factor) or does not change (configs), each said in words.
public enum KafkaTopicDrift {
    public static func differences(
        _ specification: KafkaTopicSpecification, layout: KafkaTopicLayout?, configs: [String: String]?
    ) -> [String] {
        guard let layout else { return ["missing"] }
        var found: [String] = []
        if layout.partitions < specification.partitions {
            found.append("\(layout.partitions) partitions, the specification asks for \(specification.partitions)")
        } else if layout.partitions > specification.partitions {
            found.append("\(layout.partitions) partitions, more than the specification's \(specification.partitions) (Kafka cannot shrink a topic)")
        }
        if layout.replicationFactor != specification.replicationFactor {
            found.append("replication factor \(layout.replicationFactor), the specification asks for \(specification.replicationFactor)")
        }
        if let configs {
            for (name, wanted) in specification.configs.sorted(by: { $0.key < $1.key }) where configs[name] != wanted {
                found.append("\(name) is \(configs[name].map { "'\($0)'" } ?? "not set"), the specification says '\(wanted)'")
            }
        }
        return found
    }
}
