import Crypto
import Foundation

/// Something a user would want to hear about, on `devtrack.notifications`. Emitters may send an intent
/// more than once (after a crash, a redelivery or a replay); its `dedupeKey` (and the id derived from it)
/// stays the same, so the notify worker delivers it once.
public struct NotificationIntent: Codable, Sendable, Equatable {
    public let id: UUID
    public let userID: UUID
    public let type: String
    public let title: String
    public let body: String
    public let data: [String: String]
    public let dedupeKey: String

    public init(userID: UUID, type: String, title: String, body: String, data: [String: String], dedupeKey: String) {
        self.id = Self.id(for: dedupeKey)
        self.userID = userID
        self.type = type
        self.title = title
        self.body = body
        self.data = data
        self.dedupeKey = dedupeKey
    }

    /// A UUID (version 8, RFC 9562) from the SHA-256 of the dedupe key.
    static func id(for dedupeKey: String) -> UUID {
        var bytes = Array(SHA256.hash(data: Array(dedupeKey.utf8)).prefix(16))
        bytes[6] = (bytes[6] & 0x0F) | 0x80
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return UUID(uuid: (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                           bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]))
    }

    /// `goal.completed`, once per goal and period.
    public static func goalCompleted(userID: UUID, goalID: UUID, title: String, target: Int, unit: GoalUnit, window: GoalWindow) -> NotificationIntent {
        NotificationIntent(
            userID: userID, type: "goal.completed", title: "Goal completed: \(title)",
            body: "You reached \(target) \(unit) for \(window.start == window.end ? window.start.description : "\(window.start) – \(window.end)").",
            data: ["goal_id": goalID.uuidString.lowercased(), "period_start": window.start.description,
                   "period_end": window.end.description, "target": String(target), "unit": unit.description],
            dedupeKey: "goal.completed:\(goalID.uuidString.lowercased()):\(window.start)")
    }

    enum CodingKeys: String, CodingKey {
        case id, type, title, body, data
        case userID = "user_id"
        case dedupeKey = "dedupe_key"
    }
}
