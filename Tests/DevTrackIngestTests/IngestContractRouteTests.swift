import DevTrackCore
import DevTrackHTTP
import DevTrackIngest
import DevTrackTestSupport
import Foundation
import Hummingbird
import Kafka
import Logging
import Testing

/// Every route the ingest server registers is an operation of docs/openapi.yaml on the ingest server, and back.
@Suite(.timeLimit(.minutes(1)))
struct IngestContractRouteTests {
    @Test func everyRouteOfTheIngestServerIsInTheDocumentAndBack() async throws {
        try await TestDatabase.shared.withFreshStore { store, _ in
            let logger = Logger(label: "contract-tests")
            let cluster = try KafkaMockCluster(brokers: 1, logger: logger)
            let producer = try KafkaProducer(configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers), logger: logger)
            // As `devtrack ingest` assembles it (Roles.ingest).
            let router = Router(context: IngestRequestContext.self)
            router.addHealthRoutes(checks: { [] })
            IngestRoutes(
                producer: producer, database: store.database, secretBox: try SecretBox(base64Key: SecretBox.newBase64Key()),
                webhooks: IngestConfiguration(hubWebhookSecret: "s", maxBodyBytes: 1 << 20, sourceCacheTTL: .seconds(5)),
                heartbeats: HeartbeatConfiguration(maxBatch: 100, maxAge: .seconds(86_400), syncRequestsPerMinute: 20)
            ).addRoutes(to: router)
            let registered = Set(router.routes.map { "\($0.method) \($0.path)" })
            let documented = try OpenAPIContract.operations(onServer: "ingest_port")
            #expect(registered.subtracting(documented).sorted() == [], "routes the document does not declare")
            #expect(documented.subtracting(registered).sorted() == [], "operations no route serves")
            await producer.shutdown()
            await cluster.shutdown()
        }
    }
}
