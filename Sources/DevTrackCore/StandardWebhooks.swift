import Crypto
import Foundation

/// The Standard Webhooks signature scheme (standardwebhooks.com): `webhook-id`, `webhook-timestamp` (Unix
/// seconds) and `webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, several
/// space-separated signatures while a secret is being rotated. Secrets are `whsec_` + base64 of the key.
/// Outbound webhooks sign with it; custom webhook sources (inbound) verify with it.
public enum StandardWebhooks {
    public static let idHeader = "webhook-id"
    public static let timestampHeader = "webhook-timestamp"
    public static let signatureHeader = "webhook-signature"

    /// A new secret: `whsec_` + base64 of 32 random bytes.
    public static func newSecret() -> String {
        "whsec_" + Data(Credentials.randomBytes(32)).base64EncodedString()
    }

    /// The key bytes of a `whsec_…` secret (nil when it is not one).
    public static func key(of secret: String) -> [UInt8]? {
        guard secret.hasPrefix("whsec_"), let data = Data(base64Encoded: String(secret.dropFirst(6))), !data.isEmpty else { return nil }
        return Array(data)
    }

    /// `v1,<base64>` for one secret.
    public static func signature(id: String, timestamp: Int, body: [UInt8], key: [UInt8]) -> String {
        let signed = Array("\(id).\(timestamp).".utf8) + body
        let mac = HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: key))
        return "v1," + Data(mac).base64EncodedString()
    }

    /// Why an inbound message is refused, or that it is not.
    public enum Verdict: Equatable, Sendable {
        case valid
        case missing(String)
        case malformed(String)
        /// The timestamp is further than the tolerance from now (a replay, or a sender's clock far off).
        case stale(secondsOff: Int)
        case mismatch
    }

    /// At most this many `v1,` signatures are looked at (a rotation needs two; a sender gets a few more).
    public static let maxSignatures = 8
    /// Longer `webhook-signature` headers are refused before any HMAC is computed.
    public static let maxSignatureHeaderBytes = 1024

    /// Checks an inbound message: the timestamp within `tolerance` seconds of `now` (5 minutes in the
    /// specification), and one of the `v1,` signatures (space-separated, at most `maxSignatures`) matching one of
    /// `keys`, compared in constant time. The work before an answer is bounded: one HMAC per key, however many
    /// signatures are offered, and none when the headers are malformed or the timestamp is off.
    public static func verify(
        id: String?, timestamp: String?, signatures: String?, body: [UInt8], keys: [[UInt8]], now: Date, tolerance: Int = 300
    ) -> Verdict {
        guard let id, !id.isEmpty else { return .missing("missing \(idHeader) header") }
        guard let timestamp, !timestamp.isEmpty else { return .missing("missing \(timestampHeader) header") }
        guard let signatures, !signatures.isEmpty else { return .missing("missing \(signatureHeader) header") }
        if let problem = DeliveryIDs.problem(id) { return .malformed("\(idHeader) \(problem)") }
        guard timestamp.utf8.count <= 20, let seconds = Int(timestamp) else { return .malformed("\(timestampHeader) must be Unix seconds") }
        let (off, overflow) = Int(now.timeIntervalSince1970).subtractingReportingOverflow(seconds)
        guard !overflow else { return .stale(secondsOff: seconds < 0 ? Int.max : -Int.max) }
        guard off.magnitude <= tolerance.magnitude else { return .stale(secondsOff: off) }
        guard signatures.utf8.count <= maxSignatureHeaderBytes else {
            return .malformed("\(signatureHeader) is longer than \(maxSignatureHeaderBytes) bytes")
        }
        let entries = signatures.split(separator: " ")
        guard entries.count <= maxSignatures else {
            return .malformed("\(signatureHeader) has \(entries.count) signatures; at most \(maxSignatures) are accepted")
        }
        let offered = entries.compactMap { entry -> [UInt8]? in
            guard entry.hasPrefix("v1,") else { return nil }
            return Data(base64Encoded: String(entry.dropFirst(3))).map(Array.init)
        }
        guard !offered.isEmpty else { return .malformed("\(signatureHeader) has no v1,<base64> signature") }
        let signed = Array("\(id).\(seconds).".utf8) + body
        for key in keys {
            let expected = Array(HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: key)))
            for candidate in offered where ConstantTime.equal(candidate, expected) { return .valid }
        }
        return .mismatch
    }

    /// The three headers for a message signed with every key in `keys` (the current one first).
    public static func headers(id: String, timestamp: Int, body: [UInt8], keys: [[UInt8]]) -> [(String, String)] {
        [
            (idHeader, id), (timestampHeader, String(timestamp)),
            (signatureHeader, keys.map { signature(id: id, timestamp: timestamp, body: body, key: $0) }.joined(separator: " ")),
        ]
    }
}

