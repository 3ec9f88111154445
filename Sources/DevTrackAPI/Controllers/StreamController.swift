import DevTrackCore
import DevTrackHTTP
import DevTrackStore
import Foundation
import Hummingbird

struct StreamController: Sendable {
    let live: LiveEventsHub
    let tokens: TokenRepository
    let sessions: SessionRepository
    /// How often an open stream checks that its token or session still authenticates.
    let recheckInterval: Duration

    /// `GET /api/v1/stream`: server-sent events for the user's open web clients — `notification` when one is
    /// stored, `metrics.updated` when new facts changed their aggregates — and a `: heartbeat` comment every
    /// 15 s. Fed by the api process's `LiveEventsHub` (PostgreSQL LISTEN/NOTIFY), so any api instance can
    /// serve any user. The stream ends within `recheckInterval` of its token being revoked or expiring, or of
    /// its session ending (a client reconnecting then gets the 401).
    func addRoutes(to v1: RouterGroup<APIRequestContext>) {
        v1.get("/stream") { request, context in
            let user = try context.user
            let credential = context.identity?.credential
            let (id, messages) = live.subscribe(user.id)
            let (live, tokens, sessions, interval) = (self.live, self.tokens, self.sessions, recheckInterval)
            var headers = HTTPFields()
            headers[.contentType] = "text/event-stream"
            headers[.cacheControl] = "no-cache"
            return Response(
                status: .ok, headers: headers,
                body: ResponseBody { writer in
                    defer { live.unsubscribe(user.id, id: id) }
                    // `retry` tells EventSource clients how soon to reconnect; the comment opens the stream at once.
                    try await writer.write(ByteBuffer(string: "retry: 3000\n: connected\n\n"))
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask {
                            while !Task.isCancelled {
                                do { try await Task.sleep(for: interval) } catch { return }
                                // A failed check (PostgreSQL away) keeps the stream: it is asked again next time.
                                let stillValid: Bool? =
                                    switch credential {
                                    case .token(let tokenID): try? await tokens.isLive(id: tokenID)
                                    case .session(let sessionID, _): try? await sessions.isLive(id: sessionID)
                                    case nil: false
                                    }
                                if stillValid == false {
                                    live.unsubscribe(user.id, id: id)  // ends the loop below
                                    return
                                }
                            }
                        }
                        for await message in messages {
                            switch message {
                            case .event(let event): try await writer.write(ByteBuffer(string: event.serverSentEvent))
                            case .heartbeat: try await writer.write(ByteBuffer(string: ": heartbeat\n\n"))
                            }
                        }
                        group.cancelAll()
                    }
                    try await writer.finish(nil)
                })
        }
    }
}
