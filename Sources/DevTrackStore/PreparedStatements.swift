import PostgresNIO

/// A statement the notification pipeline runs for every batch, prepared once per connection (postgres-nio
/// keeps them per connection) so PostgreSQL parses and plans it once rather than on every batch: parsing
/// and planning these CTEs took about a tenth of the hub's CPU at 1,500 deliveries/s. Rows come back
/// undecoded, for the caller's `decode`.
protocol PreparedBatchStatement: PostgresPreparedStatement where Row == PostgresRow {
    var bindings: PostgresBindings { get }
}

extension PreparedBatchStatement {
    func makeBindings() throws -> PostgresBindings { bindings }
    func decodeRow(_ row: PostgresRow) throws -> PostgresRow { row }
}
