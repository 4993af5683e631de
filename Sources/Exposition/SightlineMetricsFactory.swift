import CoreMetrics
import Prometheus

/// A swift-metrics `MetricsFactory` over a swift-prometheus registry that gives each family
/// its `# HELP` text and buckets (`PrometheusMetricsFactory` leaves help empty, and
/// `promtool check metrics` asks for it).
///
/// Components receive it as `any MetricsFactory` and use the plain swift-metrics API
/// (`Counter(label:dimensions:factory:)`, `Timer`, `Recorder`, `Meter`); the label is the
/// Prometheus family name. `Timer`s become histograms in seconds, aggregating `Recorder`s
/// value histograms, `Meter`s and non-aggregating `Recorder`s gauges.
public struct SightlineMetricsFactory: MetricsFactory {
    /// What a family is: its help text and, for histograms, its buckets.
    public struct Family: Sendable {
        public var help: String
        public var buckets: [Double]

        public init(help: String, buckets: [Double] = []) {
            self.help = help
            self.buckets = buckets
        }
    }

    public let registry: PrometheusCollectorRegistry
    let families: [String: Family]

    /// Seconds: 5 ms … 10 s, Prometheus' client default.
    static let secondsBuckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    public init(registry: PrometheusCollectorRegistry, families: [String: Family]) {
        self.registry = registry
        self.families = families
    }

    private func help(_ label: String) -> String {
        families[label]?.help ?? "Sightline metric \(label)."
    }

    public func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        registry.makeCounter(name: label, labels: dimensions, help: help(label))
    }

    public func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        registry.makeCounter(name: label, labels: dimensions, help: help(label))
    }

    public func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        guard aggregate else { return registry.makeGauge(name: label, labels: dimensions, help: help(label)) }
        let buckets = families[label]?.buckets ?? []
        return registry.makeValueHistogram(name: label, labels: dimensions,
                                           buckets: buckets.isEmpty ? Self.secondsBuckets : buckets, help: help(label))
    }

    public func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        registry.makeGauge(name: label, labels: dimensions, help: help(label))
    }

    public func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        let seconds = families[label]?.buckets ?? []
        let buckets = (seconds.isEmpty ? Self.secondsBuckets : seconds).map { Duration.nanoseconds(Int64(($0 * 1e9).rounded())) }
        return registry.makeDurationHistogram(name: label, labels: dimensions, buckets: buckets, help: help(label))
    }

    // Sightline's series live as long as the process.
    public func destroyCounter(_ handler: any CounterHandler) {}
    public func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {}
    public func destroyRecorder(_ handler: any RecorderHandler) {}
    public func destroyMeter(_ handler: any MeterHandler) {}
    public func destroyTimer(_ handler: any TimerHandler) {}
}
