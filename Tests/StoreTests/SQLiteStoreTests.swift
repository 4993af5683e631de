import Foundation
import Store
import StoreTestSupport
import Testing

/// What only the SQLite store does: its file's page size and the background checkpoint.
@Suite struct SQLiteStoreTests {
    /// A new file has 16 KiB pages (a span row is about 2.3 KB: at 4 KiB pages one fits per page).
    @Test func newFilesUseSixteenKiBPages() async throws {
        try await withTestStore(.sqlite) { _, database in
            let rows = try await database.rows("PRAGMA enterprise.page_size")
            #expect(rows.first?.int("page_size") == 16_384)
        }
    }

    /// `close()` called from a cancelled task (a test past its deadline, a server cancelled while
    /// shutting down) still closes every connection: sqlite-nio's async close gives up on a
    /// cancelled task, and a connection deinitialised open stops a debug build.
    @Test func closingFromACancelledTaskClosesEverything() async throws {
        let database = try await TestDatabase.create(.sqlite)
        let store = try await database.openStore()
        try await store.migrate()
        let closing = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await store.close()
        }
        if case .failure(let error) = await closing.result {
            Issue.record("close() from a cancelled task failed: \(error)")
            try? await store.close()  // not cancelled: what the failed close left open
        }
        await database.drop()
    }

    /// Commits reach the database file without the writer checkpointing: the writer's own
    /// automatic checkpoint starts at 64 MiB of log, far above this test's few megabytes, so
    /// only the background checkpointer can have copied them.
    @Test func theCheckpointerCopiesCommitsIntoTheFile() async throws {
        try await withTestStore(.sqlite) { store, database in
            let fileSize = { ((try? FileManager.default.attributesOfItem(atPath: database.path))?[.size] as? Int) ?? 0 }
            let before = fileSize()
            var batch = WriteBatch()
            let padding = String(repeating: "x", count: 1_500)
            for index in 0..<2_000 {
                var pair = span(String(format: "%032x", index / 4 + 1), String(format: "%016x", index + 1),
                                start: Int64(index), end: Int64(index + 10))
                pair.0.attributes = "[{\"key\":\"padding\",\"value\":{\"stringValue\":\"\(padding)\"}}]"
                batch.spans.append(pair.0)
                batch.traces.append(pair.1)
            }
            try await store.write(batch)
            _ = try await eventually(10) { fileSize() >= before + 2_000_000 }
            #expect(fileSize() >= before + 2_000_000, "database file \(before) → \(fileSize()) bytes")
            #expect(try await database.count("trace_spans") == 2_000)
        }
    }
}
