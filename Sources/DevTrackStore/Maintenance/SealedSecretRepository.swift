import DevTrackCore
import Foundation
import Logging
import NIOCore
import PostgresNIO

/// What re-sealing one column did.
public struct ResealReport: Sendable, Equatable, Encodable {
    public let column: String
    /// Re-sealed under the current key.
    public var resealed = 0
    /// Already under the current key.
    public var current = 0
    /// Changed by someone else between the read and the write (then sealed by a process that has the current key).
    public var changedMeanwhile = 0
    /// Opened by none of the keys: left as they are (the process that wrote them had a key this one lacks).
    public var unreadable = 0

    enum CodingKeys: String, CodingKey {
        case column, resealed, current, unreadable
        case changedMeanwhile = "changed_meanwhile"
    }
}

/// Every sealed column of the hub, for key rotation: the one writer outside the owning repositories, and only of these
/// columns, each value replaced by the same secret under the current key (compare-and-set, so a secret changed meanwhile
/// is left to its writer). Online: each row is one short statement; processes that hold both keys read either form.
public struct SealedSecretRepository: Repository {
    let database: Database

    public init(_ database: Database) { self.database = database }

    struct Column: Sendable {
        let table: String
        let key: String
        let keyType: String
        let sealed: String
        var name: String { "\(table).\(sealed)" }
    }

    /// Source and endpoint secrets (and their previous ones during a secret rotation), Discord URLs, GitHub tokens, and
    /// the PKCE verifiers of sign-ins in progress.
    static let columns = [
        Column(table: "webhook_sources", key: "id", keyType: "uuid", sealed: "secret_sealed"),
        Column(table: "webhook_sources", key: "id", keyType: "uuid", sealed: "previous_secret_sealed"),
        Column(table: "webhook_endpoints", key: "id", keyType: "uuid", sealed: "secret_sealed"),
        Column(table: "webhook_endpoints", key: "id", keyType: "uuid", sealed: "previous_secret_sealed"),
        Column(table: "users", key: "id", keyType: "uuid", sealed: "discord_webhook_sealed"),
        Column(table: "github_accounts", key: "id", keyType: "uuid", sealed: "token_sealed"),
        Column(table: "oauth_states", key: "state_hash", keyType: "text", sealed: "verifier_sealed"),
    ]
}

extension SealedSecretRepository {
    /// Re-seals every value not yet under `box`'s current key, `batch` rows at a time per column; `progress` hears each
    /// column's report as it finishes.
    public func resealAll(
        with box: SecretBox, batch: Int = 500, progress: (ResealReport) -> Void = { _ in }
    ) async throws -> [ResealReport] {
        var reports: [ResealReport] = []
        for column in Self.columns {
            let report = try await reseal(column, with: box, batch: batch)
            progress(report)
            reports.append(report)
        }
        return reports
    }

    private func reseal(_ column: Column, with box: SecretBox, batch: Int) async throws -> ResealReport {
        var report = ResealReport(column: column.name)
        var after: String?
        while true {
            var bindings = PostgresBindings()
            bindings.append(after)
            bindings.append(batch)
            // Keyset pages in the key's own order (its index), from the start when $1 is NULL.
            let page = PostgresQuery(
                unsafeSQL: """
                    SELECT \(column.key)::text, \(column.sealed) FROM \(column.table)
                    WHERE \(column.sealed) IS NOT NULL AND ($1::text IS NULL OR \(column.key) > $1::\(column.keyType))
                    ORDER BY \(column.key) LIMIT $2
                    """, binds: bindings)
            var rows: [(key: String, sealed: [UInt8])] = []
            for try await (key, sealed) in try await client.query(page, logger: logger).decode((String, ByteBuffer).self) {
                rows.append((key, Array(sealed.readableBytesView)))
            }
            for row in rows {
                guard box.needsResealing(row.sealed) else {
                    report.current += 1
                    continue
                }
                guard let secret = try? box.open(row.sealed) else {
                    report.unreadable += 1
                    continue
                }
                var update = PostgresBindings()
                update.append(ByteBuffer(bytes: box.seal(secret)))
                update.append(row.key)
                update.append(ByteBuffer(bytes: row.sealed))
                let statement = PostgresQuery(
                    unsafeSQL: """
                        UPDATE \(column.table) SET \(column.sealed) = $1 WHERE \(column.key) = $2::\(column.keyType) AND \(column.sealed) = $3
                        RETURNING 1
                        """, binds: update)
                if try await rowCount(statement) == 1 { report.resealed += 1 } else { report.changedMeanwhile += 1 }
            }
            guard rows.count == batch, let last = rows.last else { return report }
            after = last.key
        }
    }
}
