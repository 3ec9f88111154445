import Foundation

/// Something a user's open web clients should see at once (`GET /api/v1/stream`): a new notification, or
/// that their metrics changed. Workers announce events with PostgreSQL `NOTIFY` in the transaction that
/// made the change (so a client hears of it only once it is committed), and every api instance `LISTEN`s,
/// so any instance can serve any user.
public struct LiveEvent: Sendable, Equatable {
    public let userID: UUID
    /// `notification`, `metrics.updated` or `goal.progress`.
    public let event: String
    /// A JSON object.
    public let data: String

    public static let channel = "devtrack_live"
    /// PostgreSQL refuses NOTIFY payloads from 8,000 bytes on; bigger data is dropped (the client re-reads).
    static let maxPayload = 7_900

    public init(userID: UUID, event: String, data: String) {
        self.userID = userID
        self.event = event
        self.data = data
    }

    public static func notification(_ intent: NotificationIntent, createdAt: Date) -> LiveEvent {
        let body: [String: String] = [
            "id": intent.id.uuidString.lowercased(), "type": intent.type, "title": intent.title, "body": intent.body,
            "created_at": Timestamps.format(createdAt),
        ]
        return LiveEvent(userID: intent.userID, event: "notification", data: FlatJSONObject.text(body))
    }

    public static func metricsUpdated(userID: UUID, newFacts: Int) -> LiveEvent {
        LiveEvent(userID: userID, event: "metrics.updated", data: #"{"new_facts":\#(newFacts)}"#)
    }

    /// `goal.progress`: the user's goals that facts just moved, each with its target, and its exact progress in
    /// the current period when the goals worker read it (it often only knows the goal cannot be complete yet,
    /// and skips the read; the client then re-reads `GET /api/v1/goals/{id}`).
    public static func goalProgress(userID: UUID, goals: [(id: UUID, target: Int, progress: Int?)]) -> LiveEvent {
        let items = goals.sorted { $0.id.uuidString < $1.id.uuidString }.map { goal in
            #"{"id":"\#(goal.id.uuidString.lowercased())","target":\#(goal.target)"#
                + (goal.progress.map { #","progress":\#($0),"completed":\#($0 >= goal.target)}"# } ?? "}")
        }
        return LiveEvent(userID: userID, event: "goal.progress", data: #"{"goals":[\#(items.joined(separator: ","))]}"#)
    }

    /// The NOTIFY payload: `{user id}\t{event}\t{data}` (data dropped to `{}` when too long).
    public var payload: String {
        let full = "\(userID.uuidString.lowercased())\t\(event)\t\(data)"
        return full.utf8.count <= Self.maxPayload ? full : "\(userID.uuidString.lowercased())\t\(event)\t{}"
    }

    public init?(payload: String) {
        let parts = payload.split(separator: "\t", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, let userID = UUID(uuidString: String(parts[0])), !parts[1].isEmpty else { return nil }
        self.init(userID: userID, event: String(parts[1]), data: String(parts[2]))
    }

    /// The event as server-sent events write it (`data` is one line of JSON).
    public var serverSentEvent: String {
        "event: \(event)\ndata: \(data.replacingOccurrences(of: "\n", with: " "))\n\n"
    }
}
