import DevTrackCore
import DevTrackStore
import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// One `LISTEN` per api process on `LiveEvent.channel`, fanned out to the streams of that process's open
/// `GET /api/v1/stream` requests by user. Every subscriber also gets a heartbeat comment every
/// `heartbeat`, which keeps proxies from closing a quiet stream and lets a write fail when the client is
/// gone. If the listening connection breaks, it listens again after a second.
public final class LiveEventsHub: Service, Sendable {
    public enum Message: Sendable {
        case event(LiveEvent)
        case heartbeat
    }

    let database: Database
    let logger: Logger
    let heartbeat: Duration
    private let subscribers = Mutex<[UUID: [UUID: AsyncStream<Message>.Continuation]]>([:])

    public init(database: Database, logger: Logger, heartbeat: Duration = .seconds(15)) {
        self.database = database
        self.logger = logger
        self.heartbeat = heartbeat
    }

    /// A stream of `userID`'s events until `unsubscribe`.
    func subscribe(_ userID: UUID) -> (id: UUID, messages: AsyncStream<Message>) {
        let id = UUID()
        let (stream, continuation) = AsyncStream<Message>.makeStream(bufferingPolicy: .bufferingNewest(256))
        subscribers.withLock { $0[userID, default: [:]][id] = continuation }
        return (id, stream)
    }

    /// How many streams of `userID` are open in this process.
    func subscriptions(of userID: UUID) -> Int { subscribers.withLock { $0[userID]?.count ?? 0 } }

    func unsubscribe(_ userID: UUID, id: UUID) {
        let continuation = subscribers.withLock { subscribers -> AsyncStream<Message>.Continuation? in
            let removed = subscribers[userID]?.removeValue(forKey: id)
            if subscribers[userID]?.isEmpty == true { subscribers[userID] = nil }
            return removed
        }
        continuation?.finish()
    }

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.beat() }
            while !Task.isCancelled, !Task.isShuttingDownGracefully {
                do {
                    try await database.listen(on: LiveEvent.channel) { notifications in
                        self.logger.debug("listening on \(LiveEvent.channel)")
                        for try await notification in notifications.cancelOnGracefulShutdown() {
                            guard let event = LiveEvent(payload: notification.payload) else { continue }
                            self.deliver(.event(event), to: event.userID)
                        }
                    }
                } catch {
                    if Task.isCancelled || Task.isShuttingDownGracefully { break }
                    logger.warning("live events: listening failed, again in 1 s: \(error)")
                    try? await Task.sleep(for: .seconds(1))
                }
                if Task.isShuttingDownGracefully { break }
            }
            group.cancelAll()
        }
        subscribers.withLock { subscribers in
            for continuation in subscribers.values.flatMap(\.values) { continuation.finish() }
            subscribers.removeAll()
        }
    }

    private func beat() async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: heartbeat) } catch { return }
            let all = subscribers.withLock { Array($0.values.flatMap(\.values)) }
            for continuation in all { continuation.yield(.heartbeat) }
        }
    }

    private func deliver(_ message: Message, to userID: UUID) {
        let targets = subscribers.withLock { Array(($0[userID] ?? [:]).values) }
        for continuation in targets { continuation.yield(message) }
    }
}
