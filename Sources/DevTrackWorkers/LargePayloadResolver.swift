import DevTrackCore
import DevTrackStore
import Foundation
import Kafka

/// Reads back the bodies ingest kept in PostgreSQL for messages too large for Kafka (`devtrack-payload-ref`).
struct LargePayloadResolver: Sendable {
    let largePayloads: LargePayloadRepository

    /// The batch with each referenced body in place of its reference. A body that is no longer stored (past
    /// its retention) or whose SHA-256 does not match comes back as a rejection with the reason.
    func resolve(_ batch: [KafkaMessage]) async throws -> (messages: [KafkaMessage], rejected: [(message: KafkaMessage, reason: String)]) {
        guard batch.contains(where: { $0.header(RawEventHeaders.payloadRef) != nil }) else { return (batch, []) }
        let refs = batch.compactMap { message in message.header(RawEventHeaders.payloadRef).flatMap { UUID(uuidString: $0.stringValue) } }
        let stored = try await largePayloads.largePayloads(ids: refs)
        var messages: [KafkaMessage] = []
        var rejected: [(message: KafkaMessage, reason: String)] = []
        for message in batch {
            guard let ref = message.header(RawEventHeaders.payloadRef)?.stringValue else {
                messages.append(message)
                continue
            }
            guard let id = UUID(uuidString: ref), let body = stored[id],
                Hex.sha256(body) == message.header(RawEventHeaders.payloadSHA256)?.stringValue
            else {
                rejected.append(
                    (
                        message,
                        "the large body \(InputText.sanitized(ref, maxBytes: 64)) is not stored (past its retention) or does not match its SHA-256"
                    ))
                continue
            }
            messages.append(
                KafkaMessage(
                    topic: message.topic, partition: message.partition, offset: message.offset, key: message.key, value: body,
                    headers: message.headers, timestampMilliseconds: message.timestampMilliseconds))
        }
        return (messages, rejected)
    }
}
