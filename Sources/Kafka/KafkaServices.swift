import ServiceLifecycle

/// Keeps a producer for a `ServiceGroup`: on graceful shutdown it flushes in-flight messages and
/// destroys the client. Place it before the services that produce, so it shuts down after them.
public struct KafkaProducerService: Service {
    public let producer: KafkaProducer

    public init(_ producer: KafkaProducer) {
        self.producer = producer
    }

    public func run() async throws {
        try? await gracefulShutdown()
        await producer.shutdown()
    }
}

/// Keeps an in-process mock cluster alive until graceful shutdown.
public struct KafkaMockClusterService: Service {
    public let cluster: KafkaMockCluster

    public init(_ cluster: KafkaMockCluster) {
        self.cluster = cluster
    }

    public func run() async throws {
        try? await gracefulShutdown()
        await cluster.shutdown()
    }
}
