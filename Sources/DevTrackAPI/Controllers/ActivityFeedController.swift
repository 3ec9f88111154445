import DevTrackCore
import DevTrackHTTP
import DevTrackStore
import Foundation
import Hummingbird

/// `GET /api/v1/activity`: the signed-in user's stored facts, newest first, with cursor paging — what the
/// dashboard's recent-activity list shows (a title and link where the source gave one).
struct ActivityFeedController: Sendable {
    let activity: ActivityRepository

    func addRoutes(to v1: RouterGroup<APIRequestContext>) {
        v1.get("/activity") { request, context in
            let user = try context.user
            let limit = try request.pageLimit()
            let cursor = try request.uri.queryParameters.get("cursor").map { text -> FeedCursor in
                guard let cursor = FeedCursor(text) else {
                    throw HubHTTPError.badRequest("cursor must be a next_cursor this endpoint returned", code: "invalid_cursor")
                }
                return cursor
            }
            let items = try await activity.feed(userID: user.id, limit: limit, after: cursor)
            let next = items.count == limit ? items.last.map { FeedCursor($0).text } : nil
            return try JSONResponse.make(FeedBody(items: items.map(FeedItemBody.init), nextCursor: next))
        }
    }
}

struct FeedBody: Encodable {
    let items: [FeedItemBody]
    let nextCursor: String?

    enum CodingKeys: String, CodingKey {
        case items
        case nextCursor = "next_cursor"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(items, forKey: .items)
        try container.encode(nextCursor, forKey: .nextCursor)  // null on the last page, not absent
    }
}

struct FeedItemBody: Encodable {
    let id: String
    let kind: String
    let occurredAt: String
    let value: Double
    let repo: String?
    let title: String?
    let url: String?
    let source: String

    init(_ item: FeedItem) {
        (id, kind, occurredAt, value) = (item.id, item.kind, Timestamps.format(item.occurredAt), item.value)
        (repo, title, url) = (item.repo, item.title, item.url)
        source = item.source
    }

    enum CodingKeys: String, CodingKey {
        case id, kind, value, repo, title, url, source
        case occurredAt = "occurred_at"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(kind, forKey: .kind)
        try container.encode(occurredAt, forKey: .occurredAt)
        try container.encode(value, forKey: .value)
        try container.encode(repo, forKey: .repo)
        try container.encode(title, forKey: .title)
        try container.encode(url, forKey: .url)
        try container.encode(source, forKey: .source)
    }
}
