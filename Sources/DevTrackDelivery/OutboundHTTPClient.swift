import DevTrackCore
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// One outbound POST (Discord, a user's webhook endpoint).
public struct OutboundRequest: Sendable {
    public var url: String
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(url: String, headers: [(String, String)] = [], body: [UInt8]) {
        self.url = url
        self.headers = headers
        self.body = body
    }
}

/// What came back (the body cut at 64 KB: enough for an error message or Discord's JSON).
public struct OutboundResponse: Sendable {
    public let status: Int
    public let headers: [(String, String)]
    public let body: [UInt8]

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
/// Hosts on `allowList` skip the address check and may use plain http (tests on loopback, an operator's
/// own relay). Why not AsyncHTTPClient: it offers no way to connect to a pre-checked address.
public struct OutboundHTTPClient: Sendable {
    let allowList: Set<String>
    let timeout: Duration
    let tls: NIOSSLContext
    let group: any EventLoopGroup

    public init(allowList: Set<String> = [], timeout: Duration = .seconds(10)) throws {
        self.allowList = Set(allowList.map { $0.lowercased() })
        self.timeout = timeout
        self.tls = try NIOSSLContext(configuration: .makeClientConfiguration())
        self.group = MultiThreadedEventLoopGroup.singleton
    }

    public func post(_ request: OutboundRequest) async throws(OutboundFailure) -> OutboundResponse {
        guard let components = URLComponents(string: request.url), let scheme = components.scheme?.lowercased(),
              let named = components.host?.lowercased(), !named.isEmpty else {
            throw .refused("not an absolute URL")
        }
        let host = named.hasPrefix("[") && named.hasSuffix("]") ? String(named.dropFirst().dropLast()) : named  // an IPv6 literal
        let allowed = allowList.contains(host)
        guard scheme == "https" || (scheme == "http" && allowed) else { throw .refused("only https URLs are allowed") }
        let port = components.port ?? (scheme == "https" ? 443 : 80)
        let address = try await resolve(host: host, port: port, checked: !allowed)
        let path = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
        let target = components.percentEncodedQuery.map { "\(path)?\($0)" } ?? path
        let limit = timeout
        do {
            return try await withThrowingTaskGroup(of: OutboundResponse.self) { group in
                group.addTask { try await exchange(address: address, host: host, port: port, tls: scheme == "https", target: target, request: request) }
                group.addTask {
                    try await Task.sleep(for: limit)
                    throw OutboundFailure.timedOut(limit)
                }
                defer { group.cancelAll() }
                return try await group.next()!
            }
        } catch let failure as OutboundFailure {
            throw failure
        } catch {
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
        guard let address = try? SocketAddress(ipAddress: bare, port: 443) else { return nil }
        return refusal(of: address)
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

    private func exchange(
        address: SocketAddress, host: String, port: Int, tls useTLS: Bool, target: String, request: OutboundRequest
    ) async throws -> OutboundResponse {
        let tls = self.tls
        let channel = try await ClientBootstrap(group: group)
            .connectTimeout(.seconds(5))
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .connect(to: address) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if useTLS {
                        // SNI and the certificate's name check need a name; an address literal has none to send.
                        let name = (try? SocketAddress(ipAddress: host, port: port)) == nil ? host : nil
                        try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: tls, serverHostname: name))
                    }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: target)
            let hostHeader = host.contains(":") ? "[\(host)]" : host
            head.headers.add(name: "Host", value: port == 443 || port == 80 ? hostHeader : "\(hostHeader):\(port)")
            head.headers.add(name: "User-Agent", value: "DevTrack-Hub")
            head.headers.add(name: "Content-Length", value: String(request.body.count))
            head.headers.add(name: "Connection", value: "close")
            for (name, value) in request.headers { head.headers.add(name: name, value: value) }
            // One write (one flush): separate small writes would wait on delayed ACKs.
            try await outbound.write(contentsOf: [.head(head), .body(.byteBuffer(ByteBuffer(bytes: request.body))), .end(nil)])
            var status = 0
            var headers: [(String, String)] = []
            var body: [UInt8] = []
            for try await part in inbound {
                switch part {
                case .head(let response):
                    status = Int(response.status.code)
                    headers = response.headers.map { ($0.name, $0.value) }
                case .body(let buffer):
                    if body.count < 65_536 { body += buffer.readableBytesView.prefix(65_536 - body.count) }
                case .end:
                    return OutboundResponse(status: status, headers: headers, body: body)
                }
            }
            throw OutboundFailure.broken("the connection closed before the response ended")
        }
    }
}
