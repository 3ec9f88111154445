import Synchronization

/// What was produced to each partition and not yet committed by its consumer group, in bytes of message values,
/// as one process sees it (its producer's acknowledgements and its consumer's commits). librdkafka's mock
/// cluster keeps at most ~5 MB per partition and silently drops older messages: on the embedded default,
/// where every role is in one process, ingest stops acknowledging before a lagging worker could lose anything.
public final class KafkaBacklog: Sendable {
    /// Backlog at which `isFull` answers true.
    public let limitBytes: Int
    private let partitions = Mutex<[KafkaTopicPartition: Pending]>([:])

    private struct Pending {
        /// (offset, bytes) of acknowledged messages not yet committed, in offset order.
        var entries: [(offset: Int64, bytes: Int)] = []
        var head = 0
        var bytes = 0
        var committed: Int64 = 0
    }

    public init(limitBytes: Int) {
        self.limitBytes = limitBytes
    }

    /// Counts an acknowledged message.
    public func produced(_ report: KafkaDeliveryReport, bytes: Int) {
        let key = KafkaTopicPartition(topic: report.topic, partition: report.partition)
        partitions.withLock { all in
            var pending = all[key] ?? Pending()
            guard report.offset >= pending.committed else { return }
            pending.entries.append((report.offset, bytes))
            pending.bytes += bytes
            all[key] = pending
        }
    }

    /// A consumer group committed these next-offsets: what lies before them is consumed.
    public func committed(_ offsets: [KafkaTopicPartition: Int64]) {
        partitions.withLock { all in
            for (key, next) in offsets {
                var pending = all[key] ?? Pending()
                pending.committed = max(pending.committed, next)
                while pending.head < pending.entries.count, pending.entries[pending.head].offset < pending.committed {
                    pending.bytes -= pending.entries[pending.head].bytes
                    pending.head += 1
                }
                if pending.head > 1024 {
                    pending.entries.removeFirst(pending.head)
                    pending.head = 0
                }
                all[key] = pending
            }
        }
    }

    /// The largest backlog of any partition of `topic`, in bytes.
    public func bytes(of topic: String) -> Int {
        partitions.withLock { all in all.filter { $0.key.topic == topic }.map(\.value.bytes).max() ?? 0 }
    }

    public func isFull(_ topic: String) -> Bool {
        bytes(of: topic) >= limitBytes
    }
}
