import DevTrackCore
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// One outbound request: a POST to Discord or a user's webhook endpoint, a GET or POST to GitHub's API.
public struct OutboundRequest: Sendable {
    public var method: HTTPMethod
    public var url: String
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(method: HTTPMethod = .POST, url: String, headers: [(String, String)] = [], body: [UInt8] = []) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }
}

/// What came back, the body cut at the client's `maxResponseBytes` (`truncated` then says so).
public struct OutboundResponse: Sendable {
    public let status: Int
    public let headers: [(String, String)]
    public let body: [UInt8]
    public let truncated: Bool

    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }
}

/// Why an attempt did not get a response. `refused` attempts are never retried.
public enum OutboundFailure: Error, CustomStringConvertible, Sendable {
    case refused(String)
    case unreachable(String)
    case timedOut(Duration)
    case broken(String)

    public var description: String {
        switch self {
        case .refused(let reason): "refused: \(reason)"
        case .unreachable(let reason): "unreachable: \(reason)"
        case .timedOut(let limit): "no response within \(limit)"
        case .broken(let reason): "connection failed: \(reason)"
        }
    }

    public var isRetryable: Bool {
        if case .refused = self { return false }
        return true
    }
}

/// A small HTTP/1.1 client for deliveries, on swift-nio and swift-nio-ssl, built around the SSRF rule:
/// it resolves the host itself, refuses the request when any address is not public
/// (`OutboundAddressPolicy`), and connects to the address it checked — so a DNS answer that changes
/// between check and connect (rebinding) cannot reach an internal address. TLS still verifies the
/// certificate against the host name. Redirects are not followed (a 3xx is an answer like any other).
/// Connections are kept alive and reused per host, port and scheme (a reused connection goes to the
/// address checked when it was opened), up to `maxIdlePerHost` idle ones for at most 30 s.
/// Hosts on `allowList` skip the address check and may use plain http (tests on loopback, an operator's
/// own relay). Why not AsyncHTTPClient: it offers no way to connect to a pre-checked address.
public struct OutboundHTTPClient: Sendable {
    let allowList: Set<String>
    /// How long one request may take, connection included.
    public let timeout: Duration
    let tls: NIOSSLContext
    let group: any EventLoopGroup
    let pool: ConnectionPool
    /// Bytes of a response body kept: 64 KB is enough for an error message or Discord's JSON.
    let maxResponseBytes: Int

    public init(
        allowList: Set<String> = [], timeout: Duration = .seconds(10), maxIdlePerHost: Int = 64, maxResponseBytes: Int = 65_536
    ) throws {
        self.allowList = Set(allowList.map { $0.lowercased() })
        self.timeout = timeout
        self.maxResponseBytes = maxResponseBytes
        self.tls = try NIOSSLContext(configuration: .makeClientConfiguration())
        self.group = MultiThreadedEventLoopGroup.singleton
        self.pool = ConnectionPool(maxIdlePerKey: maxIdlePerHost, idleLimit: .seconds(30))
    }

    /// Sends `request` (whatever its method; the name stays from when every request was a POST).
    public func post(_ request: OutboundRequest) async throws(OutboundFailure) -> OutboundResponse {
        guard let components = URLComponents(string: request.url), let scheme = components.scheme?.lowercased(),
            let named = components.host?.lowercased(), !named.isEmpty
        else {
            throw .refused("not an absolute URL")
        }
        let host = named.hasPrefix("[") && named.hasSuffix("]") ? String(named.dropFirst().dropLast()) : named  // an IPv6 literal
        let allowed = allowList.contains(host)
        guard scheme == "https" || (scheme == "http" && allowed) else { throw .refused("only https URLs are allowed") }
        let port = components.port ?? (scheme == "https" ? 443 : 80)
        let path = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
        let target = components.percentEncodedQuery.map { "\(path)?\($0)" } ?? path
        let key = ConnectionPool.Key(host: host, port: port, tls: scheme == "https")

        var head = HTTPRequestHead(version: .http1_1, method: request.method, uri: target)
        let hostHeader = host.contains(":") ? "[\(host)]" : host
        head.headers.add(name: "Host", value: port == 443 || port == 80 ? hostHeader : "\(hostHeader):\(port)")
        head.headers.add(name: "User-Agent", value: "DevTrack-Hub")
        if request.method != .GET || !request.body.isEmpty { head.headers.add(name: "Content-Length", value: String(request.body.count)) }
        for (name, value) in request.headers { head.headers.add(name: name, value: value) }
        let body = ByteBuffer(bytes: request.body)

        // An idle connection the server closed meanwhile fails before any answer: then once more on a new one.
        if let idle = pool.checkOut(key) {
            do {
                return try await exchange(on: idle, key: key, head: head, body: body)
            } catch let failure {
                guard case .broken = failure else { throw failure }
            }
        }
        let connection = try await connect(key: key, checked: !allowed)
        return try await exchange(on: connection, key: key, head: head, body: body)
    }

