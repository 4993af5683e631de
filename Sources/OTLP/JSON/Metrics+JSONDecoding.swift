// Reading the OTLP/JSON form of the metric messages; see `Model+JSONDecoding.swift`.
// The item that is rejected alone is a metric (with its data points).

extension ExportMetricsServiceRequest {
    enum JSONField: Int, MessageField {
        case resourceMetrics
        static let keys = JSONKeys(Self.self)
    }

    init(json reader: inout OTLPJSONReader) throws(JSONReadError) {
        self.init()
        try reader.members(JSONField.self) { reader, field throws(JSONReadError) in
            switch field {
            case .resourceMetrics:
                resourceMetrics = try reader.array { reader, index throws(JSONReadError) in
                    reader.resourceIndex = index
                    return try reader.element(ResourceMetrics.init(json:))
                }
            }
        }
    }
}

extension ResourceMetrics {
    enum JSONField: Int, MessageField {
        case resource, scopeMetrics, schemaUrl
        static let keys = JSONKeys(Self.self)
    }

    init(json reader: inout OTLPJSONReader) throws(JSONReadError) {
        self.init()
        try reader.members(JSONField.self) { reader, field throws(JSONReadError) in
            switch field {
            case .resource: resource = try reader.object(Resource.init(json:)) ?? Resource()
            case .scopeMetrics:
                scopeMetrics = try reader.array { reader, index throws(JSONReadError) in
                    reader.scopeIndex = index
                    return try reader.element(ScopeMetrics.init(json:))
                }
            case .schemaUrl: schemaUrl = try reader.string()
            }
        }
    }
}

extension ScopeMetrics {
    enum JSONField: Int, MessageField {
        case scope, metrics, schemaUrl
        static let keys = JSONKeys(Self.self)
    }

    init(json reader: inout OTLPJSONReader) throws(JSONReadError) {
        self.init()
        try reader.members(JSONField.self) { reader, field throws(JSONReadError) in
            switch field {
            case .scope: scope = try reader.object(InstrumentationScope.init(json:)) ?? InstrumentationScope()
            case .metrics: metrics = try reader.items("metrics", in: "resourceMetrics", "scopeMetrics", Metric.init(json:))
            case .schemaUrl: schemaUrl = try reader.string()
            }
        }
    }
}

extension Metric {
    enum JSONField: Int, MessageField {
        case name, description, unit, gauge, sum, histogram, exponentialHistogram, summary, metadata
        static let keys = JSONKeys(Self.self)
    }

    enum PointsField: Int, MessageField {
        case dataPoints, aggregationTemporality, isMonotonic
        static let keys = JSONKeys(Self.self)
    }

    init(json reader: inout OTLPJSONReader) throws(JSONReadError) {
        var name = "", description = "", unit = ""
        var data: MetricData?
        var metadata: [KeyValue] = []
        try reader.members(JSONField.self) { reader, field throws(JSONReadError) in
            switch field {
            case .name: name = try reader.string()
            case .description: description = try reader.string()
            case .unit: unit = try reader.string()
            case .metadata: metadata = try reader.attributes()
            case .gauge, .sum, .histogram, .exponentialHistogram, .summary:
                if let read = try reader.object({ reader throws(JSONReadError) in try Self.data(field, &reader) }) { data = read }
            }
        }
        guard let data else {
            throw .invalid("a metric needs one of gauge, sum, histogram, exponentialHistogram or summary")
        }
        self.init(name: name, description: description, unit: unit, data: data, metadata: metadata)
        if let problem = MetricRules.problem(in: self) {
            throw .invalid(InvalidValue(message: problem.message, reversedPath: Self.components(problem.path).reversed()))
        }
    }

    /// `gauge.dataPoints[3].timeUnixNano` as path components.
    private static func components(_ path: String) -> [InvalidValue.PathComponent] {
        var components: [InvalidValue.PathComponent] = []
        for part in path.split(separator: ".") {
            if let open = part.firstIndex(of: "["), let index = Int(part[part.index(after: open)...].dropLast()) {
                components.append(.key(String(part[..<open])))
                components.append(.index(index))
            } else {
                components.append(.key(String(part)))
            }
        }
        return components
    }

