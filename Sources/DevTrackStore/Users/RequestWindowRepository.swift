import Foundation
import PostgresNIO

/// Requests counted per client address and fixed window (`request_windows`), summed over every api process: the
/// shared half of the public routes' rate limit.
public struct RequestWindowRepository: Repository {
    let database: Database

    public init(_ database: Database) { self.database = database }
}

extension RequestWindowRepository {
    /// Adds this process's new requests to each window and returns every window's total across processes.
    public func add(_ counts: [(bucket: String, windowStart: Date, requests: Int)]) async throws -> [String: Int] {
        guard !counts.isEmpty else { return [:] }
        let rows = try await client.query(
            """
            INSERT INTO request_windows AS w (bucket, window_start, requests)
            SELECT * FROM unnest(\(counts.map(\.bucket)), \(counts.map(\.windowStart)), \(counts.map { Int32(clamping: $0.requests) }))
            ORDER BY 1, 2
            ON CONFLICT (bucket, window_start) DO UPDATE SET requests = least(w.requests::bigint + EXCLUDED.requests, 2147483647)::int
            RETURNING bucket, requests
            """, logger: logger)
        var totals: [String: Int] = [:]
        for try await (bucket, requests) in rows.decode((String, Int32).self) { totals[bucket] = Int(requests) }
        return totals
    }

    /// What every process has counted in `bucket` so far (0 when none has).
    public func total(bucket: String) async throws -> Int {
        let rows = try await client.query("SELECT requests FROM request_windows WHERE bucket = \(bucket)", logger: logger)
        for try await requests in rows.decode(Int32.self) { return Int(requests) }
        return 0
    }

    /// Forgets windows that ended before `date`.
    public func deleteWindows(before date: Date) async throws {
        try await client.query("DELETE FROM request_windows WHERE window_start < \(date)", logger: logger)
    }
}
