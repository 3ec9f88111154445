import DevTrackCore
import DevTrackStore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// How one kind of destination is sent to and how its answers are read.
public protocol DeliveryChannel: Sendable {
    /// The outbox `channel` value.
    var name: String { get }
    /// Sends one claimed delivery and records the attempt. When the destination asks the whole channel to
    /// wait (Discord's global rate limit), `pause` is called at once, before the attempt is recorded.
    func deliver(_ delivery: ClaimedDelivery, pause: @escaping @Sendable (Duration) -> Void) async
    /// Closes idle connections (the deliverer has stopped).
    func close()
}

/// Delivers the outbox's rows of one channel, off the Kafka partitions: the notify worker queues them in
/// PostgreSQL, and any number of deliverers (one per `notify` worker process) claim due rows with
/// `FOR UPDATE SKIP LOCKED` under a lease. One request at a time per destination (a slow or dead
/// destination ties up one slot, never the others), at most `maxConcurrent` at once; graceful shutdown
/// stops claiming and lets the requests in flight finish.
public final class OutboxDeliverer: Service, Sendable {
    let store: HubStore
    let channel: any DeliveryChannel
    let logger: Logger
    let maxConcurrent: Int
    let pollInterval: Duration
    let lease: Duration
    private let state = Mutex(State())

    struct State {
        var busy: Set<String> = []
        var pausedUntil: ContinuousClock.Instant?
    }

    public init(
        store: HubStore, channel: any DeliveryChannel, logger: Logger, maxConcurrent: Int = 128,
        pollInterval: Duration = .milliseconds(100), lease: Duration = .seconds(60)
    ) {
        self.store = store
        self.channel = channel
        self.logger = logger
        self.maxConcurrent = maxConcurrent
        self.pollInterval = pollInterval
        self.lease = lease
    }

    public func run() async throws {
        logger.info("\(channel.name) deliverer started")
        // A finished delivery wakes the loop at once, so a freed slot is refilled without waiting for a poll.
        let (freed, signal) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        var slots = freed.makeAsyncIterator()
        await withDiscardingTaskGroup { group in
            while !Task.isCancelled, !Task.isShuttingDownGracefully {
                let claimed = await claimDue()
                for delivery in claimed {
                    group.addTask {
                        // A claim that was running when a pause began still returns rows: they wait it out too.
                        await self.waitOutPause()
                        await self.channel.deliver(delivery) { pause in
                            self.state.withLock { $0.pausedUntil = max($0.pausedUntil ?? .now, .now + pause) }
                        }
                        self.state.withLock { _ = $0.busy.remove(delivery.destination) }
                        signal.yield()
                    }
                }
                guard claimed.isEmpty else { continue }
                if state.withLock({ $0.busy.count >= maxConcurrent }) {
                    guard await slots.next() != nil else { break }
                } else {
                    try? await Task.sleep(for: pollInterval)
                }
            }
        }
        signal.finish()
        channel.close()
        logger.info("\(channel.name) deliverer stopped")
    }

    private func waitOutPause() async {
        while let until = state.withLock({ $0.pausedUntil }), until > .now, !Task.isCancelled {
            try? await Task.sleep(until: until)
        }
    }

    private func claimDue() async -> [ClaimedDelivery] {
        let (busy, paused) = state.withLock { state in
            (Array(state.busy), state.pausedUntil.map { $0 > .now } ?? false)
        }
        guard !paused, busy.count < maxConcurrent else { return [] }
        do {
            let claimed = try await store.claimDeliveries(channel: channel.name, excluding: busy, limit: maxConcurrent - busy.count, lease: lease)
            state.withLock { state in for delivery in claimed { state.busy.insert(delivery.destination) } }
            return claimed
        } catch {
            logger.error("\(channel.name) deliverer cannot claim deliveries: \(error)")
            return []
        }
    }
}

/// Sends, reads the answer with `decide`, records the attempt. Shared by the channels.
struct AttemptRunner: Sendable {
    let store: HubStore
    let http: OutboundHTTPClient
    let schedule: RetrySchedule
    let logger: Logger
    let log: AttemptLog

    init(store: HubStore, http: OutboundHTTPClient, schedule: RetrySchedule, logger: Logger) {
        self.store = store
        self.http = http
        self.schedule = schedule
        self.logger = logger
        self.log = AttemptLog(store: store)
    }

    /// Posts `request` and records the attempt with the outcome `decide` gives for the answer (network
    /// failures retry, refused addresses fail); a pause `decide` asks for goes to `pause` before the record
    /// (recording waits for a batch). Errors recording it are logged: the lease then runs out and the
    /// delivery is tried again.
    func attempt(
        _ delivery: ClaimedDelivery, _ request: OutboundRequest, pause: (Duration) -> Void,
        decide: (OutboundResponse) async throws -> (AttemptOutcome, String?, pause: Duration?)
    ) async {
        let started = ContinuousClock.now
        do {
            let answer: Result<OutboundResponse, OutboundFailure>
            do {
                answer = .success(try await http.post(request))
            } catch {
                answer = .failure(error)
            }
            let (outcome, error): (AttemptOutcome, String?)
            var statusCode: Int?
            switch answer {
            case .success(let response):
                statusCode = response.status
                let decided = try await decide(response)
                (outcome, error) = (decided.0, decided.1)
                if let wait = decided.pause { pause(wait) }
            case .failure(let failure):
                (outcome, error) = failure.isRetryable ? retryOrGiveUp(delivery, failure.description) : (.failed, failure.description)
            }
            try await log.record(DeliveryAttemptResult(delivery, outcome: outcome, statusCode: statusCode, latency: ContinuousClock.now - started, error: error))
            if case .failed = outcome { logger.warning("\(delivery.channel) delivery \(delivery.id) failed for good: \(error ?? "")") }
        } catch {
            logger.error("\(delivery.channel) delivery \(delivery.id): cannot record the attempt: \(error)")
        }
    }

    /// Gives up without sending (the destination is gone or has no usable address).
    func giveUp(_ delivery: ClaimedDelivery, _ reason: String) async {
        do {
            try await log.record(DeliveryAttemptResult(delivery, outcome: .failed, statusCode: nil, latency: .zero, error: reason))
        } catch {
            logger.error("\(delivery.channel) delivery \(delivery.id): cannot record the attempt: \(error)")
        }
    }

    func retryOrGiveUp(_ delivery: ClaimedDelivery, _ reason: String) -> (AttemptOutcome, String?) {
        guard let delay = schedule.delay(afterFailure: delivery.failures + 1) else {
            return (.failed, "\(reason) (gave up after \(delivery.failures + 1) failures)")
        }
        return (.retry(at: Date().addingTimeInterval(delay), counts: true), reason)
    }
}
