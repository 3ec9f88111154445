import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypes

/// How both HTTP servers treat connections before any request is authenticated: bounded headers, a
/// connection cap, and timeouts, so slow or idle clients (slowloris) cannot hold the server.
public enum HubHTTPServer {
    /// Headers: 16 KB per field, 32 KB in all, 100 fields (GitHub's and WakaTime's requests use a few hundred bytes).
    public static let decoder = HTTP1Channel.Configuration.DecoderConfiguration(
        maxHeaderFieldSize: 16 * 1024, maxHeaderListSize: 32 * 1024, maxHeaderFieldCount: 100)
    /// A connection that sends nothing for this long while a request's body is being read is closed.
    public static let readTimeout = TimeAmount.seconds(30)
    /// A connection without a whole request head for this long (idle, or sending its headers slowly) is closed.
    public static let idleTimeout = TimeAmount.seconds(30)
    /// Connections served at once; more wait in the listen backlog.
    public static let maxConnections = 4096

    public static var server: HTTPServerBuilder { .http1(configuration: channelConfiguration) }

    /// The same server with `interceptor` in each connection's pipeline after Hummingbird's connection state handler (which
    /// sees every request and answer, for its idle timeout and graceful shutdown) and before the async handlers: a route
    /// that must not pay Swift concurrency's hops per request (ingest's GitHub deliveries) is answered there, and every
    /// other request passes on to the router.
    public static func server(interceptor: @escaping @Sendable () -> any ChannelHandler) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            InterceptingHTTP1Channel(inner: HTTP1Channel(responder: responder, configuration: channelConfiguration), interceptor: interceptor)
        }
    }

    static var channelConfiguration: HTTP1Channel.Configuration {
        .init(
            additionalChannelHandlers: [IdleStateHandler(readTimeout: readTimeout), SlowBodyGuard()], idleTimeout: idleTimeout,
            httpDecoderConfiguration: decoder)
    }

    public static func configuration(host: String, port: Int, serverName: String, logger: Logger) -> ApplicationConfiguration {
        ApplicationConfiguration(
            address: .hostname(host, port: port), serverName: serverName,
            availableConnectionsDelegate: MaximumAvailableConnections(maxConnections, logger: logger))
    }
}

/// Hummingbird's HTTP/1 channel with one more handler placed just before its async handlers (`HubHTTPServer.server(interceptor:)`).
struct InterceptingHTTP1Channel: ServerChildChannel {
    let inner: HTTP1Channel
    let interceptor: @Sendable () -> any ChannelHandler

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<HTTP1Channel.Value> {
        let interceptor = self.interceptor
        return inner.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let operations = channel.pipeline.syncOperations
            try operations.addHandler(interceptor(), position: .after(try operations.handler(type: HTTPConnectionStateHandler.self)))
            return value
        }
    }

    func handle(value: HTTP1Channel.Value, logger: Logger) async {
        await inner.handle(value: value, logger: logger)
    }
}

/// Closes a connection whose request body stops arriving (an `IdleStateHandler` read timeout while a request
/// is between its head and its end). Responses that stream for long (`/api/v1/stream`) read nothing and are
/// left alone: their request has ended.
final class SlowBodyGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    private var readingBody = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: readingBody = true
        case .end: readingBody = false
        case .body: break
        }
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case IdleStateHandler.IdleStateEvent.read = event, readingBody {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}
