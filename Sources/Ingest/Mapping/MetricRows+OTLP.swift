import OTLP
import Store

extension ExportMetricsServiceRequest {
    /// The rows this request writes: one series row per series seen, one point row per data
    /// point, and the host readings (`SystemMetricRow`) derived from host and process
    /// metrics.
    public func writeBatch() -> WriteBatch {
        var batch = WriteBatch()
        batch.metricPoints.reserveCapacity(dataPointCount)
        for resourceMetrics in resourceMetrics {
            let resource = MetricIdentity.flatJSON(resourceMetrics.resource.attributes)
            let serviceName = AttributeSources.serviceName(of: resourceMetrics.resource)
            for scopeMetrics in resourceMetrics.scopeMetrics {
                for metric in scopeMetrics.metrics {
                    MetricIdentity(metric: metric, resource: resource, scope: scopeMetrics.scope.name, serviceName: serviceName)
                        .append(to: &batch)
                }
            }
        }
        return batch
    }
}

/// What makes a series one: the metric's name, unit, type and temporality, the resource,
/// the scope and the point's attributes. The series id is a 64-bit FNV-1a hash of these,
/// in hex.
struct MetricIdentity {
    let metric: Metric
    let resource: String
    let scope: String
    let serviceName: String
    let type: String
    let temporality: String
    let monotonic: Bool

    init(metric: Metric, resource: String, scope: String, serviceName: String) {
        self.metric = metric
        self.resource = resource
        self.scope = scope
        self.serviceName = serviceName
        switch metric.data {
        case .gauge: (type, temporality, monotonic) = ("gauge", "", false)
        case .sum(let sum): (type, temporality, monotonic) = ("sum", Self.name(sum.aggregationTemporality), sum.isMonotonic)
        case .histogram(let histogram): (type, temporality, monotonic) = ("histogram", Self.name(histogram.aggregationTemporality), false)
        case .exponentialHistogram(let histogram):
            (type, temporality, monotonic) = ("exponential_histogram", Self.name(histogram.aggregationTemporality), false)
        case .summary: (type, temporality, monotonic) = ("summary", "", false)
        }
    }

    static func name(_ temporality: AggregationTemporality) -> String {
        switch temporality {
        case .delta: "delta"
        case .cumulative: "cumulative"
        default: ""
        }
    }

    /// Attributes as a flat JSON object with sorted keys, so their order does not make a new series.
    static func flatJSON(_ attributes: [KeyValue]) -> String {
        var writer = JSONWriter()
        writer.flat(attributes.sorted { $0.key < $1.key })
        return writer.text
    }

