import DevTrackCore
import DevTrackHTTP
import DevTrackStore
import Foundation
import Hummingbird

/// In-app notifications: what the notify worker stored from `devtrack.notifications`, newest first with
/// cursor paging, and read marks.
struct NotificationsController: Sendable {
    let notifications: NotificationRepository

    func addRoutes(to v1: RouterGroup<APIRequestContext>) {
        v1.get("/notifications") { request, context in
            let user = try context.user
            let query = request.uri.queryParameters
            let limit = try request.pageLimit()
            let cursor = try query.get("cursor").map { text -> NotificationCursor in
                guard let cursor = NotificationCursor(text) else {
                    throw HubHTTPError.badRequest("cursor must be a next_cursor this endpoint returned", code: "invalid_cursor")
                }
                return cursor
            }
            let unreadOnly: Bool
            switch query.get("unread") {
            case nil, "false": unreadOnly = false
            case "true": unreadOnly = true
            default: throw HubHTTPError.badRequest("unread must be true or false", code: "invalid_unread")
            }
            let (page, unread) = try await notifications.notifications(userID: user.id, unreadOnly: unreadOnly, limit: limit, after: cursor)
            let next = page.count == limit ? page.last.map { NotificationCursor(createdAt: $0.createdAt, id: $0.id).text } : nil
            return try JSONResponse.make(NotificationsBody(notifications: page.map(NotificationBody.init), unreadCount: unread, nextCursor: next))
        }
        v1.post("/notifications/read-all") { request, context in
            let user = try context.user
            return try JSONResponse.make(["marked": try await notifications.markAllNotificationsRead(userID: user.id)])
        }
        v1.post("/notifications/{id}/read") { request, context in
            let user = try context.user
            let text = context.parameters.get("id") ?? ""
            guard let id = UUID(uuidString: text), let record = try await notifications.markNotificationRead(userID: user.id, id: id) else {
                throw HubHTTPError.notFound("no notification \(text)")
            }
            return try JSONResponse.make(NotificationBody(record))
        }
    }
}

struct NotificationsBody: Encodable {
    let notifications: [NotificationBody]
    let unreadCount: Int
    let nextCursor: String?

    enum CodingKeys: String, CodingKey {
        case notifications
        case unreadCount = "unread_count"
        case nextCursor = "next_cursor"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(notifications, forKey: .notifications)
        try container.encode(unreadCount, forKey: .unreadCount)
        try container.encode(nextCursor, forKey: .nextCursor)  // null on the last page, not absent
    }
}

struct NotificationBody: Encodable {
    let id: String
    let type: String
    let title: String
    let body: String
    let data: [String: String]
    let createdAt: String
    let readAt: String?

    init(_ record: NotificationRecord) {
        id = record.id.uuidString.lowercased()
        type = record.type
        title = record.title
        body = record.body
        data = record.data
        createdAt = Timestamps.format(record.createdAt)
        readAt = record.readAt.map(Timestamps.format)
    }

    enum CodingKeys: String, CodingKey {
        case id, type, title, body, data
        case createdAt = "created_at"
        case readAt = "read_at"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(type, forKey: .type)
        try container.encode(title, forKey: .title)
        try container.encode(body, forKey: .body)
        try container.encode(data, forKey: .data)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(readAt, forKey: .readAt)
    }
}