    /// Closes the idle connections (at shutdown).
    public func closeIdleConnections() {
        for connection in pool.drain() { connection.channel.close(promise: nil) }
    }

    private func connect(key: ConnectionPool.Key, checked: Bool) async throws(OutboundFailure) -> PooledConnection {
        let address = try await resolve(host: key.host, port: key.port, checked: checked)
        let tls = self.tls
        let maxBody = maxResponseBytes
        let (host, port) = (key.host, key.port)
        do {
            let channel = try await ClientBootstrap(group: group)
                .connectTimeout(.seconds(5))
                .channelOption(.tcpOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if key.tls {
                            // SNI and the certificate's name check need a name; an address literal has none to send.
                            let name = (try? SocketAddress(ipAddress: host, port: port)) == nil ? host : nil
                            try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: tls, serverHostname: name))
                        }
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        try channel.pipeline.syncOperations.addHandler(ResponseReader(maxBodyBytes: maxBody))
                    }
                }
                .connect(to: address).get()
            return PooledConnection(channel: channel)
        } catch {
            throw .unreachable("cannot connect to \(host):\(port): \(error)")
        }
    }

    /// One request on `connection`, whose fate follows the answer: kept for reuse when both sides allow it,
    /// closed otherwise (and always after a failure or a timeout).
    private func exchange(
        on connection: PooledConnection, key: ConnectionPool.Key, head: HTTPRequestHead, body: ByteBuffer
    ) async throws(OutboundFailure) -> OutboundResponse {
        let channel = connection.channel
        let promise = channel.eventLoop.makePromise(of: (OutboundResponse, keepAlive: Bool).self)
        let limit = timeout
        channel.eventLoop.execute {
            guard let reader = try? channel.pipeline.syncOperations.handler(type: ResponseReader.self) else {
                promise.fail(OutboundFailure.broken("the connection is gone"))
                return
            }
            reader.expect(promise)
            let timer = channel.eventLoop.scheduleTask(
                in: .nanoseconds(Int64(limit.components.seconds) * 1_000_000_000 + limit.components.attoseconds / 1_000_000_000)
            ) {
                promise.fail(OutboundFailure.timedOut(limit))
            }
            promise.futureResult.whenComplete { _ in timer.cancel() }
            // One write (one flush): separate small writes would wait on delayed ACKs.
            channel.write(HTTPClientRequestPart.head(head), promise: nil)
            channel.write(HTTPClientRequestPart.body(.byteBuffer(body)), promise: nil)
            channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        }
        do {
            let (response, keepAlive) = try await promise.futureResult.get()
            if keepAlive { pool.checkIn(key, connection) } else { channel.close(promise: nil) }
            return response
        } catch {
            channel.close(promise: nil)
            if let failure = error as? OutboundFailure { throw failure }
            throw .broken("\(error)")
        }
    }

    /// Every address of `host`, checked (unless allow-listed); the first one is used.
    private func resolve(host: String, port: Int, checked: Bool) async throws(OutboundFailure) -> SocketAddress {
        let addresses: [SocketAddress]
        do {
            addresses = try await NIOThreadPool.singleton.runIfActive { try Self.lookup(host: host, port: port) }
        } catch {
            throw .unreachable("cannot resolve \(host): \(error)")
        }
        guard let first = addresses.first else { throw .unreachable("\(host) has no address") }
        if checked {
            for address in addresses {
                if let reason = Self.refusal(of: address) { throw .refused("\(host) resolves to \(address.ipAddress ?? "?"), \(reason)") }
            }
        }
        return first
    }

    /// Why an address literal (`10.0.0.1`, `::1`) is not public; nil for a public one or a host name.
    public static func refusal(ofLiteral host: String) -> String? {
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if let address = try? SocketAddress(ipAddress: bare, port: 443) { return refusal(of: address) }
        // The legacy IPv4 spellings resolvers still accept (`2130706433`, `0x7f000001`, `127.1`, `0177.0.0.1`).
        var legacy = in_addr()
        guard !bare.isEmpty, bare.allSatisfy({ $0.isHexDigit || $0 == "." || $0 == "x" || $0 == "X" }), inet_aton(bare, &legacy) != 0 else {
            return nil
        }
        return OutboundAddressPolicy.refusal(ipv4: withUnsafeBytes(of: legacy) { Array($0) })
    }

    static func refusal(of address: SocketAddress) -> String? {
        switch address {
        case .v4(let v4):
            return OutboundAddressPolicy.refusal(ipv4: withUnsafeBytes(of: v4.address.sin_addr) { Array($0) })
        case .v6(let v6):
            return OutboundAddressPolicy.refusal(ipv6: withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) })
        default:
            return "not an internet address"
        }
    }

    /// getaddrinfo, on NIO's thread pool (it blocks).
    static func lookup(host: String, port: Int) throws -> [SocketAddress] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &result)
        guard status == 0, let list = result else { throw OutboundFailure.unreachable(String(cString: gai_strerror(status))) }
        defer { freeaddrinfo(list) }
        var addresses: [SocketAddress] = []
        var entry: UnsafeMutablePointer<addrinfo>? = list
        while let current = entry {
            if let raw = current.pointee.ai_addr {
                switch current.pointee.ai_family {
                case AF_INET:
                    addresses.append(raw.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { SocketAddress($0.pointee, host: host) })
                case AF_INET6:
                    addresses.append(raw.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { SocketAddress($0.pointee, host: host) })
                default: break
                }
            }
            entry = current.pointee.ai_next
        }
        return addresses
    }
}

