import Foundation
import SQLiteNIO

extension SQLiteStore {
    /// The SQLite implementation (`StoreQueries` collects it).
    var retentionQueries: any RetentionQueries { SQLiteRetentionQueries(store: self) }
}

/// `RetentionQueries` on SQLite: each slice is one transaction of the group-commit writer's
/// connection, so it takes turns with commits instead of contending for the file's write lock.
/// One process owns the file: it always leads.
struct SQLiteRetentionQueries: RetentionQueries {
    let store: SQLiteStore

    private var statements: RetentionStatements { RetentionStatements(dialect: .sqlite) }

    func acquireLeadership() async -> Bool { true }
    func releaseLeadership() async {}

    func deleteExpired(_ signal: RetentionSignal, before cutoffUnixNano: Int64, limit: Int) async throws(StoreError) -> DeletedRows {
        let slice = statements.slice(signal, before: cutoffUnixNano, limit: limit)
        do {
            return try await store.writer.transaction { session in
                func run(_ steps: [RetentionStatements.Step]) throws -> DeletedRows {
                    var deleted: [String: Int] = [:]
                    for step in steps {
                        deleted[step.table, default: 0] += try session.run(step.query.sql, step.query.binds.map { SQLiteData($0) })
                    }
                    return DeletedRows(deleted)
                }
                let main = try run(slice.main)
                return main.isEmpty ? try run(slice.then) : main
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(operation: "delete", reason: "\(error)")
        }
    }

    func oldestRetained(_ signal: RetentionSignal) async throws(StoreError) -> Int64? {
        try RetentionStatements.oldestTime(try await StoreReads(store).rows(statements.oldest(signal)))
    }

    /// The database file and its write-ahead log.
    func storeSize() async throws(StoreError) -> [StorePartSize] {
        func size(_ path: String) -> Int64 {
            ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.int64Value ?? 0
        }
        return [StorePartSize(part: "database", bytes: size(store.path)), StorePartSize(part: "wal", bytes: size(store.path + "-wal"))]
    }

    /// `PRAGMA incremental_vacuum`: a no-op unless the file is in incremental auto-vacuum
    /// (new files are: `SQLiteStore.connectionPragmas`; docs/retention.md for older ones).
    func reclaimSpace(pages: Int) async throws(StoreError) {
        do {
            try await store.writer.transaction { session in
                try session.execute("PRAGMA enterprise.incremental_vacuum(\(max(pages, 1)))")
            }
            // The file shrinks once the log is copied back into it.
            store.checkpointer.committed()
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(operation: "vacuum", reason: "\(error)")
        }
    }
}