    private static func data(_ kind: JSONField, _ reader: inout OTLPJSONReader) throws(JSONReadError) -> MetricData {
        var temporality = AggregationTemporality.unspecified
        var monotonic = false
        var numbers: [NumberDataPoint] = []
        var histograms: [HistogramDataPoint] = []
        var exponential: [ExponentialHistogramDataPoint] = []
        var summaries: [SummaryDataPoint] = []
        try reader.members(PointsField.self) { reader, field throws(JSONReadError) in
            switch field {
            case .aggregationTemporality:
                temporality = AggregationTemporality(rawValue: try reader.enumeration(names: AggregationTemporality.names))
            case .isMonotonic: monotonic = try reader.bool()
            case .dataPoints:
                switch kind {
                case .gauge, .sum: numbers = try reader.objects(NumberDataPoint.init(json:))
                case .histogram: histograms = try reader.objects(HistogramDataPoint.init(json:))
                case .exponentialHistogram: exponential = try reader.objects(ExponentialHistogramDataPoint.init(json:))
                default: summaries = try reader.objects(SummaryDataPoint.init(json:))
                }
            }
        }
        switch kind {
        case .gauge: return .gauge(numbers)
        case .sum: return .sum(Sum(dataPoints: numbers, aggregationTemporality: temporality, isMonotonic: monotonic))
        case .histogram: return .histogram(Histogram(dataPoints: histograms, aggregationTemporality: temporality))
        case .exponentialHistogram: return .exponentialHistogram(ExponentialHistogram(dataPoints: exponential, aggregationTemporality: temporality))
        default: return .summary(summaries)
        }
    }
}

extension NumberDataPoint {
    enum JSONField: Int, MessageField {
        case attributes, startTimeUnixNano, timeUnixNano, asDouble, asInt, exemplars, flags
        static let keys = JSONKeys(Self.self)
    }

    init(json reader: inout OTLPJSONReader) throws(JSONReadError) {
        self.init()
        try reader.members(JSONField.self) { reader, field throws(JSONReadError) in
            switch field {
            case .attributes: attributes = try reader.attributes()
            case .startTimeUnixNano: startTimeUnixNano = try reader.timestamp()
            case .timeUnixNano: timeUnixNano = try reader.timestamp()
            case .asDouble: value = .double(try reader.double())
            case .asInt: value = .int(try reader.int64())
            case .exemplars: exemplars = try reader.objects(Exemplar.init(json:))
            case .flags: flags = try reader.uint32()
            }
        }
    }
}

extension HistogramDataPoint {
    enum JSONField: Int, MessageField {
        case attributes, startTimeUnixNano, timeUnixNano, count, sum, bucketCounts, explicitBounds, exemplars, flags, min, max
        static let keys = JSONKeys(Self.self)
    }

    init(json reader: inout OTLPJSONReader) throws(JSONReadError) {
        self.init()
        try reader.members(JSONField.self) { reader, field throws(JSONReadError) in
            switch field {
            case .attributes: attributes = try reader.attributes()
            case .startTimeUnixNano: startTimeUnixNano = try reader.timestamp()
            case .timeUnixNano: timeUnixNano = try reader.timestamp()
            case .count: count = try reader.uint64()
            case .sum: sum = try reader.double()
            case .bucketCounts: bucketCounts = try reader.array { reader, _ throws(JSONReadError) in try reader.uint64() }
            case .explicitBounds: explicitBounds = try reader.array { reader, _ throws(JSONReadError) in try reader.double() }
            case .exemplars: exemplars = try reader.objects(Exemplar.init(json:))
            case .flags: flags = try reader.uint32()
            case .min: min = try reader.double()
            case .max: max = try reader.double()
            }
        }
    }
}

extension ExponentialHistogramDataPoint {
    enum JSONField: Int, MessageField {
        case attributes, startTimeUnixNano, timeUnixNano, count, sum, scale, zeroCount, positive, negative, flags
        case exemplars, min, max, zeroThreshold
        static let keys = JSONKeys(Self.self)
    }

