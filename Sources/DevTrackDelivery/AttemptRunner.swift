import DevTrackCore
import DevTrackOutbound
import DevTrackStore
import Foundation
import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// Sends, reads the answer with `decide`, records the attempt. Shared by the channels.
struct AttemptRunner: Sendable {
    let outbox: OutboxRepository
    let http: OutboundHTTPClient
    let schedule: RetrySchedule
    let logger: Logger
    let log: AttemptLog

    init(database: Database, http: OutboundHTTPClient, schedule: RetrySchedule, logger: Logger) {
        self.outbox = OutboxRepository(database)
        self.http = http
        self.schedule = schedule
        self.logger = logger
        self.log = AttemptLog(database: database)
    }

    /// Posts `request` and records the attempt with the outcome `decide` gives for the answer (network
    /// failures retry, refused addresses fail); a hold `decide` asks for goes to `hold` before the record
    /// (recording waits for a batch). Errors recording it are logged: the lease then runs out and the
    /// delivery is tried again.
    func attempt(
        _ delivery: ClaimedDelivery, _ request: OutboundRequest, hold: (DeliveryHold) -> Void,
        decide: (OutboundResponse) async throws -> (AttemptOutcome, String?, hold: DeliveryHold?)
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
                if let wait = decided.hold { hold(wait) }
            case .failure(let failure):
                (outcome, error) = failure.isRetryable ? retryOrGiveUp(delivery, failure.description) : (.failed, failure.description)
                if failure.isRetryable { hold(.failing) }
            }
            try await log.record(
                DeliveryAttemptResult(delivery, outcome: outcome, statusCode: statusCode, latency: ContinuousClock.now - started, error: error))
            Self.count(delivery, outcome)
            if case .failed = outcome { logger.warning("\(delivery.channel) delivery \(delivery.id) failed for good: \(error ?? "")") }
        } catch {
            logger.error("\(delivery.channel) delivery \(delivery.id): cannot record the attempt: \(error)")
        }
    }

    /// Gives up without sending (the destination is gone or has no usable address).
    func giveUp(_ delivery: ClaimedDelivery, _ reason: String) async {
        do {
            try await log.record(DeliveryAttemptResult(delivery, outcome: .failed, statusCode: nil, latency: .zero, error: reason))
            Self.count(delivery, .failed)
        } catch {
            logger.error("\(delivery.channel) delivery \(delivery.id): cannot record the attempt: \(error)")
        }
    }

    /// `devtrack_deliveries_total{channel,outcome}`: attempts recorded, by what became of them (delivered, retry, failed).
    static func count(_ delivery: ClaimedDelivery, _ outcome: AttemptOutcome) {
        let name: String
        switch outcome {
        case .delivered: name = "delivered"
        case .retry: name = "retry"
        case .failed: name = "failed"
        }
        Counter(label: "devtrack_deliveries_total", dimensions: [("channel", delivery.channel), ("outcome", name)]).increment()
    }

    func retryOrGiveUp(_ delivery: ClaimedDelivery, _ reason: String) -> (AttemptOutcome, String?) {
        guard let delay = schedule.delay(afterFailure: delivery.failures + 1) else {
            return (.failed, "\(reason) (gave up after \(delivery.failures + 1) failures)")
        }
        return (.retry(at: Date().addingTimeInterval(delay), counts: true), reason)
    }
}
