import Exposition
import Logging
import ServiceLifecycle
import Store
import Synchronization
import Testing

/// The start-up rebuild in front of the writer.
@Suite struct MetricsRebuildTests {
    /// A read stopped at the store's time limit would only be stopped again: the rebuild gives
    /// up after one attempt (not twenty, each as long as the limit) and the writer starts.
    @Test func aRebuildStoppedAtTheTimeLimitIsNotRetried() async throws {
        let store = TimeLimitedStore()
        let writer = RecordingService()
        let metrics = SightlineMetrics()
        let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        try await RebuildThenRun(MetricsRebuild(metrics: metrics, store: store, logger: logger), then: writer).run()
        #expect(store.reads.withLock { $0 } == 1)
        #expect(writer.ran.withLock { $0 })
    }
}

/// A store whose every read runs past its time limit.
final class TimeLimitedStore: TelemetryStore, SpanMetricsSource {
    let reads = Mutex(0)

    func migrate() async throws -> [String] { [] }
    func write(_ batch: WriteBatch) async throws {}
    func commit(_ batch: WriteBatch) async throws -> WriteBatch { batch }
    func ping() async throws {}
    func close() async throws {}

    var queries: StoreQueries {
        var queries = StoreQueries.unsupported
        queries.spanMetrics = self
        return queries
    }

    func spanTotals(bucketBoundsNanos: [Int64]) async throws(StoreError) -> [SpanTotalsRow] { try stopped() }
    func llmTotals() async throws(StoreError) -> [LLMTotalsRow] { try stopped() }

    private func stopped<T>() throws(StoreError) -> T {
        reads.withLock { $0 += 1 }
        throw StoreError(operation: "read", reason: "stopped", kind: .timeLimitExceeded(.seconds(1)))
    }
}

/// A service that records that it ran, and returns.
final class RecordingService: Service {
    let ran = Mutex(false)

    func run() async throws { ran.withLock { $0 = true } }
}
