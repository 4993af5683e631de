import Store
import Synchronization

/// The read replica's state in `/metrics` (docs/metrics.md), set at each scrape from the
/// store; no family at all without `--read-storage`.
public final class ReadStorageMetrics: Sendable {
    public enum Name {
        public static let standbyInUse = "sightline_read_storage_standby_in_use"
        public static let replayLag = "sightline_read_storage_replay_lag_seconds"
    }

    private let status = Mutex<ReadStorageStatus?>(nil)

    public init() {}

    public func set(_ status: ReadStorageStatus?) { self.status.withLock { $0 = status } }

    func write(into writer: inout PrometheusTextWriter) {
        guard let status = status.withLock({ $0 }) else { return }
        writer.family(Name.standbyInUse, type: .gauge,
                      help: "1 while query reads go to the read storage (standby), 0 while they go to the primary because it cannot be reached.")
        writer.sample(Name.standbyInUse, value: Int64(status.usingStandby ? 1 : 0))
        if let lag = status.replayLagSeconds {
            writer.family(Name.replayLag, type: .gauge,
                          help: "How far the standby's replay is behind the primary, seconds, as of its last probe (0: everything received is replayed).")
            writer.sample(Name.replayLag, value: lag)
        }
    }
}