/// The headers the original DevTrack's receivers check: `X-Webhook-Event`, `X-Webhook-Signature:
/// sha256=<hex HMAC-SHA256 of the body under the secret's text>`, and `X-Webhook-Delivery-Id` — here a real
/// per-delivery id (the original put the endpoint's id there).
public enum LegacyWebhookHeaders {
    public static func headers(event: String, deliveryID: String, body: [UInt8], secret: String) -> [(String, String)] {
        let mac = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Array(secret.utf8)))
        return [("X-Webhook-Event", event), ("X-Webhook-Signature", "sha256=" + Hex.encode(mac)), ("X-Webhook-Delivery-Id", deliveryID)]
    }
}

/// The body of an outbound webhook, in the original DevTrack's envelope: `{"event","timestamp","data"}`.
public struct WebhookEnvelope: Codable, Sendable, Equatable {
    public let event: String
    public let timestamp: String
    public let data: [String: String]

    /// Event types an endpoint can subscribe to: every notification type, the webhook-only `goal.created`
    /// (a goal was created) and `metrics.updated` (new facts changed the user's aggregates), and `test`.
    public static let events = NotificationIntent.types + ["goal.created", "metrics.updated", "test"]

    public init(event: String, timestamp: String, data: [String: String]) {
        self.event = event
        self.timestamp = timestamp
        self.data = data
    }

    /// A notification as a webhook: its figures, title, body, user and notification id.
    public static func notification(_ intent: NotificationIntent, at date: Date) -> WebhookEnvelope {
        var data = intent.data
        data["title"] = intent.title
        data["body"] = intent.body
        data["user_id"] = intent.userID.uuidString.lowercased()
        data["notification_id"] = intent.id.uuidString.lowercased()
        return WebhookEnvelope(event: intent.type, timestamp: Timestamps.format(date), data: data)
    }

    /// `goal.created`: the goal as the API shows it.
    public static func goalCreated(
        userID: UUID, goalID: UUID, title: String, target: Int, unit: String, period: String, deadline: LocalDate?, at date: Date
    ) -> WebhookEnvelope {
        var data = [
            "goal_id": goalID.uuidString.lowercased(), "user_id": userID.uuidString.lowercased(), "title": title,
            "target": String(target), "unit": unit, "period": period,
        ]
        data["deadline"] = deadline?.description
        return WebhookEnvelope(event: "goal.created", timestamp: Timestamps.format(date), data: data)
    }

    /// `metrics.updated`: how many new facts changed the user's aggregates (read them with the API).
    public static func metricsUpdated(userID: UUID, newFacts: Int, at date: Date) -> WebhookEnvelope {
        WebhookEnvelope(
            event: "metrics.updated", timestamp: Timestamps.format(date),
            data: ["user_id": userID.uuidString.lowercased(), "new_facts": String(newFacts)])
    }

    /// The JSON sent (keys sorted, so the same envelope always has the same bytes).
    public func json() -> String {
        #"{"data":\#(FlatJSONObject.text(data)),"event":\#(FlatJSONObject.quoted(event)),"timestamp":\#(FlatJSONObject.quoted(timestamp))}"#
    }
}
