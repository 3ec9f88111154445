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

        mutating func consume(before next: Int64) {
            committed = max(committed, next)
            while head < entries.count, entries[head].offset < committed {
                bytes -= entries[head].bytes
                head += 1
            }
            if head > 1024 {
                entries.removeFirst(head)
                head = 0
            }
        }
    }

    public init(limitBytes: Int) {
        self.limitBytes = limitBytes
    }

    /// Counts an acknowledged message.
    public func produced(_ report: KafkaDeliveryReport, bytes: Int) {
        let key = KafkaTopicPartition(topic: report.topic, partition: report.partition)
        partitions.withLock { all in
            // In place: a copy of the entry taken out of the dictionary would copy its whole list on each append.
            guard report.offset >= all[key, default: Pending()].committed else { return }
            all[key, default: Pending()].entries.append((report.offset, bytes))
            all[key, default: Pending()].bytes += bytes
        }
    }

    /// A consumer group committed these next-offsets: what lies before them is consumed.
    public func committed(_ offsets: [KafkaTopicPartition: Int64]) {
        partitions.withLock { all in
            for (key, next) in offsets {
                all[key, default: Pending()].consume(before: next)
            }
        }
    }

    /// The largest backlog of any partition of `topic`, in bytes.
    public func bytes(of topic: String) -> Int {
        partitions.withLock { all in
            var largest = 0
            for (key, pending) in all where key.topic == topic { largest = max(largest, pending.bytes) }
            return largest
        }
    }

    public func isFull(_ topic: String) -> Bool {
        bytes(of: topic) >= limitBytes
    }
}
