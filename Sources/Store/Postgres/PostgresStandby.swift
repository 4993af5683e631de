import Foundation
import Logging
import PostgresNIO
import Synchronization

/// Where the query reads of a store with a read replica (`--read-storage`) go now, and how far
/// the replica is behind: what `/ready` and `/metrics` report (docs/scaling.md).
public struct ReadStorageStatus: Sendable, Equatable {
    /// True while reads go to the standby; false while they go to the primary because the
    /// standby could not be reached (they go back once its probe answers again).
    public var usingStandby: Bool
    /// Seconds the standby's replay is behind the primary, as of its last probe: 0 when it has
    /// replayed everything it received, else the age of the last transaction it replayed.
    /// Nil before the first answered probe, or while the standby is unreachable.
    public var replayLagSeconds: Double?

    public init(usingStandby: Bool, replayLagSeconds: Double?) {
        self.usingStandby = usingStandby
        self.replayLagSeconds = replayLagSeconds
    }
}

/// Whether reads go to the standby: the decisions only (`PostgresStandby` does the I/O).
///
/// A read that cannot reach the standby, or a probe that gets no answer, sends reads to the
/// primary; only a probe the standby answers sends them back, so while it is down no read
/// waits for it.
struct StandbyHealth: Sendable, Equatable {
    private(set) var up = true
    private(set) var replayLagSeconds: Double?

    /// The probe's outcome: the standby answered (with its replay lag, nil if unknown), or not.
    enum Probe: Sendable, Equatable {
        case answered(replayLagSeconds: Double?)
        case unreachable
    }

    mutating func observe(_ probe: Probe) {
        switch probe {
        case .answered(let lag):
            up = true
            replayLagSeconds = lag
        case .unreachable:
            up = false
            replayLagSeconds = nil
        }
    }

    /// A read on the standby failed for want of a connection.
    mutating func readFailedToConnect() {
        up = false
        replayLagSeconds = nil
    }

    var status: ReadStorageStatus { ReadStorageStatus(usingStandby: up, replayLagSeconds: replayLagSeconds) }

    /// Whether a read that failed on the standby with `failure` is run again on the primary,
    /// and whether the standby is then taken as down. A failure the server answered with is the
    /// query's own (a syntax error, the read time limit, a write refused as read-only) and is
    /// the caller's, except the standby's own states: shutting down or starting (class 57 but
    /// `query_canceled`), a connection error (class 08), or a query cancelled by a conflict
    /// with recovery (`40001`, the standby's replay needed the rows), which only the primary
    /// avoids, or a schema the standby has not replayed yet (a table, column, function, schema
    /// or database it does not know: a migration the primary committed a moment ago).
    enum Failure: Sendable, Equatable {
        /// No connection, the connection lost, no answer: `sqlState` nil.
        case unreachable
        /// The server answered with `sqlState`.
        case server(sqlState: String)
    }

    enum Reaction: Sendable, Equatable {
        case fail
        case retryOnPrimary(standbyDown: Bool)
    }

    /// `undefined_table`, `undefined_column`, `undefined_function`, `invalid_schema_name`,
    /// `invalid_catalog_name`.
    static let notReplayedYet: Set<String> = ["42P01", "42703", "42883", "3F000", "3D000"]

    static func reaction(to failure: Failure) -> Reaction {
        switch failure {
        case .unreachable:
            return .retryOnPrimary(standbyDown: true)
        case .server(let state):
            if state == PostgresStore.queryCanceled { return .fail }
            if state.hasPrefix("57") || state.hasPrefix("08") { return .retryOnPrimary(standbyDown: true) }
            if state == "40001" || notReplayedYet.contains(state) { return .retryOnPrimary(standbyDown: false) }
            return .fail
        }
    }
}

/// The read replica of a `PostgresStore` (`Configuration.readStorage`): its own pool, as
/// large as the primary's read pool and with the same read time limit, its own `ReadGate`,
/// and a probe every `probeInterval` that measures the replay lag and brings reads back once
/// the standby answers.
final class PostgresStandby: Sendable {
    let client: PostgresClient
    let gate: ReadGate
    private let health = Mutex(StandbyHealth())
    private let logger: Logger
    /// How long a read waits for a standby connection before it goes to the primary.
    static let connectionWait: Duration = .seconds(2)
    static let probeInterval: Duration = .seconds(1)

    init(configuration: PostgresStore.Configuration, logger: Logger) {
        self.client = PostgresClient(configuration: configuration.readerClientConfiguration, backgroundLogger: logger)
        self.gate = ReadGate(slots: configuration.readerConnections, queueLimit: configuration.readerConnections,
                             maxWait: configuration.readTimeout * 2 + .seconds(1))
        self.logger = logger
    }

    var status: ReadStorageStatus { health.withLock { $0.status } }
    var isUp: Bool { health.withLock { $0.up } }

    func readFailedToConnect(_ reason: String) {
        let wasUp = health.withLock { health in
            let wasUp = health.up
            health.readFailedToConnect()
            return wasUp
        }
        if wasUp {
            logger.warning("read storage unreachable; reading from the primary until it answers",
                           metadata: ["store.reason": "\(reason)"])
        }
    }

    /// The pool and the probe, until cancelled (graceful shutdown).
    func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.client.run() }
            group.addTask { await self.probeLoop() }
        }
    }

    private func probeLoop() async {
        while !Task.isCancelled {
            let probe = await self.probe()
            let (wasUp, isUp) = health.withLock { health in
                let wasUp = health.up
                health.observe(probe)
                return (wasUp, health.up)
            }
            if wasUp != isUp {
                if isUp {
                    logger.notice("read storage answers again; reads go to it")
                } else {
                    logger.warning("read storage unreachable; reading from the primary until it answers")
                }
            }
            do { try await Task.sleep(for: Self.probeInterval) } catch { return }
        }
    }

    /// The replay lag, on a connection of the standby's pool.
    private func probe() async -> StandbyHealth.Probe {
        do {
            return try await withTimeLimit(Self.connectionWait) {
                try await self.client.withConnection { connection in
                    let rows = try await connection.query("""
                        SELECT CASE WHEN NOT pg_is_in_recovery() THEN 0::float8
                                    WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0::float8
                                    ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 END
                        """, logger: self.logger)
                    for try await lag in rows.decode(Double?.self) { return .answered(replayLagSeconds: lag.map { max(0, $0) }) }
                    return .answered(replayLagSeconds: nil)
                }
            }
        } catch {
            return .unreachable
        }
    }
}
