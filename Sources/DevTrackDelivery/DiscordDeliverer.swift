import DevTrackCore
import DevTrackStore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Posts the outbox's Discord deliveries, off the Kafka partitions: the notify worker queues them in
/// PostgreSQL, and any number of deliverers (one per `notify` worker process) claim due rows with
/// `FOR UPDATE SKIP LOCKED` under a lease. One request at a time per webhook (a slow or dead webhook
/// ties up one slot, never the others), at most `maxConcurrent` at once. Discord's answers decide what
/// follows (`DiscordAnswer`): rate limits hold the webhook — or every webhook, for a global limit — for
/// the time Discord gives, transient failures retry with backoff and jitter up to a limit, and a webhook
/// that no longer exists is disabled and the user told in the app.
public final class DiscordDeliverer: Service, Sendable {
    let store: HubStore
    let secretBox: SecretBox
    let http: OutboundHTTPClient
    let logger: Logger
    let schedule: RetrySchedule
    let maxConcurrent: Int
    let pollInterval: Duration
    let lease: Duration
    private let state = Mutex(State())

    struct State {
        var busy: Set<UUID> = []
        var globalPauseUntil: ContinuousClock.Instant?
    }

    public init(
        store: HubStore, secretBox: SecretBox, http: OutboundHTTPClient, logger: Logger, schedule: RetrySchedule = RetrySchedule(),
        maxConcurrent: Int = 32, pollInterval: Duration = .milliseconds(100), lease: Duration = .seconds(60)
    ) {
        self.store = store
        self.secretBox = secretBox
        self.http = http
        self.logger = logger
        self.schedule = schedule
        self.maxConcurrent = maxConcurrent
        self.pollInterval = pollInterval
        self.lease = lease
    }

    public func run() async throws {
        logger.info("discord deliverer started")
        await withDiscardingTaskGroup { group in
            while !Task.isCancelled, !Task.isShuttingDownGracefully {
                let claimed = await claimDue()
                for delivery in claimed {
                    group.addTask {
                        await self.deliver(delivery)
                        self.state.withLock { _ = $0.busy.remove(delivery.userID) }
                    }
                }
                if claimed.isEmpty { try? await Task.sleep(for: pollInterval) }
            }
        }
        logger.info("discord deliverer stopped")
    }

    private func claimDue() async -> [ClaimedDiscordDelivery] {
        let (busy, paused) = state.withLock { state in
            (Array(state.busy), state.globalPauseUntil.map { $0 > .now } ?? false)
        }
        guard !paused, busy.count < maxConcurrent else { return [] }
        do {
            let claimed = try await store.claimDiscordDeliveries(excluding: busy, limit: maxConcurrent - busy.count, lease: lease)
            state.withLock { state in for delivery in claimed { state.busy.insert(delivery.userID) } }
            return claimed
        } catch {
            logger.error("discord deliverer cannot claim deliveries: \(error)")
            return []
        }
    }

    /// One attempt, and its outcome recorded. Errors recording it are logged: the lease then runs out and
    /// the delivery is tried again.
    func deliver(_ delivery: ClaimedDiscordDelivery) async {
        let started = ContinuousClock.now
        var statusCode: Int?
        let outcome: AttemptOutcome
        let error: String?
        do {
            guard let sealed = delivery.sealedWebhookURL, let url = try? secretBox.open(sealed) else {
                try await store.recordDeliveryAttempt(
                    delivery, outcome: .failed, statusCode: nil, latency: .zero, error: "no Discord webhook URL is set any more")
                return
            }
            let answer: Result<OutboundResponse, OutboundFailure>
            do {
                answer = .success(try await http.post(OutboundRequest(
                    url: url, headers: [("Content-Type", "application/json")], body: Array(delivery.payload.utf8))))
            } catch {
                answer = .failure(error)
            }
            switch answer {
            case .success(let response):
                statusCode = response.status
                (outcome, error) = try await act(on: DiscordAnswer.classify(status: response.status, headers: response.headers, body: response.body), for: delivery)
            case .failure(let failure):
                (outcome, error) = failure.isRetryable ? retryOrGiveUp(delivery, failure.description) : (.failed, failure.description)
            }
            try await store.recordDeliveryAttempt(delivery, outcome: outcome, statusCode: statusCode, latency: ContinuousClock.now - started, error: error)
            if case .failed = outcome { logger.warning("discord delivery \(delivery.id) failed for good: \(error ?? "")") }
        } catch {
            logger.error("discord delivery \(delivery.id): cannot record the attempt: \(error)")
        }
    }

    private func act(on answer: DiscordAnswer, for delivery: ClaimedDiscordDelivery) async throws -> (AttemptOutcome, String?) {
        switch answer {
        case .delivered(let pause):
            if let pause { try await store.postponeDiscordDeliveries(userID: delivery.userID, until: Date().addingTimeInterval(pause)) }
            return (.delivered, nil)
        case .rateLimited(let seconds, let global):
            let until = Date().addingTimeInterval(seconds)
            if global {
                state.withLock { $0.globalPauseUntil = .now + .milliseconds(Int(seconds * 1000)) }
            } else {
                try await store.postponeDiscordDeliveries(userID: delivery.userID, until: until)
            }
            return (.retry(at: until, counts: false), "rate limited for \(seconds) s\(global ? " (global)" : "")")
        case .webhookGone:
            let reason = "Discord answered 404 Unknown Webhook: the webhook was deleted; set a new URL to get Discord messages again"
            try await store.disableDiscordWebhook(userID: delivery.userID, reason: reason, notification: .discordDisabled(userID: delivery.userID, reason: reason))
            return (.failed, "404 Unknown Webhook")
        case .transient(let reason):
            return retryOrGiveUp(delivery, reason)
        case .rejected(let reason):
            return (.failed, reason)
        }
    }

    private func retryOrGiveUp(_ delivery: ClaimedDiscordDelivery, _ reason: String) -> (AttemptOutcome, String?) {
        guard let delay = schedule.delay(afterFailure: delivery.failures + 1) else {
            return (.failed, "\(reason) (gave up after \(delivery.failures + 1) failures)")
        }
        return (.retry(at: Date().addingTimeInterval(delay), counts: true), reason)
    }
}
