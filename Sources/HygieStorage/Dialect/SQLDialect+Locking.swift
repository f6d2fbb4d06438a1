import SQLKit

extension SQLDialectKind {
    /// Row lock for a read-then-write inside a transaction. PostgreSQL needs `FOR UPDATE`; SQLite runs one
    /// writer on one connection, so a transaction already excludes every other writer.
    public var forUpdate: String {
        switch self {
        case .postgres: " FOR UPDATE"
        case .sqlite: ""
        }
    }

    /// Row lock that lets concurrent claimers pass over locked rows (job queue). SQLite: see ``forUpdate``.
    public var forUpdateSkipLocked: String {
        switch self {
        case .postgres: " FOR UPDATE SKIP LOCKED"
        case .sqlite: ""
        }
    }
}
