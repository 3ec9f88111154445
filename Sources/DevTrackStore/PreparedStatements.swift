import PostgresNIO

/// A statement the pipeline runs for every batch, prepared once per connection (postgres-nio keeps them per
/// connection) so PostgreSQL parses it once rather than on every batch; it is still planned for its actual
/// arguments each time (`plan_cache_mode`, `DatabaseURL`). Rows come back undecoded, for the caller's `decode`.
protocol PreparedBatchStatement: PostgresPreparedStatement where Row == PostgresRow {
    var bindings: PostgresBindings { get }
}

extension PreparedBatchStatement {
    func makeBindings() throws -> PostgresBindings { bindings }
    func decodeRow(_ row: PostgresRow) throws -> PostgresRow { row }
}
