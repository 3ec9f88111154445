import DevTrackCore
import Foundation
import PostgresNIO

/// One line of the activity feed: a stored fact as its owner sees it.
public struct FeedItem: Sendable, Equatable {
    public let id: String
    public let kind: String
    public let occurredAt: Date
    public let value: Double
    public let repo: String?
    public let title: String?
    public let url: String?
    public let source: String
}

/// Where a feed page ends: the last item's time and natural id (facts are ordered by both, newest first).
public struct FeedCursor: Sendable, Equatable {
    public let microseconds: Int64
    public let id: String

    public init(_ item: FeedItem) {
        microseconds = Int64((item.occurredAt.timeIntervalSince1970 * 1_000_000).rounded())
        id = item.id
    }

    /// `{microseconds since the epoch}_{the id, base64url}`: opaque to clients.
    public var text: String {
        let encoded = Data(id.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        return "\(microseconds)_\(encoded.replacingOccurrences(of: "=", with: ""))"
    }

    /// nil for anything `text` cannot have given: a time outside what facts may have (1970 to a day after
    /// `now`), an id that is not base64url of a stored id's bytes.
    public init?(_ text: String, now: Date = Date()) {
        guard text.utf8.count <= 400, let separator = text.firstIndex(of: "_"), let micros = Int64(text[..<separator]) else { return nil }
        let latest = Int64(((now.timeIntervalSince1970 + ActivityTimes.futureSlack) * 1_000_000).rounded())
        var encoded = text[text.index(after: separator)...].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        encoded += String(repeating: "=", count: (4 - encoded.utf8.count % 4) % 4)
        guard (0...latest).contains(micros), let bytes = Data(base64Encoded: encoded), let id = String(bytes: bytes, encoding: .utf8),
            InputText.isAcceptable(id, maxBytes: 250), !id.isEmpty
        else { return nil }
        (microseconds, self.id) = (micros, id)
    }
}

extension ActivityRepository {
    /// The user's stored facts, newest first, `limit` at a time after `cursor`.
    public func feed(userID: UUID, limit: Int, after cursor: FeedCursor?) async throws -> [FeedItem] {
        let rows = try await client.query(
            """
            SELECT id, kind, occurred_at, value, repo, title, url, source FROM activities
            WHERE user_id = \(userID)
              AND (\(cursor == nil) OR (occurred_at, id) < ('epoch'::timestamptz + \(cursor?.microseconds ?? 0) * interval '1 microsecond',
                                                             \(cursor?.id ?? "")))
            ORDER BY occurred_at DESC, id DESC LIMIT \(Int64(limit))
            """, logger: logger)
        var items: [FeedItem] = []
        for try await (id, kind, occurredAt, value, repo, title, url, source) in rows.decode(
            (String, String, Date, Double, String?, String?, String?, String).self)
        {
            items.append(FeedItem(id: id, kind: kind, occurredAt: occurredAt, value: value, repo: repo, title: title, url: url, source: source))
        }
        return items
    }
}
