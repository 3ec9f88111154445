import DevTrackCore
import DevTrackOutbound
import DevTrackStore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Wakes a waiting loop at once, or lets its wait run out; a ring with nobody waiting is kept for the next wait.
final class Doorbell: Sendable {
    private struct State {
        var rung = false
        var waiter: (wait: Int, continuation: CheckedContinuation<Bool, Never>)?
        /// The wait whose deadline passed before it started waiting.
        var expired: Int?
        var waits = 0
        /// The waiting task was cancelled: every wait from now on returns at once.
        var cancelled = false
    }

    private let state = Mutex(State())

    func ring() {
        let waiter = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            guard let waiter = state.waiter else {
                state.rung = true
                return nil
            }
            state.waiter = nil
            return waiter.continuation
        }
        waiter?.resume(returning: true)
    }

    private func expire(_ wait: Int) {
        let waiter = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            guard let waiter = state.waiter, waiter.wait == wait else {
                state.expired = wait
                return nil
            }
            state.waiter = nil
            return waiter.continuation
        }
        waiter?.resume(returning: false)
    }

    private func cancel() {
        let waiter = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            state.cancelled = true
            defer { state.waiter = nil }
            return state.waiter?.continuation
        }
        waiter?.resume(returning: false)
    }

    /// Waits for a ring (true) or `deadline` (false).
    func wait(until deadline: ContinuousClock.Instant) async -> Bool {
        let wait = state.withLock { state in
            state.waits += 1
            return state.waits
        }
        return await withTaskGroup(of: Void.self) { group in
            group.addTask {
                try? await Task.sleep(until: deadline)
                if !Task.isCancelled { self.expire(wait) }
            }
            let rung = await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                    let answer = state.withLock { state -> Bool? in
                        if state.rung {
                            state.rung = false
                            return true
                        }
                        if state.expired == wait || state.cancelled { return false }
                        state.waiter = (wait, continuation)
                        return nil
                    }
                    if let answer { continuation.resume(returning: answer) }
                }
            } onCancel: {
                self.cancel()
            }
            group.cancelAll()
            return rung
        }
    }
}