    func seriesID(attributes: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for part in [metric.name, metric.unit, type, temporality, monotonic ? "1" : "0", resource, scope, attributes] {
            for byte in part.utf8 {
                hash ^= UInt64(byte)
                hash = hash &* 0x0000_0100_0000_01B3
            }
            hash ^= 0xFF
            hash = hash &* 0x0000_0100_0000_01B3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// The rows of the metric's data points: a series row per point and the point's row.
    func append(to batch: inout WriteBatch) {
        switch metric.data {
        case .gauge(let points):
            appendNumbers(points, to: &batch)
        case .sum(let sum):
            appendNumbers(sum.dataPoints, to: &batch)
        case .histogram(let histogram):
            for point in histogram.dataPoints {
                let id = series(point.attributes, point.timeUnixNano, &batch)
                var buckets = JSONWriter()
                buckets.beginObject()
                buckets.key("bounds"); buckets.beginArray(); point.explicitBounds.forEach { buckets.double($0) }; buckets.endArray()
                buckets.key("counts"); buckets.beginArray(); point.bucketCounts.forEach { buckets.uint($0) }; buckets.endArray()
                buckets.endObject()
                batch.metricPoints.append(MetricPointRow(
                    seriesID: id, timeUnixNano: Int64(clamping: point.timeUnixNano), startTimeUnixNano: Int64(clamping: point.startTimeUnixNano),
                    count: Int64(clamping: point.count), sum: point.sum, min: point.min, max: point.max, buckets: buckets.text,
                    exemplars: Self.exemplars(point.exemplars), flags: Int64(point.flags)))
            }
        case .exponentialHistogram(let histogram):
            for point in histogram.dataPoints {
                let id = series(point.attributes, point.timeUnixNano, &batch)
                var buckets = JSONWriter()
                buckets.beginObject()
                buckets.key("scale"); buckets.int(Int64(point.scale))
                buckets.key("zeroCount"); buckets.uint(point.zeroCount)
                buckets.key("zeroThreshold"); buckets.double(point.zeroThreshold)
                for (name, side) in [("positive", point.positive), ("negative", point.negative)] {
                    buckets.key(name)
                    buckets.beginObject()
                    buckets.key("offset"); buckets.int(Int64(side.offset))
                    buckets.key("counts"); buckets.beginArray(); side.bucketCounts.forEach { buckets.uint($0) }; buckets.endArray()
                    buckets.endObject()
                }
                buckets.endObject()
                batch.metricPoints.append(MetricPointRow(
                    seriesID: id, timeUnixNano: Int64(clamping: point.timeUnixNano), startTimeUnixNano: Int64(clamping: point.startTimeUnixNano),
                    count: Int64(clamping: point.count), sum: point.sum, min: point.min, max: point.max, buckets: buckets.text,
                    exemplars: Self.exemplars(point.exemplars), flags: Int64(point.flags)))
            }
        case .summary(let points):
            for point in points {
                let id = series(point.attributes, point.timeUnixNano, &batch)
                var buckets = JSONWriter()
                buckets.beginObject()
                buckets.key("quantiles")
                buckets.beginArray()
                for quantile in point.quantileValues {
                    buckets.beginObject()
                    buckets.key("quantile"); buckets.double(quantile.quantile)
                    buckets.key("value"); buckets.double(quantile.value)
                    buckets.endObject()
                }
                buckets.endArray()
                buckets.endObject()
                batch.metricPoints.append(MetricPointRow(
                    seriesID: id, timeUnixNano: Int64(clamping: point.timeUnixNano), startTimeUnixNano: Int64(clamping: point.startTimeUnixNano),
                    count: Int64(clamping: point.count), sum: point.sum, buckets: buckets.text, flags: Int64(point.flags)))
            }
        }
    }

    private func appendNumbers(_ points: [NumberDataPoint], to batch: inout WriteBatch) {
        for point in points {
            let id = series(point.attributes, point.timeUnixNano, &batch)
            batch.metricPoints.append(MetricPointRow(
                seriesID: id, timeUnixNano: Int64(clamping: point.timeUnixNano), startTimeUnixNano: Int64(clamping: point.startTimeUnixNano),
                value: point.value?.doubleValue, exemplars: Self.exemplars(point.exemplars), flags: Int64(point.flags)))
            if let value = point.value?.doubleValue, let reading = SystemReading(metric: metric, attributes: point.attributes, value: value) {
                batch.systemMetrics.append(reading.row(at: Int64(clamping: point.timeUnixNano), serviceName: serviceName, attributes: point.attributes))
            }
        }
    }

    /// The series row of a point with `attributes` (added to the batch) and its id.
    private func series(_ attributes: [KeyValue], _ time: UInt64, _ batch: inout WriteBatch) -> String {
        let json = Self.flatJSON(attributes)
        let id = seriesID(attributes: json)
        batch.metricSeries.append(MetricSeriesRow(
            seriesID: id, name: metric.name, description: metric.description, unit: metric.unit, type: type,
            temporality: temporality, monotonic: monotonic, serviceName: serviceName, resource: resource, scope: scope,
            attributes: json, lastSeenUnixNano: Int64(time)))
        return id
    }

    /// `[{"time":…,"value":…,"traceId":…,"spanId":…,"attributes":{…}}]`, or `nil` when none.
    static func exemplars(_ exemplars: [Exemplar]) -> String? {
        guard !exemplars.isEmpty else { return nil }
        var writer = JSONWriter()
        writer.beginArray()
        for exemplar in exemplars {
            writer.beginObject()
            writer.key("timeUnixNano"); writer.string(String(exemplar.timeUnixNano))
            if let value = exemplar.value { writer.key("value"); writer.double(value.doubleValue) }
            if let trace = exemplar.traceId { writer.key("traceId"); writer.string(trace.hex) }
            if let span = exemplar.spanId { writer.key("spanId"); writer.string(span.hex) }
            if !exemplar.filteredAttributes.isEmpty { writer.key("attributes"); writer.flat(exemplar.filteredAttributes) }
            writer.endObject()
        }
        writer.endArray()
        return writer.text
    }
}

/// A host or process metric point as a host reading (`SystemMetricRow`, docs/metrics.md): the OTel semantic
/// conventions' names (`system.memory.utilization` with `system.memory.state` "used", …) mapped
/// onto the table's `metric_type`/`metric_name`, ratios turned into percentages.
struct SystemReading {
    var type: String
    var name: String
    var value: Double
    var unit: String

    init?(metric: Metric, attributes: [KeyValue], value: Double) {
        let state = (attributes[key: "system.memory.state"] ?? attributes[key: "state"] ?? attributes[key: "system.cpu.state"]
            ?? attributes[key: "cpu.mode"])?.scalarText
        switch metric.name {
        case "system.memory.utilization":
            guard state == nil || state == "used" else { return nil }
            (type, name, self.value, unit) = ("memory", "memory_percent", value * 100, "percent")
        case "system.memory.usage":
            guard state == nil || state == "used" else { return nil }
            (type, name, self.value, unit) = ("memory", "memory_used_bytes", value, "bytes")
        case "system.cpu.utilization":
            guard state != "idle" else { return nil }
            (type, name, self.value, unit) = ("cpu", "cpu_percent", value * 100, "percent")
        case "process.memory.usage", "process.runtime.cpython.memory":
            (type, name, self.value, unit) = ("memory", "process_memory_bytes", value, "bytes")
        case "process.cpu.utilization":
            (type, name, self.value, unit) = ("cpu", "process_cpu_percent", value * 100, "percent")
        case "system.filesystem.utilization":
            (type, name, self.value, unit) = ("disk", "disk_percent", value * 100, "percent")
        case "system.network.connections":
            (type, name, self.value, unit) = ("connections", "network_connections", value, "count")
        default:
            return nil
        }
        guard self.value.isFinite else { return nil }
    }

    func row(at time: Int64, serviceName: String, attributes: [KeyValue]) -> SystemMetricRow {
        var tags = JSONWriter()
        tags.flat([KeyValue(key: "service.name", value: .string(serviceName))] + attributes)
        return SystemMetricRow(timestampUnixNano: time, metricType: type, metricName: name, value: value, unit: unit, tags: tags.text)
    }
}
