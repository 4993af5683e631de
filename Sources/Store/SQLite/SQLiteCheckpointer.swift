import Logging
import SQLiteNIO

/// Copies committed pages from the write-ahead log into the database file on a connection and
/// thread of its own, after each commit, so the writer does not.
///
/// SQLite's automatic checkpoint runs inside the commit that takes the log past its threshold:
/// with group commits of thousands of rows that is every commit, and profiling the SQLite
/// ingest showed a third of the writer thread's time in it. A PASSIVE checkpoint never blocks
/// the writer or readers; it copies what no reader still needs, and the writer starts the log
/// over at its next commit once everything is copied, so the log stays about one commit long.
/// The writer keeps a large automatic checkpoint as a bound for when this one falls behind
/// (`SQLiteStore.writerAutoCheckpointPages`).
final class SQLiteCheckpointer: Sendable {
    private let connection: SQLiteConnection
    private let requests: AsyncStream<Void>.Continuation
    private let loop: Task<Void, Never>

    init(connection: SQLiteConnection, logger: Logger) {
        self.connection = connection
        // Requests made while a checkpoint runs fold into one: the next checkpoint copies
        // every commit made until it starts.
        let (stream, requests) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        self.requests = requests
        self.loop = Task {
            for await _ in stream {
                do {
                    _ = try await connection.query("PRAGMA enterprise.wal_checkpoint(PASSIVE)")
                } catch {
                    logger.warning("WAL checkpoint failed", metadata: ["error": "\(error)"])
                }
            }
        }
    }

    /// Asks for a checkpoint; returns at once.
    func committed() {
        requests.yield()
    }

    /// Finishes the checkpoint in progress, then closes the connection.
    func close() async {
        requests.finish()
        await loop.value
        try? await connection.close().get()  // the future: closes even when the caller is cancelled
    }
}
