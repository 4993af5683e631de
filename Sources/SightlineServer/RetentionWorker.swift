import Exposition
import Foundation
import Logging
import ServiceLifecycle
import Store

/// Deletes what is older than its retention period (`RetentionPolicy`): at start-up, then
/// every `interval` give or take `jitter`. Each signal is deleted a slice at a time (at most
/// `sliceLimit` traces or rows, one short transaction each) with `pause` between slices, so
/// commits take turns with it and ingest latency does not spike; on SQLite each slice is
/// followed by an incremental vacuum step. With several Sightlines on one PostgreSQL only the
/// holder of retention's lock deletes (`RetentionQueries.acquireLeadership`). Reports in
/// `/metrics` (`RetentionMetrics`) and the log (docs/retention.md).
public struct RetentionWorker: Service {
    public struct Configuration: Sendable {
        public var interval: Duration = .seconds(300)
        /// The largest share of `interval` a wait is made longer or shorter by, so replicas
        /// started together do not run in step.
        public var jitter = 0.2
        public var sliceLimit = 500
        public var pause: Duration = .milliseconds(20)
        /// Free pages given back to the file system after each slice (SQLite).
        public var vacuumPages = 2_000

        public init() {}
    }

    /// What one run did.
    public struct Report: Sendable, Equatable {
        /// Whether this process led (only the leader deletes).
        public var led: Bool
        public var deleted = DeletedRows()
    }

    let retention: any RetentionQueries
    let policy: RetentionPolicy
    let metrics: RetentionMetrics
    let configuration: Configuration
    let logger: Logger
    let now: @Sendable () -> Date

    public init(retention: any RetentionQueries, policy: RetentionPolicy, metrics: RetentionMetrics,
                configuration: Configuration = Configuration(), logger: Logger, now: @escaping @Sendable () -> Date = Date.init) {
        self.retention = retention
        self.policy = policy
        self.metrics = metrics
        self.configuration = configuration
        self.logger = logger
        self.now = now
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            _ = await runOnce()
            let wait = Self.wait(interval: configuration.interval, jitter: configuration.jitter, random: Double.random(in: -1...1))
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) }
        }
        await retention.releaseLeadership()
    }

    /// `interval` moved by `random` (from -1 to 1) times `jitter` of it.
    static func wait(interval: Duration, jitter: Double, random: Double) -> Duration {
        interval * (1 + max(-1, min(1, random)) * max(0, min(jitter, 0.9)))
    }

    /// One run: the size and oldest times always; deletion only as leader.
    @discardableResult
    public func runOnce() async -> Report {
        var report = Report(led: await retention.acquireLeadership())
        if report.led {
            let started = ContinuousClock.now
            for (signal, cutoff) in policy.cutoffs(nowUnixNano: now().unixNano) where !Task.isShuttingDownGracefully {
                report.deleted.add(await delete(signal, before: cutoff))
            }
            metrics.ran(at: now().timeIntervalSince1970)
            if !report.deleted.isEmpty {
                logger.info("retention deleted expired data", metadata: [
                    "retention.deleted": "\(report.deleted.total)",
                    "retention.tables": "\(report.deleted.byTable.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","))",
                    "retention.duration": "\(ContinuousClock.now - started)",
                ])
            }
        }
        await observe()
        return report
    }

    /// Slices of `signal` until one finds nothing (or shutdown, or a failure, logged).
    private func delete(_ signal: RetentionSignal, before cutoff: Int64) async -> DeletedRows {
        var deleted = DeletedRows()
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let slice = try await retention.deleteExpired(signal, before: cutoff, limit: configuration.sliceLimit)
                guard !slice.isEmpty else { break }
                deleted.add(slice)
                metrics.deleted(slice.byTable)
                try await retention.reclaimSpace(pages: configuration.vacuumPages)
            } catch {
                logger.warning("retention could not delete", metadata: ["retention.signal": "\(signal.rawValue)", "error": "\(Self.reason(error))"])
                break
            }
            try? await Task.sleep(for: configuration.pause)
        }
        return deleted
    }

    /// The oldest time kept per signal and the store's size, into `metrics`.
    private func observe() async {
        var oldest: [String: Double] = [:]
        do {
            for signal in RetentionSignal.allCases {
                if let time = try await retention.oldestRetained(signal) { oldest[signal.rawValue] = Double(time) / 1e9 }
            }
            metrics.setOldest(oldest)
            metrics.setStoreSize(Dictionary(try await retention.storeSize().map { ($0.part, $0.bytes) }, uniquingKeysWith: +))
        } catch {
            logger.warning("retention could not read the store's oldest times or size", metadata: ["error": "\(Self.reason(error))"])
        }
    }

    /// A failure as the log shows it: the store's reason, never a query's parameters.
    static func reason(_ error: any Error) -> String { (error as? StoreError)?.reason ?? "\(error)" }
}

extension Date {
    var unixNano: Int64 { Int64((timeIntervalSince1970 * 1e9).rounded()) }
}