/// An open connection to one host, idle in the pool or carrying one request.
struct PooledConnection: Sendable {
    let channel: any Channel
    var idleSince: ContinuousClock.Instant = .now
}

/// Idle keep-alive connections per host, port and scheme.
final class ConnectionPool: Sendable {
    struct Key: Hashable, Sendable {
        let host: String
        let port: Int
        let tls: Bool
    }

    let maxIdlePerKey: Int
    let idleLimit: Duration
    private let idle = Mutex<[Key: [PooledConnection]]>([:])

    init(maxIdlePerKey: Int, idleLimit: Duration) {
        self.maxIdlePerKey = maxIdlePerKey
        self.idleLimit = idleLimit
    }

    /// The most recently used idle connection that is still open and not idle too long (older ones are closed).
    func checkOut(_ key: Key) -> PooledConnection? {
        let now = ContinuousClock.now
        var stale: [PooledConnection] = []
        let found: PooledConnection? = idle.withLock { idle in
            while let connection = idle[key]?.popLast() {
                if connection.channel.isActive, now - connection.idleSince < idleLimit { return connection }
                stale.append(connection)
            }
            return nil
        }
        for connection in stale { connection.channel.close(promise: nil) }
        return found
    }

    func checkIn(_ key: Key, _ connection: PooledConnection) {
        var connection = connection
        connection.idleSince = .now
        let kept = idle.withLock { idle -> Bool in
            guard idle[key, default: []].count < maxIdlePerKey else { return false }
            idle[key, default: []].append(connection)
            return true
        }
        if !kept { connection.channel.close(promise: nil) }
    }

    func drain() -> [PooledConnection] {
        idle.withLock { idle in
            defer { idle = [:] }
            return idle.values.flatMap { $0 }
        }
    }
}

/// Reads one response at a time into the promise the request set; a connection that closes or fails
/// first fails it.
final class ResponseReader: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart

    private var promise: EventLoopPromise<(OutboundResponse, keepAlive: Bool)>?
    private var head: HTTPResponseHead?
    private var body: [UInt8] = []
    private var truncated = false
    let maxBodyBytes: Int

    init(maxBodyBytes: Int) {
        self.maxBodyBytes = maxBodyBytes
    }

    func expect(_ promise: EventLoopPromise<(OutboundResponse, keepAlive: Bool)>) {
        self.promise = promise
        head = nil
        body = []
        truncated = false
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let response):
            head = response
        case .body(let buffer):
            let room = maxBodyBytes - body.count
            if buffer.readableBytes > room { truncated = true }
            if room > 0 { body += buffer.readableBytesView.prefix(room) }
        case .end:
            guard let head, let promise else { return }
            self.promise = nil
            promise.succeed(
                (
                    OutboundResponse(
                        status: Int(head.status.code), headers: head.headers.map { ($0.name, $0.value) }, body: body, truncated: truncated),
                    head.isKeepAlive
                ))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(.broken("the connection closed before the response ended"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(.broken("\(error)"))
        context.close(promise: nil)
    }

    private func fail(_ failure: OutboundFailure) {
        let promise = self.promise
        self.promise = nil
        promise?.fail(failure)
    }
}
