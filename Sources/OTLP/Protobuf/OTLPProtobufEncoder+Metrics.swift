import Foundation
import SwiftProtobuf

extension OTLPProtobufEncoder {
    public static func encode(_ request: ExportMetricsServiceRequest) -> Data {
        let message = PBExportMetricsServiceRequest.with { $0.resourceMetrics = request.resourceMetrics.map(PBResourceMetrics.init) }
        return (try? message.serializedData()) ?? Data()
    }

    /// An `ExportMetricsServiceResponse`: empty, or with `partialSuccess` when data points were rejected.
    public static func metricsResponse(rejectedDataPoints: Int64 = 0, errorMessage: String = "") -> Data {
        let message = PBExportMetricsServiceResponse.with {
            if rejectedDataPoints > 0 || !errorMessage.isEmpty {
                $0.partialSuccess = .with { partial in
                    partial.rejectedDataPoints = rejectedDataPoints
                    partial.errorMessage = errorMessage
                }
            }
        }
        return (try? message.serializedData()) ?? Data()
    }
}

extension PBResourceMetrics {
    init(_ model: ResourceMetrics) {
        self.init()
        resource = PBResource(model.resource)
        scopeMetrics = model.scopeMetrics.map { scope in
            PBScopeMetrics.with {
                $0.scope = PBInstrumentationScope(scope.scope)
                $0.metrics = scope.metrics.map(PBMetric.init)
                $0.schemaURL = scope.schemaUrl
            }
        }
        schemaURL = model.schemaUrl
    }
}

extension PBMetric {
    init(_ model: Metric) {
        self.init()
        name = model.name
        description_p = model.description
        unit = model.unit
        metadata = model.metadata.map(PBKeyValue.init)
        switch model.data {
        case .gauge(let points):
            gauge = .with { $0.dataPoints = points.map(PBNumberDataPoint.init) }
        case .sum(let sum):
            self.sum = .with {
                $0.dataPoints = sum.dataPoints.map(PBNumberDataPoint.init)
                $0.aggregationTemporality = PBAggregationTemporality(rawValue: Int(sum.aggregationTemporality.rawValue)) ?? .unspecified
                $0.isMonotonic = sum.isMonotonic
            }
        case .histogram(let histogram):
            self.histogram = .with {
                $0.aggregationTemporality = PBAggregationTemporality(rawValue: Int(histogram.aggregationTemporality.rawValue)) ?? .unspecified
                $0.dataPoints = histogram.dataPoints.map { point in
                    PBHistogramDataPoint.with {
                        $0.attributes = point.attributes.map(PBKeyValue.init)
                        $0.startTimeUnixNano = point.startTimeUnixNano
                        $0.timeUnixNano = point.timeUnixNano
                        $0.count = point.count
                        if let sum = point.sum { $0.sum = sum }
                        $0.bucketCounts = point.bucketCounts
                        $0.explicitBounds = point.explicitBounds
                        $0.exemplars = point.exemplars.map(PBExemplar.init)
                        $0.flags = point.flags
                        if let min = point.min { $0.min = min }
                        if let max = point.max { $0.max = max }
                    }
                }
            }
        case .exponentialHistogram(let histogram):
            exponentialHistogram = .with {
                $0.aggregationTemporality = PBAggregationTemporality(rawValue: Int(histogram.aggregationTemporality.rawValue)) ?? .unspecified
                $0.dataPoints = histogram.dataPoints.map { point in
                    PBExponentialHistogramDataPoint.with {
                        $0.attributes = point.attributes.map(PBKeyValue.init)
                        $0.startTimeUnixNano = point.startTimeUnixNano
                        $0.timeUnixNano = point.timeUnixNano
                        $0.count = point.count
                        if let sum = point.sum { $0.sum = sum }
                        $0.scale = point.scale
                        $0.zeroCount = point.zeroCount
                        $0.positive = .with { $0.offset = point.positive.offset; $0.bucketCounts = point.positive.bucketCounts }
                        $0.negative = .with { $0.offset = point.negative.offset; $0.bucketCounts = point.negative.bucketCounts }
                        $0.flags = point.flags
                        $0.exemplars = point.exemplars.map(PBExemplar.init)
                        if let min = point.min { $0.min = min }
                        if let max = point.max { $0.max = max }
                        $0.zeroThreshold = point.zeroThreshold
                    }
                }
            }
        case .summary(let points):
            summary = .with {
                $0.dataPoints = points.map { point in
                    PBSummaryDataPoint.with {
                        $0.attributes = point.attributes.map(PBKeyValue.init)
                        $0.startTimeUnixNano = point.startTimeUnixNano
                        $0.timeUnixNano = point.timeUnixNano
                        $0.count = point.count
                        $0.sum = point.sum
                        $0.quantileValues = point.quantileValues.map { quantile in
                            .with { $0.quantile = quantile.quantile; $0.value = quantile.value }
                        }
                        $0.flags = point.flags
                    }
                }
            }
        }
    }
}

extension PBNumberDataPoint {
    init(_ model: NumberDataPoint) {
        self.init()
        attributes = model.attributes.map(PBKeyValue.init)
        startTimeUnixNano = model.startTimeUnixNano
        timeUnixNano = model.timeUnixNano
        switch model.value {
        case .double(let number): asDouble = number
        case .int(let number): asInt = number
        case nil: break
        }
        exemplars = model.exemplars.map(PBExemplar.init)
        flags = model.flags
    }
}

extension PBExemplar {
    init(_ model: Exemplar) {
        self.init()
        filteredAttributes = model.filteredAttributes.map(PBKeyValue.init)
        timeUnixNano = model.timeUnixNano
        switch model.value {
        case .double(let number): asDouble = number
        case .int(let number): asInt = number
        case nil: break
        }
        if let span = model.spanId { spanID = Data(span.bytes) }
        if let trace = model.traceId { traceID = Data(trace.bytes) }
    }
}
