import Foundation

// Parsed metric messages into the model, with the rules `Metrics+JSONDecoding.swift` applies:
// an invalid metric is rejected alone (with its data points), its neighbours are kept.

extension ProtobufConverter {
    mutating func metrics(_ message: PBExportMetricsServiceRequest) throws(OTLPDecodingError) -> ExportMetricsServiceRequest {
        try payload("") { () throws(ProtobufFieldError) in try Self.checkWire(message) }
        var request = ExportMetricsServiceRequest()
        request.resourceMetrics.reserveCapacity(message.resourceMetrics.count)
        for (resourceIndex, pbResource) in message.resourceMetrics.enumerated() {
            let resourcePath = "resourceMetrics[\(resourceIndex)]"
            var resourceMetrics = ResourceMetrics(resource: try payload(resourcePath) { () throws(ProtobufFieldError) in
                try Self.checkWire(pbResource)
                return try resource(pbResource.resource)
            }, schemaUrl: pbResource.schemaURL)
            for (scopeIndex, pbScope) in pbResource.scopeMetrics.enumerated() {
                let scopePath = "\(resourcePath).scopeMetrics[\(scopeIndex)]"
                var scopeMetrics = ScopeMetrics(scope: try payload(scopePath) { () throws(ProtobufFieldError) in
                    try Self.checkWire(pbScope)
                    return try scope(pbScope.scope)
                }, schemaUrl: pbScope.schemaURL)
                scopeMetrics.metrics.reserveCapacity(pbScope.metrics.count)
                for (metricIndex, pbMetric) in pbScope.metrics.enumerated() {
                    do throws(ProtobufFieldError) {
                        scopeMetrics.metrics.append(try metric(pbMetric))
                    } catch {
                        try reject(error.under("\(scopePath).metrics[\(metricIndex)]"))
                    }
                }
                resourceMetrics.scopeMetrics.append(scopeMetrics)
            }
            request.resourceMetrics.append(resourceMetrics)
        }
        return request
    }

    func metric(_ pb: PBMetric) throws(ProtobufFieldError) -> Metric {
        try Self.checkWire(pb)
        let data: MetricData
        switch pb.data {
        case .gauge(let gauge):
            data = try at("gauge") { () throws(ProtobufFieldError) in
                try Self.checkWire(gauge)
                return .gauge(try elements("dataPoints", gauge.dataPoints, numberPoint))
            }
        case .sum(let sum):
            data = try at("sum") { () throws(ProtobufFieldError) in
                try Self.checkWire(sum)
                return .sum(Sum(dataPoints: try elements("dataPoints", sum.dataPoints, numberPoint),
                                aggregationTemporality: AggregationTemporality(rawValue: Int32(truncatingIfNeeded: sum.aggregationTemporality.rawValue)),
                                isMonotonic: sum.isMonotonic))
            }
        case .histogram(let histogram):
            data = try at("histogram") { () throws(ProtobufFieldError) in
                try Self.checkWire(histogram)
                return .histogram(Histogram(
                    dataPoints: try elements("dataPoints", histogram.dataPoints, histogramPoint),
                    aggregationTemporality: AggregationTemporality(rawValue: Int32(truncatingIfNeeded: histogram.aggregationTemporality.rawValue))))
            }
        case .exponentialHistogram(let histogram):
            data = try at("exponentialHistogram") { () throws(ProtobufFieldError) in
                try Self.checkWire(histogram)
                return .exponentialHistogram(ExponentialHistogram(
                    dataPoints: try elements("dataPoints", histogram.dataPoints, exponentialPoint),
                    aggregationTemporality: AggregationTemporality(rawValue: Int32(truncatingIfNeeded: histogram.aggregationTemporality.rawValue))))
            }
        case .summary(let summary):
            data = try at("summary") { () throws(ProtobufFieldError) in
                try Self.checkWire(summary)
                return .summary(try elements("dataPoints", summary.dataPoints, summaryPoint))
            }
        case nil:
            throw ProtobufFieldError(path: "", message: "a metric needs one of gauge, sum, histogram, exponentialHistogram or summary")
        }
        let metric = Metric(name: pb.name, description: pb.description_p, unit: pb.unit, data: data,
                            metadata: try at("metadata") { () throws(ProtobufFieldError) in try attributes(pb.metadata) })
        if let problem = MetricRules.problem(in: metric) { throw ProtobufFieldError(path: problem.path, message: problem.message) }
        return metric
    }

