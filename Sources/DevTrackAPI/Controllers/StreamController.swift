import DevTrackCore
import DevTrackHTTP
import DevTrackStore
import Foundation
import Hummingbird

struct StreamController: Sendable {
    let live: LiveEventsHub

    /// `GET /api/v1/stream`: server-sent events for the user's open web clients — `notification` when one is
    /// stored, `metrics.updated` when new facts changed their aggregates — and a `: heartbeat` comment every
    /// 15 s. Fed by the api process's `LiveEventsHub` (PostgreSQL LISTEN/NOTIFY), so any api instance can
    /// serve any user.
    func addRoutes(to v1: RouterGroup<APIRequestContext>) {
        v1.get("/stream") { request, context in
            let user = try context.user
            let (id, messages) = live.subscribe(user.id)
            let live = self.live
            var headers = HTTPFields()
            headers[.contentType] = "text/event-stream"
            headers[.cacheControl] = "no-cache"
            return Response(
                status: .ok, headers: headers,
                body: ResponseBody { writer in
                    defer { live.unsubscribe(user.id, id: id) }
                    // `retry` tells EventSource clients how soon to reconnect; the comment opens the stream at once.
                    try await writer.write(ByteBuffer(string: "retry: 3000\n: connected\n\n"))
                    for await message in messages {
                        switch message {
                        case .event(let event): try await writer.write(ByteBuffer(string: event.serverSentEvent))
                        case .heartbeat: try await writer.write(ByteBuffer(string: ": heartbeat\n\n"))
                        }
                    }
                    try await writer.finish(nil)
                })
        }
    }
}
