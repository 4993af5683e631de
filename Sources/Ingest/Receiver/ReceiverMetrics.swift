import CoreMetrics
import OTLP

/// The receiver's counters, named like the OpenTelemetry Collector's own so stock collector
/// dashboards work: `otelcol_receiver_{accepted,refused}_{spans,log_records,metric_points}_total`
/// with `receiver="otlp"`, the `transport` (`http`, `grpc`) and the request's `encoding` (`json`,
/// `protobuf`; always `protobuf` over gRPC).
///
/// Accepted: items committed to the store. Refused: items of a well-formed request that were
/// not (rejected one by one, or the whole request refused with 503 while the queue was full or
/// the store down). A body that is not OTLP at all has no countable items.
struct ReceiverMetrics: Sendable {
    static let acceptedSpans = "otelcol_receiver_accepted_spans_total"
    static let refusedSpans = "otelcol_receiver_refused_spans_total"
    static let acceptedLogRecords = "otelcol_receiver_accepted_log_records_total"
    static let refusedLogRecords = "otelcol_receiver_refused_log_records_total"
    static let acceptedMetricPoints = "otelcol_receiver_accepted_metric_points_total"
    static let refusedMetricPoints = "otelcol_receiver_refused_metric_points_total"

    private let counters: [Key: Counter]

    enum Transport: String, Sendable {
        case http, grpc
    }

    private struct Key: Hashable {
        var signal: OTLPReceiver.Signal
        var encoding: OTLPEncoding
        var transport: Transport
        var accepted: Bool
    }

    init(factory: any MetricsFactory) {
        var counters: [Key: Counter] = [:]
        for signal in [OTLPReceiver.Signal.traces, .logs, .metrics] {
            for (transport, encoding) in [(Transport.http, OTLPEncoding.json), (.http, .protobuf), (.grpc, .protobuf)] {
                let dimensions = [("receiver", "otlp"), ("transport", transport.rawValue), ("encoding", encoding.rawValue)]
                let (accepted, refused) = switch signal {
                case .traces: (Self.acceptedSpans, Self.refusedSpans)
                case .logs: (Self.acceptedLogRecords, Self.refusedLogRecords)
                case .metrics: (Self.acceptedMetricPoints, Self.refusedMetricPoints)
                }
                counters[Key(signal: signal, encoding: encoding, transport: transport, accepted: true)] = Counter(
                    label: accepted, dimensions: dimensions, factory: factory)
                counters[Key(signal: signal, encoding: encoding, transport: transport, accepted: false)] = Counter(
                    label: refused, dimensions: dimensions, factory: factory)
            }
        }
        self.counters = counters
    }

    func record(_ signal: OTLPReceiver.Signal, _ encoding: OTLPEncoding, _ transport: Transport, accepted: Int, refused: Int) {
        if accepted > 0 { counters[Key(signal: signal, encoding: encoding, transport: transport, accepted: true)]?.increment(by: Int64(accepted)) }
        if refused > 0 { counters[Key(signal: signal, encoding: encoding, transport: transport, accepted: false)]?.increment(by: Int64(refused)) }
    }
}
