import DevTrackCore
import DevTrackHTTP
import Dispatch
import Foundation
import HTTPTypes
import Kafka
import Logging
import Metrics
import NIOCore
import NIOHTTPTypes

/// `POST /webhooks/github` answered on the connection's event loop, before Hummingbird's async handlers: the body is
/// checked as the route does (`GitHubDeliveryChecks`), produced with a completion, and the 202 written from it. The async
/// route costs a task's suspension and resumption and two hops between the event loop and the cooperative pool per
/// delivery; side by side, a bare route on plain NIO that waits for Kafka's acknowledgement took 88 µs of CPU per 8.8 KB
/// delivery where the bare Hummingbird route without Kafka took 120 (docs/benchmarks.md).
///
/// Only the common case is taken here: a keep-alive request with a `Content-Length` small enough to travel inline. Every
/// request it does not take, and every delivery whose checks fail (or a `ping`, or a full backlog), goes to the router as
/// it came, which answers it with the documented error; so there is one place for the contract, and this handler never
/// answers an error of its own but Kafka's 503. Answers keep their order: while a delivery waits for Kafka, what the
/// connection brings next is held (up to `maxHeldBytes`, then no more is read), events and errors too: a client that
/// half-closes after its delivery, or a malformed request behind it, must not let the router close the connection (or
/// answer 400) before the 202. While the router owes an answer on the connection, requests go to the router too.
final class GitHubDeliveryFastPath: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// What every connection's handler shares.
    struct Route: Sendable {
        static let path = "/webhooks/github"
        let secrets: [[UInt8]]
        let checks: GitHubDeliveryChecks
        let maxInlineBytes: Int
        let topic: String
        let producer: KafkaProducer
        let backlog: KafkaBacklog?
        let metrics: FastPathMetrics
        let serverName: String
        let logger: Logger
    }

    private enum State {
        case idle
        /// Reading the body of a delivery this handler took, since `started` (its head, as the router's middleware times).
        case collecting(GitHubDeliveryChecks.CheckedHeaders, HTTPRequest, ByteBuffer, started: UInt64)
        /// The current request goes to the router.
        case passing
        /// A delivery waits for Kafka's acknowledgement.
        case producing
    }

    /// What the connection brought while a delivery waited for Kafka.
    private enum Held {
        case part(HTTPRequestPart)
        /// Such as `ChannelEvent.inputClosed`, which ends the router's stream of requests.
        case event(Any)
        /// Such as an `HTTPParserError`, which the router answers 400 before closing.
        case error(any Error)

        /// What it counts against `maxHeldBytes`: a body part its bytes, a head its path and fields, the rest a little.
        var bytes: Int {
            switch self {
            case .part(.body(let chunk)): chunk.readableBytes
            case .part(.head(let head)):
                64 + (head.path?.utf8.count ?? 0) + head.headerFields.reduce(0) { $0 + $1.name.rawName.utf8.count + $1.value.utf8.count }
            default: 64
            }
        }
    }

    /// Reading stops while a delivery waits and this much is held, so that a client cannot pile requests up behind it.
    /// Below it the connection keeps reading: stopping and starting again cost two `epoll_ctl` calls per delivery. The
    /// bound is checked between read cycles, so one cycle (NIO's up to four reads) may pass it, as it may for the router.
    static let maxHeldBytes = 64 * 1024

    private let route: Route
    private var state = State.idle
    /// Requests passed to the router whose answers have not been written yet.
    private var answersOwedByRouter = 0
    /// What arrived while a delivery waited for Kafka, in order; replayed when Kafka has answered.
    private var held = CircularBuffer<Held>()
    private var heldBytes = 0
    private var readWanted = false
    private var removed = false
    private var date = HTTPDateHeader()

    init(route: Route) {
        self.route = route
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        removed = true
        // Nothing removes it from a live connection; if something did, what it holds or collects would go unanswered.
        if context.channel.isActive, !held.isEmpty || !isIdle { context.close(promise: nil) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if isHolding {
            hold(.part(part))
        } else {
            take(part, context: context)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if isHolding {
            hold(.event(event))
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if isHolding {
            hold(.error(error))
        } else {
            context.fireErrorCaught(error)
        }
    }

    /// While a delivery waits, and until what arrived meanwhile has been replayed.
    private var isHolding: Bool { isProducing || !held.isEmpty }

    private var isProducing: Bool {
        if case .producing = state { return true }
        return false
    }

    private var isIdle: Bool {
        if case .idle = state { return true }
        return false
    }

    private func hold(_ item: Held) {
        held.append(item)
        heldBytes += item.bytes
    }

    func read(context: ChannelHandlerContext) {
        if isProducing, heldBytes >= Self.maxHeldBytes {
            readWanted = true
        } else {
            context.read()
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        // Never below 0: the router also answers 400 to a malformed request whose head never reached it.
        if case .end = unwrapOutboundIn(data) { answersOwedByRouter = max(0, answersOwedByRouter - 1) }
        context.write(data, promise: promise)
    }

    private func take(_ part: HTTPRequestPart, context: ChannelHandlerContext) {
        switch (state, part) {
        case (.idle, .head(let head)):
            if answersOwedByRouter == 0, let checked = claim(head) {
                // Grown as the body arrives beyond 16 KB: the headers that passed are not authenticated yet, and reserving
                // each claimed length up front would let unsigned heads hold up to `maxInlineBytes` per connection.
                let length = head.headerFields.value(of: .contentLength).flatMap(Int.init) ?? 0
                let body = context.channel.allocator.buffer(capacity: min(length, 16 * 1024))
                route.metrics.inProgress.increment()
                state = .collecting(checked, head, body, started: DispatchTime.now().uptimeNanoseconds)
            } else {
                pass(part, context: context)
            }
        case (.collecting(let checked, let head, var body, let started), .body(var chunk)):
            state = .idle  // so that `body` is the only reference while it grows
            body.writeBuffer(&chunk)
            state = .collecting(checked, head, body, started: started)
        case (.collecting(let checked, let head, let body, let started), .end):
            finish(checked, head: head, body: body, end: part, started: started, context: context)
        case (.collecting, .head), (.producing, _):
            // Neither happens (HTTP/1 decoding ends a request before the next head; `channelRead` holds while producing),
            // and a connection in a state it cannot be in is closed rather than answered out of order.
            context.close(promise: nil)
        case (.passing, .end):
            pass(part, context: context)
            state = .idle
        case (.passing, _), (.idle, _):
            pass(part, context: context)
        }
    }

    /// The checked headers of a request this handler takes, nil for one the router answers.
    private func claim(_ head: HTTPRequest) -> GitHubDeliveryChecks.CheckedHeaders? {
        guard head.method == .post, head.path == Route.path, head.headerFields[.expect] == nil,
            head.headerFields[values: .connection].allSatisfy({ !$0.lowercased().contains("close") }),
            let length = head.headerFields.value(of: .contentLength).flatMap(Int.init), length <= route.maxInlineBytes
        else { return nil }
        return try? route.checks.headers(head.headerFields)
    }

    private func pass(_ part: HTTPRequestPart, context: ChannelHandlerContext) {
        if case .head = part {
            answersOwedByRouter += 1
            state = .passing
        }
        context.fireChannelRead(wrapInboundOut(part))
    }

    private func finish(
        _ checked: GitHubDeliveryChecks.CheckedHeaders, head: HTTPRequest, body: ByteBuffer, end: HTTPRequestPart, started: UInt64,
        context: ChannelHandlerContext
    ) {
        let bytes = Array(body.readableBytesView)
        guard let delivery = try? checked.body(bytes, secrets: route.secrets, sourceID: nil, receivedAt: Date()), delivery.event != "ping",
            route.backlog?.isFull(route.topic) != true
        else {
            // The router answers it (its error, the pong, or the backlog's 503) from the same bytes, and counts it.
            route.metrics.inProgress.decrement()
            pass(.head(head), context: context)
            if body.readableBytes > 0 { pass(.body(body), context: context) }
            pass(end, context: context)
            state = .idle
            return
        }
        state = .producing
        let message = KafkaOutgoingMessage(topic: route.topic, key: delivery.key, value: bytes, headers: delivery.headers)
        let loop = context.eventLoop
        let bound = NIOLoopBound((self, context), eventLoop: loop)
        route.producer.send(message) { result in
            loop.execute {
                let (handler, context) = bound.value
                handler.delivered(result, deliveryID: delivery.deliveryID, bytes: bytes.count, started: started, context: context)
            }
        }
    }

    private func delivered(
        _ result: Result<KafkaDeliveryReport, KafkaError>, deliveryID: String, bytes: Int, started: UInt64, context: ChannelHandlerContext
    ) {
        switch result {
        case .success(let report):
            route.backlog?.produced(report, bytes: bytes)
            answer(
                .accepted, body: JSONResponse.acceptedBody(deliveryID: deliveryID), counted: route.metrics.accepted, started: started,
                context: context)
        case .failure(let error):
            route.logger.warning("Kafka did not take delivery \(deliveryID): \(error)")
            let refusal = HubHTTPError.kafkaUnavailable
            answer(
                refusal.status, body: (try? refusal.body()) ?? ByteBuffer(), headers: refusal.headers,
                counted: route.metrics.kafkaUnavailable, started: started, context: context)
        }
        route.metrics.inProgress.decrement()
        state = .idle
        replayHeld(context: context)
        if readWanted, !removed, !isProducing || heldBytes < Self.maxHeldBytes {
            readWanted = false
            context.read()
        }
    }

    /// Hands on what arrived while the delivery waited, in order, until it is all done or another delivery waits.
    private func replayHeld(context: ChannelHandlerContext) {
        guard !held.isEmpty else { return }
        guard !removed else {
            held.removeAll()
            heldBytes = 0
            return
        }
        while !held.isEmpty, !isProducing {
            let item = held.removeFirst()
            heldBytes -= item.bytes
            switch item {
            case .part(let part): take(part, context: context)
            case .event(let event): context.fireUserInboundEventTriggered(event)
            case .error(let error): context.fireErrorCaught(error)
            }
        }
        // The router's side hands what it was given on to its handlers at the end of a read.
        context.fireChannelReadComplete()
    }

    /// Counts the answer and writes it; a connection closed meanwhile gets no answer, and none is counted. Counted first,
    /// so that a client (or a test) reading the metrics once it has its answer finds it there.
    private func answer(
        _ status: HTTPResponse.Status, body: ByteBuffer, headers: HTTPFields = [:],
        counted: (route: HTTPRouteMetrics.Answers, fastPath: Counter), started: UInt64, context: ChannelHandlerContext
    ) {
        guard !removed, context.channel.isActive else { return }
        counted.route.record(since: started)
        counted.fastPath.increment()
        var fields: HTTPFields = [
            .contentType: "application/json; charset=utf-8", .contentLength: String(body.readableBytes), .date: date.now(),
            .server: route.serverName,
        ]
        fields.append(contentsOf: headers)
        context.write(wrapOutboundOut(.head(HTTPResponse(status: status, headerFields: fields))), promise: nil)
        context.write(wrapOutboundOut(.body(body)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}

/// What `GitHubDeliveryFastPath` counts, looked up once: the route's `http_server_*` metrics, as the router's middleware
/// counts them, and `devtrack_ingest_fast_path_answers_total` by status, the deliveries answered without the router.
struct FastPathMetrics: Sendable {
    let inProgress: Meter
    let accepted: (route: HTTPRouteMetrics.Answers, fastPath: Counter)
    let kafkaUnavailable: (route: HTTPRouteMetrics.Answers, fastPath: Counter)

    init(factory: any MetricsFactory) {
        let routes = HTTPRouteMetrics(factory: factory)
        func answers(_ status: HTTPResponse.Status) -> (HTTPRouteMetrics.Answers, Counter) {
            (
                routes.answers(route: GitHubDeliveryFastPath.Route.path, method: .post, status: status),
                Counter(label: "devtrack_ingest_fast_path_answers_total", dimensions: [("status", String(status.code))], factory: factory)
            )
        }
        inProgress = routes.active(.post)
        accepted = answers(.accepted)
        kafkaUnavailable = answers(HubHTTPError.kafkaUnavailable.status)
    }
}
