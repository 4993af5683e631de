import PostgresNIO

extension PostgresStore {
    /// Runs one DELETE (built with `SQLBuilder`) on the writer pool within the write time
    /// limit, and returns how many rows it deleted.
    func execute(_ query: ReadQuery) async throws -> Int {
        var bindings = PostgresBindings(capacity: query.binds.count)
        for value in query.binds {
            switch value {
            case .null: bindings.appendNull()
            case .int(let number): bindings.append(number)
            case .double(let number): bindings.append(number)
            case .text(let text): bindings.append(text)
            case .bool(let flag): bindings.append(flag)
            }
        }
        let statement = PostgresQuery(unsafeSQL: "WITH deleted AS (\(query.sql) RETURNING 1) SELECT count(*) FROM deleted", binds: bindings)
        do {
            return try await withTimeLimit(configuration.writeTimeout) {
                try await self.writer.withConnection { connection in
                    var count = 0
                    for try await deleted in try await connection.query(statement, logger: self.logger).decode(Int64.self) {
                        count = Int(deleted)
                    }
                    return count
                }
            }
        } catch {
            throw StoreError(operation: "delete", reason: Self.describe(error))
        }
    }
}
