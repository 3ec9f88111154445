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
}
