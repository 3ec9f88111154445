import Kafka
import Synchronization

/// The messages of one partition waiting for its lane in `BatchWorker`, in offset order. A message at or below
/// an offset already queued is a redelivery (librdkafka fetches again after a pause) and is dropped.
final class PartitionLane: Sendable {
    let partition: KafkaTopicPartition
    private let state = Mutex(State())

    private struct State {
        var queue: [KafkaMessage] = []
        var head = 0
        var bytes = 0
        var highestOffset: Int64 = -1
        var closed = false
        var revoked = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    init(_ partition: KafkaTopicPartition) {
        self.partition = partition
    }

    func enqueue(_ messages: [KafkaMessage]) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard !state.closed else { return nil }
            for message in messages where message.offset > state.highestOffset {
                state.queue.append(message)
                state.bytes += message.value?.count ?? 0
                state.highestOffset = message.offset
            }
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Up to `maxMessages` of the oldest queued messages, waiting for some; nil once the lane is closed.
    func next(maxMessages: Int) async -> [KafkaMessage]? {
        while true {
            enum Step { case batch([KafkaMessage]), closed, wait }
            let step = state.withLock { state -> Step in
                if state.closed { return .closed }
                let available = state.queue.count - state.head
                guard available > 0 else { return .wait }
                let end = state.head + min(available, maxMessages)
                let batch = Array(state.queue[state.head..<end])
                state.head = end
                state.bytes -= batch.reduce(0) { $0 + ($1.value?.count ?? 0) }
                if state.head == state.queue.count {
                    state.queue.removeAll(keepingCapacity: true)
                    state.head = 0
                } else if state.head > 4096 {
                    state.queue.removeFirst(state.head)
                    state.head = 0
                }
                return .batch(batch)
            }
            switch step {
            case .batch(let batch): return batch
            case .closed: return nil
            case .wait:
                await withCheckedContinuation { continuation in
                    let resumeNow = state.withLock { state -> Bool in
                        if state.closed || state.queue.count > state.head { return true }
                        state.waiter = continuation
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            }
        }
    }

    /// Stops the lane after the batch it is applying. `revoked`: the partition moved to another member, so
    /// that batch's position is not committed here either.
    func close(revoked: Bool) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.closed = true
            state.revoked = state.revoked || revoked
            state.queue = []
            state.head = 0
            state.bytes = 0
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    var isClosed: Bool { state.withLock { $0.closed } }
    var isRevoked: Bool { state.withLock { $0.revoked } }

    /// What waits to be applied.
    var backlog: (messages: Int, bytes: Int) {
        state.withLock { ($0.queue.count - $0.head, $0.bytes) }
    }
}

/// Positions applied but not yet committed, per partition; the poll loop commits them together.
final class PendingCommits: Sendable {
    private let offsets = Mutex<[KafkaTopicPartition: Int64]>([:])

    func record(_ partition: KafkaTopicPartition, next offset: Int64) {
        offsets.withLock { $0[partition] = max($0[partition] ?? 0, offset) }
    }

    func take() -> [KafkaTopicPartition: Int64] {
        offsets.withLock { pending in
            defer { pending = [:] }
            return pending
        }
    }

    /// Puts back positions whose commit failed, unless a newer one was recorded meanwhile.
    func restore(_ failed: [KafkaTopicPartition: Int64]) {
        offsets.withLock { pending in
            for (partition, offset) in failed { pending[partition] = max(pending[partition] ?? 0, offset) }
        }
    }

    /// Forgets partitions this member no longer owns.
    func keep(only owned: Set<KafkaTopicPartition>) {
        offsets.withLock { $0 = $0.filter { owned.contains($0.key) } }
    }
}

/// Lets lanes apply batches side by side, and the poll loop run something while none is applying (a handler's
/// memory is reset on a rebalance only between applications).
actor ApplyGate {
    private var active = 0
    private var held = false
    private var quiet: CheckedContinuation<Void, Never>?
    private var entering: [CheckedContinuation<Void, Never>] = []

    func enter() async {
        while held {
            await withCheckedContinuation { entering.append($0) }
        }
        active += 1
    }

    func leave() {
        active -= 1
        if active == 0, let quiet {
            self.quiet = nil
            quiet.resume()
        }
    }

    func exclusively(_ body: @Sendable () -> Void) async {
        held = true
        if active > 0 {
            await withCheckedContinuation { quiet = $0 }
        }
        body()
        held = false
        let waiting = entering
        entering = []
        for continuation in waiting { continuation.resume() }
    }
}
