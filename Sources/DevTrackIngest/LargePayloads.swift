import DevTrackCore
import DevTrackHTTP
import DevTrackStore
import Foundation
import Kafka
import Logging

/// Bodies too large for one Kafka message (a broker takes 1 MB by default, GitHub sends up to 25 MB) wait in
/// PostgreSQL (`large_payloads`); the message carries a small reference and the body's SHA-256 in headers,
/// and the worker reads the body back (`LargePayloadResolver`).
struct LargePayloads: Sendable {
    let largePayloads: LargePayloadRepository
    /// Bodies up to this size travel in the message itself (compressed).
    let maxInlineBytes: Int

    /// The value and extra headers of the message for `body`: the body itself, or a reference to where it is
    /// kept. 503 `database_unavailable` when PostgreSQL cannot keep it in time.
    func message(for body: [UInt8], topic: String, deliveryID: String, logger: Logger) async throws -> (value: [UInt8], headers: [KafkaHeader]) {
        guard body.count > maxInlineBytes else { return (body, []) }
        let id = UUID()
        let largePayloads = self.largePayloads
        do {
            try await Deadline.run(.seconds(5)) { try await largePayloads.storeLargePayload(id: id, topic: topic, body: body) }
        } catch {
            logger.warning("cannot keep the \(body.count)-byte body of delivery \(deliveryID): \(error)")
            throw HubHTTPError.databaseUnavailable
        }
        let ref = id.uuidString.lowercased()
        return (
            Array(#"{"payload_ref":"\#(ref)","bytes":\#(body.count)}"#.utf8),
            [KafkaHeader(RawEventHeaders.payloadRef, ref), KafkaHeader(RawEventHeaders.payloadSHA256, Hex.sha256(body))]
        )
    }
}
