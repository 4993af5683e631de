import Foundation
import Logging
import PostgresNIO
import Synchronization

/// One alert evaluator per PostgreSQL database: a session-level advisory lock on a connection
/// of its own. The lock goes with the session, so when the holder stops (or its connection
/// dies) another Sightline takes it at its next try. Followers keep their connection and retry
/// the lock on it (no connection per try).
final class PostgresEvaluatorLock: Sendable {
    /// The advisory lock key ("SighAlrt").
    static let lockKey: Int64 = 0x5369_6768_416c_7274

    private struct State {
        var connection: PostgresConnection?
        var holding = false
    }

    private let configuration: PostgresStore.Configuration
    private let logger: Logger
    private let state = Mutex(State())

    init(configuration: PostgresStore.Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Whether this process holds the lock now (taking it when free).
    func acquire() async -> Bool {
        let (existing, holding) = state.withLock { ($0.connection, $0.holding) }
        var connection = existing
        if let current = connection, current.isClosed {
            state.withLock { $0 = State() }
            connection = nil
            if holding { logger.warning("alert evaluator lost its lock connection") }
        }
        do {
            if connection == nil {
                // A short connect limit: this runs on the evaluator's tick, which shutdown waits for.
                var connectionConfiguration = configuration.connectionConfiguration
                connectionConfiguration.options.connectTimeout = .seconds(2)
                let opened = try await PostgresConnection.connect(configuration: connectionConfiguration, id: 2, logger: logger)
                state.withLock { $0 = State(connection: opened, holding: false) }
                connection = opened
            }
            guard let connection else { return false }
            if state.withLock({ $0.holding }) {
                // Still ours while the session lives: check that it does.
                _ = try await withTimeLimit(.seconds(2)) { try await connection.query("SELECT 1", logger: self.logger) }
                return true
            }
            var locked = false
            let rows = try await withTimeLimit(.seconds(2)) {
                try await connection.query("SELECT pg_try_advisory_lock(\(Self.lockKey)) AS locked", logger: self.logger)
            }
            for try await value in rows.decode(Bool.self) { locked = value }
            state.withLock { $0.holding = locked }
            return locked
        } catch {
            logger.warning("cannot check the alert evaluator lock", metadata: ["error": "\(error)"])
            let dropped = state.withLock { current -> PostgresConnection? in
                defer { current = State() }
                return current.connection
            }
            try? await dropped?.close()
            return false
        }
    }

    /// Gives the lock up and closes its connection.
    func release() async {
        let (held, holding) = state.withLock { current -> (PostgresConnection?, Bool) in
            defer { current = State() }
            return (current.connection, current.holding)
        }
        guard let held else { return }
        if holding { _ = try? await held.query("SELECT pg_advisory_unlock(\(Self.lockKey))", logger: logger) }
        try? await held.close()
    }
}
