/// The reads of one store, for the query implementations that build their statements with
/// `SQLBuilder`: the dialect to write, and the store's `read`, failing with `StoreError` only.
struct DialectReader: Sendable {
    let dialect: SQLDialect
    let read: @Sendable (ReadQuery) async throws -> [ResultRow]

    init(dialect: SQLDialect, read: @escaping @Sendable (ReadQuery) async throws -> [ResultRow]) {
        self.dialect = dialect
        self.read = read
    }

    /// A builder for this store's dialect.
    func builder() -> SQLBuilder { SQLBuilder(dialect) }

    func rows(_ query: ReadQuery) async throws(StoreError) -> [ResultRow] {
        do {
            return try await read(query)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(operation: "read", reason: "\(error)")
        }
    }
}
