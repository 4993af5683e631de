import PostgresNIO
import Store

extension TestDatabase {
    /// Runs a statement without results (no parameters; tests use literals) on a connection of
    /// its own, closed before returning: test data that no writer of Sightline's writes.
    public func execute(_ sql: String) async throws {
        switch kind {
        case .sqlite:
            _ = try await rows(sql)
        case .postgres:
            try await TestDatabase.withAdminConnection(storage) { connection in
                try await connection.query(PostgresQuery(unsafeSQL: sql), logger: quietLogger)
            }
        }
    }
}
