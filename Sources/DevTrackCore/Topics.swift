import Foundation

/// Topic names and the headers raw events carry (see `topics/`).
public enum Topics {
    public static let githubEvents = "devtrack.github.events"
    public static let customEvents = "devtrack.custom.events"
    public static let activity = "devtrack.activity"
    public static let codingHeartbeats = "devtrack.coding.heartbeats"
    public static let notifications = "devtrack.notifications"

    public static func deadLetter(of topic: String) -> String { "\(topic).dlq" }
}

public enum RawEventHeaders {
    public static let event = "x-github-event"
    public static let deliveryID = "x-github-delivery"
    /// A custom source's delivery id (its `webhook-id`).
    public static let webhookID = "webhook-id"
    /// How a custom delivery was signed: `standard-webhooks` or `hmac-sha256`.
    public static let signature = "devtrack-signature"
    /// Empty for the hub-wide GitHub App endpoint, else the user's webhook source id.
    public static let sourceID = "devtrack-source-id"
    public static let receivedAt = "devtrack-received-at"
    public static let contentType = "content-type"
    /// Set on dead-lettered messages.
    public static let error = "devtrack-error"
    public static let originalTopic = "devtrack-original-topic"
    public static let originalPartition = "devtrack-original-partition"
    public static let originalOffset = "devtrack-original-offset"
    /// A raw message whose body is kept in PostgreSQL (`large_payloads`) names it here, with its SHA-256.
    public static let payloadRef = "devtrack-payload-ref"
    public static let payloadSHA256 = "devtrack-payload-sha256"
    public static let deadLetterWorker = "devtrack-dead-letter-worker"
    public static let deadLetterAttempts = "devtrack-dead-letter-attempts"
    public static let deadLetteredAt = "devtrack-dead-lettered-at"
    /// The headers a dead letter gains; a replayed message that is dead-lettered again has them replaced.
    public static let deadLetterHeaders: Set<String> = [
        error, deadLetterWorker, deadLetterAttempts, deadLetteredAt, originalTopic, originalPartition, originalOffset,
    ]
}

/// Source ids travel in headers and name a source's delivery log: one spelling everywhere, lower-case.
public enum SourceIDs {
    /// The canonical spelling of a source id, or nil when `text` is not one (empty for the hub-wide endpoint).
    public static func canonical(_ text: String) -> String? {
        UUID(uuidString: text)?.uuidString.lowercased()
    }
}

/// Delivery ids (`X-GitHub-Delivery`, `webhook-id`, `X-Delivery-Id`) name facts and log rows, and are indexed.
public enum DeliveryIDs {
    /// GitHub's are 36-byte GUIDs; Standard Webhooks' are short too. Longer ones are refused at ingest.
    public static let maxBytes = 200

    /// Why `id` cannot name a delivery, or nil: at most `maxBytes` of visible ASCII. Header bytes that are not
    /// UTF-8 reach us as U+FFFD, so two different ids could read the same and one delivery would be taken for
    /// a redelivery of the other; every sender's ids (GUIDs, `msg_…`, UUIDs) are ASCII.
    public static func problem(_ id: String) -> String? {
        guard id.utf8.count <= maxBytes else { return "is longer than \(maxBytes) bytes" }
        guard id.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else { return "must be visible ASCII (no spaces or control characters)" }
        return nil
    }
}
