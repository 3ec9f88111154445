import DevTrackCore
import DevTrackHTTP
import DevTrackIngest
import DevTrackStore
import DevTrackTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Kafka
import Logging
import MetricsTestKit
import Testing

/// The ingest server's router as `devtrack ingest` assembles it (JSON errors, `IngestRoutes`, 405 for known paths),
/// served in process by HummingbirdTesting on a fresh PostgreSQL database and a mock cluster with the raw topics, and
/// a user who has a coding key.
struct IngestRouterTest: Sendable {
    let client: any TestClientProtocol
    let store: TestStore
    let cluster: KafkaMockCluster
    let user: UserRecord
    let codingKey: String
    /// What the server counted below the router (`GitHubDeliveryFastPath`); the router's routes have no metrics here.
    let metrics: TestMetrics
    let secretBox: SecretBox

    /// The hub-wide GitHub App secret of `POST /webhooks/github`.
    static let hubSecret = "hub-secret"
    static let maxBodyBytes = 64 * 1024
    static let maxHeartbeats = 3
    static let syncRequestsPerMinute = 2
    static let serverName = "devtrack-ingest"

    /// With `live`, over loopback through the server `devtrack ingest` runs (`IngestRoutes.server`, which answers GitHub's
    /// hub-wide deliveries before the router); `producerSettings` override the producer's librdkafka properties.
    static func run(
        hubSecret: String? = hubSecret, live: Bool = false, producerSettings: [String: String] = [:],
        _ body: @escaping @Sendable (IngestRouterTest) async throws -> Void
    ) async throws {
        try await TestDatabase.shared.withFreshStore { store, _ in
            let logger = Logger(label: "ingest-router-tests")
            let cluster = try KafkaMockCluster(brokers: 1, logger: logger)
            for topic in [Topics.githubEvents, Topics.customEvents, Topics.codingHeartbeats] {
                try cluster.createTopic(KafkaTopicSpecification(name: topic, partitions: 1, replicationFactor: 1))
            }
            let producer = try KafkaProducer(
                configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers, producerSettings), logger: logger)
            let secretBox = try SecretBox(base64Key: SecretBox.newBase64Key())
            let router = Router(context: IngestRequestContext.self)
            router.middlewares.add(JSONErrorMiddleware())
            let metrics = TestMetrics()
            let routes = IngestRoutes(
                producer: producer, database: store.database, secretBox: secretBox,
                webhooks: IngestConfiguration(hubWebhookSecret: hubSecret, maxBodyBytes: maxBodyBytes, sourceCacheTTL: .seconds(5)),
                heartbeats: HeartbeatConfiguration(
                    maxBatch: maxHeartbeats, maxAge: .seconds(14 * 86_400), syncRequestsPerMinute: syncRequestsPerMinute))
            routes.addRoutes(to: router)
            router.addMethodNotAllowed()
            let application = Application(
                router: router, server: routes.server(name: serverName, logger: logger, metrics: metrics),
                configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: serverName), logger: logger)
            let user = try await store.users.createUser(login: "Codertocat", githubID: 21_031_067, timezone: "UTC")
            let key = try await store.codingKeys.createCodingKey(userID: user.id, name: "laptop").key
            do {
                try await application.test(live ? .live : .router) { client in
                    try await body(
                        IngestRouterTest(
                            client: client, store: store, cluster: cluster, user: user, codingKey: key, metrics: metrics, secretBox: secretBox))
                }
            } catch {
                await producer.shutdown()
                await cluster.shutdown()
                throw error
            }
            await producer.shutdown()
            await cluster.shutdown()
        }
    }

    /// How many deliveries `GitHubDeliveryFastPath` answered with `status` itself (`devtrack_ingest_fast_path_answers_total`).
    func fastPathAnswers(_ status: String) throws -> Int64 {
        try metrics.expectCounter("devtrack_ingest_fast_path_answers_total", [("status", status)]).totalValue
    }

    func post(_ path: String, body: [UInt8], headers: HTTPFields) async throws -> IngestResponse {
        try await send(.post, path, body: body, headers: headers)
    }

    func send(_ method: HTTPRequest.Method, _ path: String, body: [UInt8]? = nil, headers: HTTPFields = [:]) async throws -> IngestResponse {
        let response = try await client.execute(uri: path, method: method, headers: headers, body: body.map { ByteBuffer(bytes: $0) })
        return IngestResponse(status: response.status, headers: response.headers, body: Data(buffer: response.body))
    }

    /// A GitHub delivery's headers: event, delivery id, JSON, and the signature of `body` under `secret` (none when nil).
    static func gitHubHeaders(event: String = "push", delivery: String = UUID().uuidString, body: [UInt8], secret: String?) -> HTTPFields {
        var headers: HTTPFields = [.gitHubEvent: event, .gitHubDelivery: delivery, .contentType: "application/json"]
        if let secret { headers[.hubSignature256] = GitHubSignature.sign(body: body, secret: Array(secret.utf8)) }
        return headers
    }

    /// A source of the test's user, with its secret as the owner was shown it.
    func source(kind: String, enabled: Bool = true) async throws -> (id: UUID, secret: String) {
        let secret = kind == "custom" ? StandardWebhooks.newSecret() : Hex.encode(Credentials.randomBytes(20))
        let source = try await store.sources.createSource(userID: user.id, kind: kind, name: kind, sealedSecret: secretBox.seal(secret))
        if !enabled { _ = try await store.sources.updateSource(userID: user.id, id: source.id, name: nil, enabled: false) }
        return (source.id, secret)
    }

    /// Every message on `topic` (one partition) so far — read from the start up to its high watermark, which holds every
    /// acknowledged send — after checking there are `count`.
    func messages(on topic: String, count: Int) async throws -> [KafkaMessage] {
        let consumer = try KafkaConsumer(
            configuration: KafkaConfiguration(
                bootstrapServers: cluster.bootstrapServers, ["group.id": "ingest-router-\(UUID())", "auto.offset.reset": "earliest"]),
            topics: [topic], logger: Logger(label: "ingest-router-tests"))
        let high = try await consumer.watermarks(KafkaTopicPartition(topic: topic, partition: 0)).high
        var received: [KafkaMessage] = []
        let deadline = ContinuousClock.now + .seconds(30)
        while (received.last?.offset ?? -1) + 1 < high, ContinuousClock.now < deadline {
            received += try await consumer.poll(maxMessages: 100, maxWait: .milliseconds(200))
        }
        await consumer.close()
        try #require(received.count == count, "\(received.count) message(s) on \(topic), not \(count) (high watermark \(high))")
        return received
    }
}

/// What a client sees: the status, the headers and the body (JSON, read on demand).
struct IngestResponse: Sendable, CustomStringConvertible {
    let status: HTTPResponse.Status
    let headers: HTTPFields
    let body: Data

    var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] }
    var errorCode: String? { (json?["error"] as? [String: Any])?["code"] as? String }
    var description: String { "\(status.code) \(String(decoding: body, as: UTF8.self).prefix(600))" }
}

extension HTTPField.Name {
    static let gitHubEvent = Self("X-GitHub-Event")!
    static let gitHubDelivery = Self("X-GitHub-Delivery")!
    static let hubSignature256 = Self("X-Hub-Signature-256")!
}
