import DevTrackHTTP
import Hummingbird
import Kafka
import Logging

/// Produces a raw event and answers for Kafka: a 2xx is given only once Kafka has acknowledged it, 503
/// `kafka_unavailable` when it did not in time, and, where a backlog gauge is kept (the embedded default's mock
/// cluster, which drops what its partitions hold beyond ~5 MB), 503 `kafka_backlog` before accepting what a
/// lagging worker could lose.
struct RawEventProducer: Sendable {
    let producer: KafkaProducer
    let backlog: KafkaBacklog?

    func send(_ message: KafkaOutgoingMessage, what: String, logger: Logger) async throws(HubHTTPError) {
        if let backlog, backlog.isFull(message.topic) {
            logger.warning("\(message.topic) holds \(backlog.bytes(of: message.topic)) bytes not yet consumed; refusing \(what)")
            throw HubHTTPError.kafkaBacklog
        }
        do {
            let report = try await producer.send(message)
            backlog?.produced(report, bytes: message.value?.count ?? 0)
        } catch {
            logger.warning("Kafka did not take \(what): \(error)")
            throw HubHTTPError.kafkaUnavailable
        }
    }
}