    enum BucketsField: Int, MessageField {
        case offset, bucketCounts
        static let keys = JSONKeys(Self.self)
    }

    init(json reader: inout OTLPJSONReader) throws(JSONReadError) {
        self.init()
        try reader.members(JSONField.self) { reader, field throws(JSONReadError) in
            switch field {
            case .attributes: attributes = try reader.attributes()
            case .startTimeUnixNano: startTimeUnixNano = try reader.timestamp()
            case .timeUnixNano: timeUnixNano = try reader.timestamp()
            case .count: count = try reader.uint64()
            case .sum: sum = try reader.double()
            case .scale: scale = try reader.int32()
            case .zeroCount: zeroCount = try reader.uint64()
            case .positive: positive = try reader.object(Self.buckets(_:)) ?? Buckets()
            case .negative: negative = try reader.object(Self.buckets(_:)) ?? Buckets()
            case .flags: flags = try reader.uint32()
            case .exemplars: exemplars = try reader.objects(Exemplar.init(json:))
            case .min: min = try reader.double()
            case .max: max = try reader.double()
            case .zeroThreshold: zeroThreshold = try reader.double()
            }
        }
    }

    private static func buckets(_ reader: inout OTLPJSONReader) throws(JSONReadError) -> Buckets {
        var buckets = Buckets()
        try reader.members(BucketsField.self) { reader, field throws(JSONReadError) in
            switch field {
            case .offset: buckets.offset = try reader.int32()
            case .bucketCounts: buckets.bucketCounts = try reader.array { reader, _ throws(JSONReadError) in try reader.uint64() }
            }
        }
        return buckets
    }
}

extension SummaryDataPoint {
    enum JSONField: Int, MessageField {
        case attributes, startTimeUnixNano, timeUnixNano, count, sum, quantileValues, flags
        static let keys = JSONKeys(Self.self)
    }

    enum QuantileField: Int, MessageField {
        case quantile, value
        static let keys = JSONKeys(Self.self)
    }

    init(json reader: inout OTLPJSONReader) throws(JSONReadError) {
        self.init()
        try reader.members(JSONField.self) { reader, field throws(JSONReadError) in
            switch field {
            case .attributes: attributes = try reader.attributes()
            case .startTimeUnixNano: startTimeUnixNano = try reader.timestamp()
            case .timeUnixNano: timeUnixNano = try reader.timestamp()
            case .count: count = try reader.uint64()
            case .sum: sum = try reader.double()
            case .quantileValues:
                quantileValues = try reader.objects { reader throws(JSONReadError) in
                    var quantile = ValueAtQuantile(quantile: 0, value: 0)
                    try reader.members(QuantileField.self) { reader, field throws(JSONReadError) in
                        switch field {
                        case .quantile: quantile.quantile = try reader.double()
                        case .value: quantile.value = try reader.double()
                        }
                    }
                    return quantile
                }
            case .flags: flags = try reader.uint32()
            }
        }
    }
}

extension Exemplar {
    enum JSONField: Int, MessageField {
        case filteredAttributes, timeUnixNano, asDouble, asInt, spanId, traceId
        static let keys = JSONKeys(Self.self)
    }

    init(json reader: inout OTLPJSONReader) throws(JSONReadError) {
        self.init()
        try reader.members(JSONField.self) { reader, field throws(JSONReadError) in
            switch field {
            case .filteredAttributes: filteredAttributes = try reader.attributes()
            case .timeUnixNano: timeUnixNano = try reader.timestamp()
            case .asDouble: value = .double(try reader.double())
            case .asInt: value = .int(try reader.int64())
            case .spanId: spanId = try reader.spanID().flatMap { $0.isZero ? nil : $0 }
            case .traceId: traceId = try reader.traceID().flatMap { $0.isZero ? nil : $0 }
            }
        }
    }
}

extension OTLPJSONReader {
    /// An int32/sint32 field: a number or a decimal string.
    mutating func int32() throws(JSONReadError) -> Int32 {
        let value = try int64()
        guard let narrow = Int32(exactly: value) else { throw .invalid("expected a 32-bit integer, got \(value)") }
        return narrow
    }
}
