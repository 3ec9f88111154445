import DevTrackCore
import PostgresNIO

/// Which PostgreSQL failures go away by themselves. Server errors are told by their SQLSTATE class: the
/// connection (08), resources (53: too many connections, out of memory, disk full), operator intervention
/// (57: admin or crash shutdown, cannot connect now, statement cancelled), system errors (58) and rolled-back
/// transactions (40: serialization failure, deadlock) pass; data exceptions (22), integrity constraints (23),
/// program limits (54), syntax or access rules (42) and the rest are about the statement and its values.
/// Client-side failures (connection lost or refused, pool closing) are transient; a row that does not decode
/// into its Swift type is permanent.
public enum StoreFailures {
    static let transientClasses: Set<Substring> = ["08", "53", "57", "58", "40"]
    /// `lock_not_available`, `idle_in_transaction_session_timeout`.
    static let transientStates: Set<String> = ["55P03", "25P03"]

    /// The class of a PostgreSQL failure; nil for errors that did not come from PostgreSQL or its client.
    public static func classify(_ error: any Error) -> FailureClass? {
        let error = underlying(error)
        if let error = error as? PSQLError {
            guard error.code == .server else {
                return error.code == .tooManyParameters ? .permanent : .transient
            }
            let state = error.serverInfo?[.sqlState] ?? ""
            if transientStates.contains(state) || transientClasses.contains(state.prefix(2)) { return .transient }
            return .permanent
        }
        if error is PostgresDecodingError { return .permanent }
        // The pool's own errors (a request cancelled, the pool shut down, connection attempts failing) are
        // not all public types; each is about the pool, never about the values.
        if String(reflecting: type(of: error)).contains("ConnectionPoolError") { return .transient }
        return nil
    }

    /// The failure inside a transaction's error (what its closure, its BEGIN or its COMMIT threw).
    public static func underlying(_ error: any Error) -> any Error {
        guard let transaction = error as? PostgresTransactionError else { return error }
        return transaction.closureError ?? transaction.beginError ?? transaction.commitError ?? error
    }

    /// A line about the failure fit for a log or a dead letter's reason: PostgreSQL's SQLSTATE, message and
    /// detail, never the statement or its values.
    public static func summary(_ error: any Error) -> String {
        let error = underlying(error)
        guard let error = error as? PSQLError else { return String(describing: error) }
        guard error.code == .server, let info = error.serverInfo else {
            return "PostgreSQL client error \(error.code)" + (error.underlying.map { ": \($0)" } ?? "")
        }
        var text = "PostgreSQL \(info[.sqlState] ?? "?"): \(info[.message] ?? "")"
        if let detail = info[.detail] { text += " (\(detail))" }
        return text
    }
}
