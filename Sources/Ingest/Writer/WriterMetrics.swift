import CoreMetrics

/// The batch writer's metrics: how many items each commit carried, how long commits take,
/// and store failures.
struct WriterMetrics: Sendable {
    static let batchItems = "sightline_writer_batch_items"
    static let commitDuration = "sightline_writer_commit_duration_seconds"
    static let storeErrors = "sightline_store_errors_total"

    let batchItems: Recorder
    let commitDuration: CoreMetrics.Timer
    let storeWriteErrors: Counter

    init(factory: any MetricsFactory) {
        batchItems = Recorder(label: Self.batchItems, dimensions: [], aggregate: true, factory: factory)
        commitDuration = CoreMetrics.Timer(label: Self.commitDuration, dimensions: [], factory: factory)
        storeWriteErrors = Counter(label: Self.storeErrors, dimensions: [("operation", "write")], factory: factory)
    }

    /// One commit attempt: its items and time, and whether the store failed it.
    func committed(items: Int, since start: ContinuousClock.Instant, failed: Bool) {
        let elapsed = ContinuousClock.now - start
        let (seconds, attoseconds) = elapsed.components
        commitDuration.recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        batchItems.record(items)
        if failed { storeWriteErrors.increment() }
    }
}
