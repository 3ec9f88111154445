import DevTrackStore
import Synchronization

/// Records delivery attempts in batches (group commit): the first caller while no write is under way
/// writes everything queued, and keeps writing until nothing is left; callers arriving meanwhile wait for
/// the write that carries theirs. A busy deliverer so makes one statement per batch, not per attempt, and
/// an idle one still records at once.
final class AttemptLog: Sendable {
    private struct Entry {
        let result: DeliveryAttemptResult
        /// nil for the writer's own entry.
        let waiter: CheckedContinuation<Bool, any Error>?
    }

    private struct Queue {
        var entries: [Entry] = []
        var writing = false
    }

    let outbox: OutboxRepository
    private let queue = Mutex(Queue())

    init(database: Database) {
        self.outbox = OutboxRepository(database)
    }

    /// Returns once the attempt is recorded; throws when the write carrying it failed.
    func record(_ result: DeliveryAttemptResult) async throws {
        let writer = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Bool, any Error>) in
            let becomesWriter = queue.withLock { queue -> Bool in
                if queue.writing {
                    queue.entries.append(Entry(result: result, waiter: continuation))
                    return false
                }
                queue.writing = true
                queue.entries.append(Entry(result: result, waiter: nil))
                return true
            }
            if becomesWriter { continuation.resume(returning: true) }
        }
        guard writer else { return }
        var ownFailure: (any Error)?
        while true {
            let batch = queue.withLock { queue -> [Entry] in
                let batch = queue.entries
                queue.entries = []
                if batch.isEmpty { queue.writing = false }
                return batch
            }
            guard !batch.isEmpty else { break }
            do {
                try await outbox.recordDeliveryAttempts(batch.map(\.result))
                for entry in batch { entry.waiter?.resume(returning: false) }
            } catch {
                for entry in batch {
                    if let waiter = entry.waiter { waiter.resume(throwing: error) } else { ownFailure = error }
                }
            }
        }
        if let ownFailure { throw ownFailure }
    }
}
