import Synchronization

/// Waits at most a given time for an operation, for callers that must answer in time whatever a dependency
/// does (a webhook sender gives up after 10 s; a PostgreSQL pool that cannot connect keeps requests queued).
public enum Deadline {
    /// The operation did not finish within its limit; it was cancelled and left to end on its own.
    public struct Exceeded: Error, CustomStringConvertible {
        public let limit: Duration
        public var description: String { "no answer within \(limit)" }
    }

    /// The operation's result, or `Exceeded` after `limit`. Unlike a task group, this does not wait for a
    /// cancelled operation to notice its cancellation before returning.
    public static func run<T: Sendable>(_ limit: Duration, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        let once = ResumeOnce<T>()
        return try await withCheckedThrowingContinuation { continuation in
            once.set(continuation)
            let work = Task<Void, Never> {
                let result: Result<T, any Error>
                do {
                    result = .success(try await operation())
                } catch {
                    result = .failure(error)
                }
                once.resume(with: result)
            }
            let timer = Task<Void, Never> {
                try? await Task.sleep(for: limit)
                if once.resume(with: .failure(Exceeded(limit: limit))) { work.cancel() }
            }
            // The timer is not needed once the work is done (a timer per request would pile up under load).
            Task<Void, Never> {
                await work.value
                timer.cancel()
            }
        }
    }
}

/// A continuation resumed by whichever side comes first.
private final class ResumeOnce<T: Sendable>: Sendable {
    private let state = Mutex<(continuation: CheckedContinuation<T, any Error>?, result: Result<T, any Error>?)>((nil, nil))

    func set(_ continuation: CheckedContinuation<T, any Error>) {
        let early = state.withLock { state -> Result<T, any Error>? in
            if let result = state.result { return result }
            state.continuation = continuation
            return nil
        }
        if let early { continuation.resume(with: early) }
    }

    /// True when this call resumed the waiter.
    @discardableResult
    func resume(with result: Result<T, any Error>) -> Bool {
        let (continuation, first) = state.withLock { state -> (CheckedContinuation<T, any Error>?, Bool) in
            guard state.result == nil else { return (nil, false) }
            state.result = result
            defer { state.continuation = nil }
            return (state.continuation, true)
        }
        continuation?.resume(with: result)
        return first
    }
}
