import DevTrackCore
import DevTrackHTTP
import DevTrackStore
import Hummingbird
import HummingbirdCore
import Kafka
import Logging
import Metrics

/// Every route of the ingest server: GitHub webhooks, custom webhooks and heartbeats, each answered only once Kafka has
/// what it accepted. Built here once, for `devtrack ingest`, `devtrack dev` and the router tests alike.
public struct IngestRoutes: Sendable {
    let github: GitHubWebhookIngest
    let custom: CustomWebhookIngest
    let heartbeats: HeartbeatIngest

    /// `webhooks` configures both webhook doors (the hub-wide GitHub App secret only matters to GitHub's).
    public init(
        producer: KafkaProducer, database: Database, secretBox: SecretBox, webhooks: IngestConfiguration,
        heartbeats: HeartbeatConfiguration, backlog: KafkaBacklog? = nil
    ) {
        github = GitHubWebhookIngest(producer: producer, database: database, secretBox: secretBox, configuration: webhooks, backlog: backlog)
        var customConfiguration = webhooks
        customConfiguration.hubWebhookSecret = nil
        custom = CustomWebhookIngest(
            producer: producer, database: database, secretBox: secretBox, configuration: customConfiguration, backlog: backlog)
        self.heartbeats = HeartbeatIngest(producer: producer, database: database, configuration: heartbeats, backlog: backlog)
    }

    /// The server for these routes: Hummingbird's, with GitHub's hub-wide deliveries answered before the router
    /// (`GitHubDeliveryFastPath`) when that endpoint is configured. `metrics` takes what that path counts: the process's
    /// (`MetricsSystem`, bootstrapped first) by default, as for the routers' `HTTPMetricsMiddleware`.
    public func server(name: String, logger: Logger, metrics: any MetricsFactory = MetricsSystem.factory) -> HTTPServerBuilder {
        github.fastPath(serverName: name, logger: logger, metrics: metrics).map { HubHTTPServer.server(interceptor: $0) } ?? HubHTTPServer.server
    }

    public func addRoutes(to router: Router<IngestRequestContext>) {
        github.addRoutes(to: router)
        custom.addRoutes(to: router)
        heartbeats.addRoutes(to: router)
    }
}
