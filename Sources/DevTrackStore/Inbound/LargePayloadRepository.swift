import Foundation
import PostgresNIO

/// `large_payloads`: raw bodies kept out of Kafka because they exceed what a broker takes in one message.
/// Bodies too large for a Kafka message, kept until their message is processed (`large_payloads`).
public struct LargePayloadRepository: Repository {
    let database: Database

    public init(_ database: Database) { self.database = database }
}

extension LargePayloadRepository {
    public func storeLargePayload(id: UUID, topic: String, body: [UInt8]) async throws {
        try await client.query(
            "INSERT INTO large_payloads (id, topic, body) VALUES (\(id), \(topic), \(ByteBuffer(bytes: body))) ON CONFLICT (id) DO NOTHING",
            logger: logger)
    }

    /// The bodies of `ids` that are still stored.
    public func largePayloads(ids: [UUID]) async throws -> [UUID: [UInt8]] {
        guard !ids.isEmpty else { return [:] }
        let rows = try await client.query("SELECT id, body FROM large_payloads WHERE id = ANY(\(ids))", logger: logger)
        var bodies: [UUID: [UInt8]] = [:]
        for try await (id, body) in rows.decode((UUID, ByteBuffer).self) {
            bodies[id] = Array(buffer: body)
        }
        return bodies
    }

    /// Deletes up to `limit` bodies stored before `cutoff`; returns how many went.
    public func deleteLargePayloads(before cutoff: Date, limit: Int = 1000) async throws -> Int {
        try await rowCount(
            """
            DELETE FROM large_payloads WHERE id IN (
                SELECT id FROM large_payloads WHERE created_at < \(cutoff) ORDER BY created_at LIMIT \(limit))
            RETURNING 1
            """)
    }
}
