import DevTrackCore
import DevTrackOutbound
import DevTrackStore
import Foundation
import Logging

/// Discord webhooks. Discord's answers decide what follows (`DiscordAnswer`): rate limits hold the
/// webhook — or every webhook, for a global limit — for the time Discord gives and do not count as
/// failures, transient failures retry with backoff and jitter up to a limit, and a webhook that no
/// longer exists is disabled and the user told in the app.
public struct DiscordChannel: DeliveryChannel {
    public let name = "discord"
    let discord: DiscordSettingsRepository
    let outbox: OutboxRepository
    let secretBox: SecretBox
    let runner: AttemptRunner

    public init(database: Database, secretBox: SecretBox, http: OutboundHTTPClient, logger: Logger, schedule: RetrySchedule = RetrySchedule()) {
        self.discord = DiscordSettingsRepository(database)
        self.outbox = OutboxRepository(database)
        self.secretBox = secretBox
        self.runner = AttemptRunner(database: database, http: http, schedule: schedule, logger: logger)
    }

    public func deliver(_ delivery: ClaimedDelivery, hold: @escaping @Sendable (DeliveryHold) -> Void) async {
        guard case .discord(let sealed) = delivery.target, let url = try? secretBox.open(sealed) else {
            await runner.giveUp(delivery, "no Discord webhook URL is set any more")
            return
        }
        let request = OutboundRequest(url: url, headers: [("Content-Type", "application/json")], body: Array(delivery.payload.utf8))
        await runner.attempt(delivery, request, hold: hold) { response in
            switch DiscordAnswer.classify(status: response.status, headers: response.headers, body: response.body) {
            case .delivered(let pause):
                guard let asked = pause, let pause = PeerSeconds.clamped(asked) else { return (.delivered, nil, nil) }
                try await outbox.postponeDeliveries(channel: name, destination: delivery.destination, until: Date().addingTimeInterval(pause))
                return (.delivered, nil, .destination(.milliseconds(PeerSeconds.milliseconds(pause))))
            case .rateLimited(let asked, let global):
                let seconds = PeerSeconds.clamped(asked) ?? 1
                let until = Date().addingTimeInterval(seconds)
                let wait = Duration.milliseconds(PeerSeconds.milliseconds(seconds))
                if !global { try await outbox.postponeDeliveries(channel: name, destination: delivery.destination, until: until) }
                return (
                    .retry(at: until, counts: false), "rate limited for \(seconds) s\(global ? " (global)" : "")",
                    global ? .channel(wait) : .destination(wait)
                )
            case .webhookGone:
                let reason = "Discord answered 404 Unknown Webhook: the webhook was deleted; set a new URL to get Discord messages again"
                try await discord.disableDiscordWebhook(
                    userID: delivery.userID, reason: reason, notification: .discordDisabled(userID: delivery.userID, reason: reason))
                return (.failed, "404 Unknown Webhook", nil)
            case .transient(let reason):
                let (outcome, error) = runner.retryOrGiveUp(delivery, reason)
                return (outcome, error, .failing)
            case .rejected(let reason):
                return (.failed, reason, nil)
            }
        }
    }

    public var attemptTimeout: Duration { runner.http.timeout }
    public var schedule: RetrySchedule { runner.schedule }

    public func close() {
        runner.http.closeIdleConnections()
    }
}