    private func numberPoint(_ pb: PBNumberDataPoint) throws(ProtobufFieldError) -> NumberDataPoint {
        try Self.checkWire(pb)
        let value: NumberValue? = switch pb.value {
        case .asDouble(let value): .double(value)
        case .asInt(let value): .int(value)
        case nil: nil
        }
        return NumberDataPoint(
            attributes: try at("attributes") { () throws(ProtobufFieldError) in try attributes(pb.attributes) },
            startTimeUnixNano: pb.startTimeUnixNano, timeUnixNano: pb.timeUnixNano, value: value,
            exemplars: try elements("exemplars", pb.exemplars, exemplar), flags: pb.flags)
    }

    private func histogramPoint(_ pb: PBHistogramDataPoint) throws(ProtobufFieldError) -> HistogramDataPoint {
        try Self.checkWire(pb)
        return HistogramDataPoint(
            attributes: try at("attributes") { () throws(ProtobufFieldError) in try attributes(pb.attributes) },
            startTimeUnixNano: pb.startTimeUnixNano, timeUnixNano: pb.timeUnixNano, count: pb.count,
            sum: pb.hasSum ? pb.sum : nil, bucketCounts: pb.bucketCounts, explicitBounds: pb.explicitBounds,
            exemplars: try elements("exemplars", pb.exemplars, exemplar), flags: pb.flags,
            min: pb.hasMin ? pb.min : nil, max: pb.hasMax ? pb.max : nil)
    }

    private func exponentialPoint(_ pb: PBExponentialHistogramDataPoint) throws(ProtobufFieldError) -> ExponentialHistogramDataPoint {
        try Self.checkWire(pb)
        if pb.hasPositive { try at("positive") { () throws(ProtobufFieldError) in try Self.checkWire(pb.positive) } }
        if pb.hasNegative { try at("negative") { () throws(ProtobufFieldError) in try Self.checkWire(pb.negative) } }
        return ExponentialHistogramDataPoint(
            attributes: try at("attributes") { () throws(ProtobufFieldError) in try attributes(pb.attributes) },
            startTimeUnixNano: pb.startTimeUnixNano, timeUnixNano: pb.timeUnixNano, count: pb.count,
            sum: pb.hasSum ? pb.sum : nil, scale: pb.scale, zeroCount: pb.zeroCount,
            positive: .init(offset: pb.positive.offset, bucketCounts: pb.positive.bucketCounts),
            negative: .init(offset: pb.negative.offset, bucketCounts: pb.negative.bucketCounts),
            flags: pb.flags, exemplars: try elements("exemplars", pb.exemplars, exemplar),
            min: pb.hasMin ? pb.min : nil, max: pb.hasMax ? pb.max : nil, zeroThreshold: pb.zeroThreshold)
    }

    private func summaryPoint(_ pb: PBSummaryDataPoint) throws(ProtobufFieldError) -> SummaryDataPoint {
        try Self.checkWire(pb)
        return SummaryDataPoint(
            attributes: try at("attributes") { () throws(ProtobufFieldError) in try attributes(pb.attributes) },
            startTimeUnixNano: pb.startTimeUnixNano, timeUnixNano: pb.timeUnixNano, count: pb.count, sum: pb.sum,
            quantileValues: try elements("quantileValues", pb.quantileValues) { (quantile: PBSummaryDataPoint.ValueAtQuantile) throws(ProtobufFieldError) in
                try Self.checkWire(quantile)
                return .init(quantile: quantile.quantile, value: quantile.value)
            },
            flags: pb.flags)
    }

    private func exemplar(_ pb: PBExemplar) throws(ProtobufFieldError) -> Exemplar {
        try Self.checkWire(pb)
        let value: NumberValue? = switch pb.value {
        case .asDouble(let value): .double(value)
        case .asInt(let value): .int(value)
        case nil: nil
        }
        return Exemplar(
            filteredAttributes: try at("filteredAttributes") { () throws(ProtobufFieldError) in try attributes(pb.filteredAttributes) },
            timeUnixNano: try at("timeUnixNano") { () throws(ProtobufFieldError) in try Self.timestamp(pb.timeUnixNano) },
            value: value,
            spanId: try at("spanId") { () throws(ProtobufFieldError) in try Self.optionalSpanID(pb.spanID) },
            traceId: try at("traceId") { () throws(ProtobufFieldError) in try Self.optionalTraceID(pb.traceID) })
    }
}
