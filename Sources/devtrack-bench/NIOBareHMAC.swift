import ArgumentParser
import DevTrackCore
import Kafka
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// The bare route without Swift concurrency: NIO's HTTP/1 pipeline and one channel handler that reads the body, checks the
/// HMAC and (with `--kafka-brokers`) produces it and answers from the delivery callback on the connection's event loop.
/// It measures what a hand-written ingest route could save against Hummingbird's async handlers.
struct NIOBareHMAC: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nio-bare-hmac", abstract: "Serve POST /webhooks/github on plain NIO: read body, check HMAC, 202.")
    @Option var port: Int
    @Option var secret: String
    @Option(help: "Also produce each body to devtrack.github.events on these brokers.") var kafkaBrokers: String?

    func run() async throws {
        let secrets = [Array(secret.utf8)]
        let producer = try kafkaBrokers.map {
            try KafkaProducer(configuration: KafkaConfiguration(bootstrapServers: $0), logger: Logger(label: "nio-bare-hmac"))
        }
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(SignedBodyHandler(secrets: secrets, producer: producer))
                }
            }
            .bind(host: "127.0.0.1", port: port).get()
        try await channel.closeFuture.get()
    }
}

private final class SignedBodyHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let secrets: [[UInt8]]
    let producer: KafkaProducer?
    var head: HTTPRequestHead?
    var body: [UInt8] = []

    init(secrets: [[UInt8]], producer: KafkaProducer?) {
        self.secrets = secrets
        self.producer = producer
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body.removeAll(keepingCapacity: true)
        case .body(var part):
            guard body.count + part.readableBytes <= 25 * 1024 * 1024 else { return context.close(promise: nil) }
            body.append(contentsOf: part.readBytes(length: part.readableBytes) ?? [])
        case .end:
            guard let head else { return }
            let header = head.headers.first(name: GitHubSignature.headerName)
            guard GitHubSignature.verify(body: body, header: header, secrets: secrets) == .valid else {
                return answer(.unauthorized, keepAlive: head.isKeepAlive, context: context)
            }
            guard let producer else { return answer(.accepted, keepAlive: head.isKeepAlive, context: context) }
            let message = KafkaOutgoingMessage(topic: "devtrack.github.events", key: Array((header ?? "").utf8.suffix(8)), value: body)
            let loop = context.eventLoop
            let bound = NIOLoopBound((self, context), eventLoop: loop)
            let keepAlive = head.isKeepAlive
            producer.send(message) { result in
                loop.execute {
                    let (handler, context) = bound.value
                    handler.answer(result.isSuccess ? .accepted : .serviceUnavailable, keepAlive: keepAlive, context: context)
                }
            }
        }
    }

    func answer(_ status: HTTPResponseStatus, keepAlive: Bool, context: ChannelHandlerContext) {
        var headers = HTTPHeaders([("content-length", "0")])
        if !keepAlive { headers.add(name: "connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            if !keepAlive { context.close(promise: nil) }
        }
    }
}

extension Result {
    fileprivate var isSuccess: Bool {
        if case .success = self { return true }
        return false
    }
}
