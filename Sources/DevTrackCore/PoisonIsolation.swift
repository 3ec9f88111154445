/// Whether a failure to apply messages may go away by itself.
public enum FailureClass: Sendable, Equatable {
    /// The infrastructure is away or busy (PostgreSQL restarting, a connection lost, a Kafka produce timing
    /// out): the same messages will apply once it is back, so they are retried for as long as it lasts.
    case transient
    /// The messages themselves cannot be applied (a data exception, a broken constraint, our own validation):
    /// retrying the same messages gives the same answer.
    case permanent
}

/// Errors of our own that say a message can never be applied; the worker loop treats them as permanent.
public protocol PermanentFailure: Error {}

/// How often and how patiently a batch is tried before its poison is looked for.
public struct RetryPolicy: Sendable {
    /// Attempts of a whole batch that fail permanently before it is narrowed down (a fluke gets a second chance).
    public var permanentAttempts: Int
    /// The first wait after a failure; each further one doubles, up to `maxBackoff`.
    public var initialBackoff: Duration
    /// Kept short so that a worker is busy again within seconds of PostgreSQL's return.
    public var maxBackoff: Duration

    public init(permanentAttempts: Int = 3, initialBackoff: Duration = .milliseconds(100), maxBackoff: Duration = .seconds(2)) {
        self.permanentAttempts = max(1, permanentAttempts)
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
    }
}

/// A message that could not be applied, with the failure that showed it and how many attempts included it.
public struct PoisonedMessage<Message: Sendable>: Sendable {
    public let message: Message
    public let reason: String
    public let attempts: Int
}

/// Applies a batch so that one bad message never stops the ones around it. Transient failures are waited out
/// with capped exponential backoff and never count against the messages. A batch that fails permanently
/// `permanentAttempts` times is bisected: each half is applied on its own (in order), halves that fail again
/// are split further, and a single message that still fails is poison. Everything else is applied. For `k`
/// poison messages in `n`, that costs about `2k·log2(n)` extra applications and no waiting after the first
/// attempts. Pure: the application, the classification and the waiting are given to it.
public struct PoisonIsolation<Message: Sendable>: Sendable {
    public typealias Apply = @Sendable ([Message]) async throws -> Void

    let policy: RetryPolicy
    let classify: @Sendable (any Error) -> FailureClass
    /// The reason a poison message is dead-lettered with.
    let describe: @Sendable (any Error) -> String
    /// Waits between attempts; throwing (cancellation, shutdown) ends the isolation with that error.
    let wait: @Sendable (Duration) async throws -> Void
    /// Told about every failure before it is acted on (for logs): the failure, its class, the messages tried.
    let observe: @Sendable (any Error, FailureClass, Int) -> Void

    public init(
        policy: RetryPolicy = RetryPolicy(), classify: @escaping @Sendable (any Error) -> FailureClass,
        describe: @escaping @Sendable (any Error) -> String = { String(describing: $0) },
        wait: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) },
        observe: @escaping @Sendable (any Error, FailureClass, Int) -> Void = { _, _, _ in }
    ) {
        self.policy = policy
        self.classify = classify
        self.describe = describe
        self.wait = wait
        self.observe = observe
    }

    /// Applies `batch` and returns, in order, the messages that are poison (not applied). Throws only what
    /// `wait` throws.
    public func run(_ batch: [Message], apply: Apply) async throws -> [PoisonedMessage<Message>] {
        guard !batch.isEmpty else { return [] }
        var poisoned: [PoisonedMessage<Message>] = []
        try await isolate(batch[...], requiredFailures: policy.permanentAttempts, priorFailures: 0, apply: apply, into: &poisoned)
        return poisoned
    }

    private func isolate(
        _ slice: ArraySlice<Message>, requiredFailures: Int, priorFailures: Int, apply: Apply,
        into poisoned: inout [PoisonedMessage<Message>]
    ) async throws {
        var failures = 0
        var delay = policy.initialBackoff
        while true {
            do {
                try await apply(Array(slice))
                return
            } catch {
                let kind = classify(error)
                observe(error, kind, slice.count)
                if kind == .permanent {
                    failures += 1
                    if failures >= requiredFailures {
                        guard slice.count > 1 else {
                            poisoned.append(
                                PoisonedMessage(
                                    message: slice[slice.startIndex], reason: describe(error), attempts: priorFailures + failures))
                            return
                        }
                        // Halves are tried once each: the failure is already known not to be a fluke.
                        let middle = slice.startIndex + slice.count / 2
                        let known = priorFailures + failures
                        try await isolate(slice[..<middle], requiredFailures: 1, priorFailures: known, apply: apply, into: &poisoned)
                        try await isolate(slice[middle...], requiredFailures: 1, priorFailures: known, apply: apply, into: &poisoned)
                        return
                    }
                }
                try await wait(delay)
                delay = min(delay * 2, policy.maxBackoff)
            }
        }
    }
}
