import DevTrackCore
import DevTrackHTTP
import DevTrackIngest
import DevTrackTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Kafka
import Logging
import Testing

/// The embedded default's guard against the mock cluster's silent drops: what is produced and not yet
/// committed is counted, and ingest answers 503 `kafka_backlog` before a partition holds more than the limit.
@Suite(.timeLimit(.minutes(3)))
struct KafkaBacklogTests {
    @Test func theBacklogGrowsWithAcknowledgementsAndShrinksWithCommits() {
        let backlog = KafkaBacklog(limitBytes: 1000)
        let topic = "t"
        for offset in 0..<5 { backlog.produced(KafkaDeliveryReport(topic: topic, partition: 0, offset: Int64(offset)), bytes: 300) }
        backlog.produced(KafkaDeliveryReport(topic: topic, partition: 1, offset: 0), bytes: 100)
        #expect(backlog.bytes(of: topic) == 1500, "the fullest partition")
        #expect(backlog.isFull(topic))
        backlog.committed([KafkaTopicPartition(topic: topic, partition: 0): 3])
        #expect(backlog.bytes(of: topic) == 600)
        #expect(!backlog.isFull(topic))
        backlog.committed([KafkaTopicPartition(topic: topic, partition: 0): 2])
        #expect(backlog.bytes(of: topic) == 600, "an older commit changes nothing")
        backlog.produced(KafkaDeliveryReport(topic: topic, partition: 0, offset: 1), bytes: 999)
        #expect(backlog.bytes(of: topic) == 600, "an acknowledgement below the committed position is already consumed")
        #expect(backlog.bytes(of: "other") == 0)
    }

    @Test func ingestAnswers503WithRetryAfterOnceAPartitionsBacklogIsFull() async throws {
        try await TestDatabase.shared.withFreshStore { store, _ in
            let logger = Logger(label: "backlog-tests")
            let cluster = try KafkaMockCluster(brokers: 1, logger: logger)
            try cluster.createTopic(KafkaTopicSpecification(name: Topics.githubEvents, partitions: 1, replicationFactor: 1))
            let producer = try KafkaProducer(configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers), logger: logger)
            let backlog = KafkaBacklog(limitBytes: 20_000)
            let router = Router()
            router.middlewares.add(JSONErrorMiddleware())
            GitHubWebhookIngest(
                producer: producer, database: store.database, secretBox: try SecretBox(base64Key: SecretBox.newBase64Key()),
                configuration: IngestConfiguration(hubWebhookSecret: "secret", maxBodyBytes: 1 << 20, sourceCacheTTL: .seconds(5)), backlog: backlog
            ).addRoutes(to: router)
            let body = try Fixtures.data("push/branch-created.json")
            let app = Application(router: router)
            let signature = GitHubSignature.sign(body: Array(body), secret: Array("secret".utf8))
            let results = try await app.test(.router) { client -> [(status: HTTPResponse.Status, code: String?, retryAfter: String?)] in
                func post(_ delivery: String) async throws -> (status: HTTPResponse.Status, code: String?, retryAfter: String?) {
                    let response = try await client.execute(
                        uri: "/webhooks/github", method: .post,
                        headers: [
                            .init("X-GitHub-Event")!: "push", .init("X-GitHub-Delivery")!: delivery,
                            .init("X-Hub-Signature-256")!: signature, .contentType: "application/json",
                        ],
                        body: ByteBuffer(bytes: body))
                    let json = try? JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: [String: String]]
                    return (response.status, json?["error"]?["code"], response.headers[.retryAfter])
                }
                var results: [(status: HTTPResponse.Status, code: String?, retryAfter: String?)] = []
                for index in 0..<4 { results.append(try await post("d-\(index)")) }
                // The worker commits what it consumed: ingest accepts again.
                backlog.committed([KafkaTopicPartition(topic: Topics.githubEvents, partition: 0): 3])
                results.append(try await post("d-after"))
                return results
            }
            let statuses = results.map(\.status)
            let refusal = results.first { $0.status == .serviceUnavailable }
            // 8.8 KB each: two fit under 20 KB, the third fills it, the fourth is refused.
            #expect(statuses == [.accepted, .accepted, .accepted, .serviceUnavailable, .accepted])
            #expect(refusal?.code == "kafka_backlog")
            #expect(refusal?.retryAfter == "5")
            await producer.shutdown()
            await cluster.shutdown()
        }
    }
}
