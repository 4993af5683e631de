import NIOCore
import OTLP

/// The wire encodings the receiver accepts.
enum BodyEncoding: String, CaseIterable, Sendable {
    case json, protobuf

    var contentType: String { self == .json ? "application/json" : "application/x-protobuf" }
}

/// One encoded request body, built before the timed part, and where its trace ids, span ids
/// and timestamps sit in the bytes. Each send copies the bytes and writes over those places,
/// so every request carries trace ids no other request has (a server would otherwise
/// deduplicate re-sent spans) and current timestamps, without encoding anything again.
///
/// The places are found by scanning the encoded bytes for the values the model holds; the
/// number found must equal the number the model has, so a scan that missed or invented one
/// fails at start-up instead of sending wrong data.
struct BodyTemplate: Sendable {
    struct Site: Sendable {
        var offset: Int
        /// Which trace of the template the id belongs to.
        var trace: Int
    }

    let encoding: BodyEncoding
    let bytes: [UInt8]
    /// Spans or log records in the body.
    let items: Int
    /// Distinct trace ids in the body.
    let traceCount: Int
    let baseTimeUnixNano: UInt64
    let traceIdSites: [Site]
    let spanIdSites: [Site]
    let timeSites: [Int]
    /// Every request's times made unique: the shift is rounded to microseconds and the
    /// request's number (modulo 1,000) added in nanoseconds.
    let uniqueTimes: Bool

    init(_ request: ExportTraceServiceRequest, encoding: BodyEncoding, baseTimeUnixNano: UInt64) throws(TemplateError) {
        let spans = request.resourceSpans.flatMap(\.scopeSpans).flatMap(\.spans)
        var ids = KnownValues()
        for span in spans {
            ids.add(trace: span.traceId)
            ids.spans.insert(span.spanId)
            if let parent = span.parentSpanId { ids.spans.insert(parent) }
            ids.times.insert(span.startTimeUnixNano)
            ids.times.insert(span.endTimeUnixNano)
            for event in span.events { ids.times.insert(event.timeUnixNano) }
            precondition(span.links.isEmpty, "links would need their own trace numbering")
        }
        let expected = (traces: spans.count,
                        spans: spans.count + spans.filter { $0.parentSpanId != nil }.count,
                        times: spans.reduce(0) { $0 + 2 + $1.events.count })
        let bytes = encoding == .json ? OTLPJSONEncoder.encode(request) : Array(OTLPProtobufEncoder.encode(request))
        try self.init(encoding: encoding, bytes: bytes, items: spans.count, ids: ids, expected: expected, baseTimeUnixNano: baseTimeUnixNano)
    }

    init(_ request: ExportLogsServiceRequest, encoding: BodyEncoding, baseTimeUnixNano: UInt64) throws(TemplateError) {
        let records = request.resourceLogs.flatMap(\.scopeLogs).flatMap(\.logRecords)
        var ids = KnownValues()
        for record in records {
            if let trace = record.traceId { ids.add(trace: trace) }
            if let span = record.spanId { ids.spans.insert(span) }
            ids.times.insert(record.timeUnixNano)
            ids.times.insert(record.observedTimeUnixNano)
        }
        let expected = (traces: records.filter { $0.traceId != nil }.count,
                        spans: records.filter { $0.spanId != nil }.count,
                        times: records.count * 2)
        let bytes = encoding == .json ? OTLPJSONEncoder.encode(request) : Array(OTLPProtobufEncoder.encode(request))
        try self.init(encoding: encoding, bytes: bytes, items: records.count, ids: ids, expected: expected, baseTimeUnixNano: baseTimeUnixNano)
    }

    /// Metrics (protobuf only: no OTLP/JSON encoder for metrics here). A series is told apart
    /// by its attributes and time, so each request's times differ from every other's
    /// (`uniqueTimes`): the database would keep one point of a series per time.
    init(_ request: ExportMetricsServiceRequest, encoding: BodyEncoding, baseTimeUnixNano: UInt64) throws(TemplateError) {
        guard encoding == .protobuf else { throw TemplateError(message: "metrics are sent as protobuf only: add --encoding protobuf") }
        var ids = KnownValues()
        var points = 0
        for metric in request.resourceMetrics.flatMap(\.scopeMetrics).flatMap(\.metrics) {
            let times: [(UInt64, UInt64)] = switch metric.data {
            case .gauge(let points): points.map { ($0.startTimeUnixNano, $0.timeUnixNano) }
            case .sum(let sum): sum.dataPoints.map { ($0.startTimeUnixNano, $0.timeUnixNano) }
            case .histogram(let histogram): histogram.dataPoints.map { ($0.startTimeUnixNano, $0.timeUnixNano) }
            case .exponentialHistogram, .summary: []
            }
            precondition(times.count == metric.data.dataPointCount, "only gauges, sums and histograms have their times found")
            for (start, time) in times { ids.times.formUnion([start, time]) }
            points += times.count
        }
        let bytes = Array(OTLPProtobufEncoder.encode(request))
        try self.init(encoding: encoding, bytes: bytes, items: points, ids: ids, expected: (0, 0, points * 2),
                      baseTimeUnixNano: baseTimeUnixNano, timeTags: Self.metricTimeTags, uniqueTimes: true)
    }

    private init(encoding: BodyEncoding, bytes: [UInt8], items: Int, ids: KnownValues,
                 expected: (traces: Int, spans: Int, times: Int), baseTimeUnixNano: UInt64,
                 timeTags: Set<UInt8> = BodyTemplate.spanAndLogTimeTags, uniqueTimes: Bool = false) throws(TemplateError) {
        self.encoding = encoding
        self.bytes = bytes
        self.items = items
        self.traceCount = ids.traces.count
        self.baseTimeUnixNano = baseTimeUnixNano
        self.uniqueTimes = uniqueTimes
        let sites = encoding == .json ? Self.scanJSON(bytes, ids) : Self.scanProtobuf(bytes, ids, timeTags: timeTags)
        (traceIdSites, spanIdSites, timeSites) = (sites.traces, sites.spans, sites.times)
        guard traceIdSites.count == expected.traces, spanIdSites.count == expected.spans, timeSites.count == expected.times else {
            throw TemplateError(message: "scanning the \(encoding) template found \(traceIdSites.count)/\(spanIdSites.count)/\(timeSites.count) "
                + "trace ids/span ids/timestamps; the model has \(expected.traces)/\(expected.spans)/\(expected.times)")
        }
    }

    /// The body for request number `sequence`: trace `k` of it gets the id whose first eight
    /// bytes are `mix(salt + sequence * stride + k)` (unique per request and trace when
    /// `stride` is at least `traceCount`; looking random, so index inserts land where real
    /// traffic's would), its spans that value's low four bytes as their first four, and every
    /// timestamp moves forward by the time since the template was made.
    func body(sequence: UInt64, salt: UInt64, stride: UInt64, nowUnixNano: UInt64) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        let first = salt &+ sequence &* stride
        var shift = nowUnixNano > baseTimeUnixNano ? nowUnixNano - baseTimeUnixNano : 0
        if uniqueTimes { shift = shift / 1_000 * 1_000 + sequence % 1_000 }
        buffer.withUnsafeMutableReadableBytes { raw in
            let out = raw.bindMemory(to: UInt8.self)
            var prefixes = [UInt64](repeating: 0, count: traceCount)
            for trace in 0..<traceCount { prefixes[trace] = SplitMix64.mix(first &+ UInt64(trace)) }
            switch encoding {
            case .json:
                for site in traceIdSites { Self.writeHex(prefixes[site.trace], digits: 16, to: out, at: site.offset) }
                for site in spanIdSites { Self.writeHex(prefixes[site.trace] & 0xFFFF_FFFF, digits: 8, to: out, at: site.offset) }
                for offset in timeSites { Self.addDecimal(shift, to: out, at: offset) }
            case .protobuf:
                for site in traceIdSites { Self.writeBigEndian(prefixes[site.trace], bytes: 8, to: out, at: site.offset) }
                for site in spanIdSites { Self.writeBigEndian(prefixes[site.trace] & 0xFFFF_FFFF, bytes: 4, to: out, at: site.offset) }
                for offset in timeSites { Self.addLittleEndian(shift, to: out, at: offset) }
            }
        }
        return buffer
    }

    // MARK: Finding the places

    struct KnownValues {
        /// Trace id → its number in the template, in order of first appearance.
        var traces: [TraceID: Int] = [:]
        var spans: Set<SpanID> = []
        var times: Set<UInt64> = []

        mutating func add(trace: TraceID) {
            if traces[trace] == nil { traces[trace] = traces.count }
        }
    }

    private typealias Sites = (traces: [Site], spans: [Site], times: [Int])

    /// In OTLP/JSON the places follow their keys: `"traceId":"` and 32 hex digits, and so on.
    /// A span id belongs to the trace id written before it in the same span or record.
    private static func scanJSON(_ bytes: [UInt8], _ ids: KnownValues) -> Sites {
        let traceKey = Array(#""traceId":""#.utf8)
        let spanKeys = [#""spanId":""#, #""parentSpanId":""#].map { Array($0.utf8) }
        let timeKeys = [#""startTimeUnixNano":""#, #""endTimeUnixNano":""#, #""timeUnixNano":""#, #""observedTimeUnixNano":""#].map { Array($0.utf8) }
        var sites: Sites = ([], [], [])
        var currentTrace: Int?
        var index = 0
        while index < bytes.count {
            guard bytes[index] == UInt8(ascii: "\"") else { index += 1; continue }
            if matches(traceKey, bytes, at: index) {
                let start = index + traceKey.count
                let trace = start + 32 <= bytes.count ? TraceID(hex: String(decoding: bytes[start..<start + 32], as: UTF8.self)) : nil
                currentTrace = trace.flatMap { ids.traces[$0] }
                if let currentTrace { sites.traces.append(Site(offset: start, trace: currentTrace)) }
                index = start
            } else if let key = spanKeys.first(where: { matches($0, bytes, at: index) }) {
                let start = index + key.count
                let span = start + 16 <= bytes.count ? SpanID(hex: String(decoding: bytes[start..<start + 16], as: UTF8.self)) : nil
                if let span, ids.spans.contains(span), let currentTrace { sites.spans.append(Site(offset: start, trace: currentTrace)) }
                index = start
            } else if let key = timeKeys.first(where: { matches($0, bytes, at: index) }) {
                let start = index + key.count
                if start + 20 <= bytes.count, bytes[start + 19] == UInt8(ascii: "\""),
                   let time = UInt64(String(decoding: bytes[start..<start + 19], as: UTF8.self)), ids.times.contains(time) {
                    sites.times.append(start)
                }
                index = start
            } else {
                index += 1
            }
        }
        return sites
    }

    /// In protobuf the places are length-prefixed ids (16 or 8 bytes) and fixed64 timestamps
    /// after their field tags; the values themselves are random enough to find by content.
    /// fixed64 tags: Span start (7) and end (8), Event time (1), LogRecord time (1) and observed time (11).
    static let spanAndLogTimeTags: Set<UInt8> = [7 << 3 | 1, 8 << 3 | 1, 1 << 3 | 1, 11 << 3 | 1]
    /// fixed64 tags: a number or histogram data point's start time (2) and time (3).
    static let metricTimeTags: Set<UInt8> = [2 << 3 | 1, 3 << 3 | 1]

    private static func scanProtobuf(_ bytes: [UInt8], _ ids: KnownValues, timeTags: Set<UInt8>) -> Sites {
        var sites: Sites = ([], [], [])
        var currentTrace: Int?
        var index = 1
        while index + 8 <= bytes.count {
            let before = bytes[index - 1]
            if before == 16, index + 16 <= bytes.count, let trace = TraceID(bytes: bytes[index..<index + 16]).flatMap({ ids.traces[$0] }) {
                sites.traces.append(Site(offset: index, trace: trace))
                currentTrace = trace
                index += 16
            } else if before == 8, let span = SpanID(bytes: bytes[index..<index + 8]), ids.spans.contains(span), let currentTrace {
                sites.spans.append(Site(offset: index, trace: currentTrace))
                index += 8
            } else if timeTags.contains(before), ids.times.contains(readLittleEndian(bytes, at: index)) {
                sites.times.append(index)
                index += 8
            } else {
                index += 1
            }
        }
        return sites
    }

    private static func matches(_ key: [UInt8], _ bytes: [UInt8], at index: Int) -> Bool {
        guard index + key.count <= bytes.count else { return false }
        for offset in 0..<key.count where bytes[index + offset] != key[offset] { return false }
        return true
    }

    private static func readLittleEndian(_ bytes: [UInt8], at index: Int) -> UInt64 {
        (0..<8).reduce(0) { $0 | UInt64(bytes[index + $1]) << (8 * UInt64($1)) }
    }

    // MARK: Writing over them

    private static let hexDigits = Array("0123456789abcdef".utf8)

    private static func writeHex(_ value: UInt64, digits: Int, to out: UnsafeMutableBufferPointer<UInt8>, at offset: Int) {
        for index in 0..<digits {
            out[offset + index] = hexDigits[Int((value >> UInt64(4 * (digits - 1 - index))) & 0xF)]
        }
    }

    private static func writeBigEndian(_ value: UInt64, bytes: Int, to out: UnsafeMutableBufferPointer<UInt8>, at offset: Int) {
        for index in 0..<bytes {
            out[offset + index] = UInt8(truncatingIfNeeded: value >> UInt64(8 * (bytes - 1 - index)))
        }
    }

    /// Adds to the 19-digit decimal number at `offset` (nanoseconds since 1970 until 2286).
    private static func addDecimal(_ amount: UInt64, to out: UnsafeMutableBufferPointer<UInt8>, at offset: Int) {
        var value: UInt64 = 0
        for index in 0..<19 { value = value &* 10 &+ UInt64(out[offset + index] &- UInt8(ascii: "0")) }
        let (total, overflow) = value.addingReportingOverflow(amount)
        guard !overflow, total < 10_000_000_000_000_000_000 else { return }
        var sum = total
        for index in stride(from: 18, through: 0, by: -1) {
            out[offset + index] = UInt8(ascii: "0") + UInt8(sum % 10)
            sum /= 10
        }
    }

    private static func addLittleEndian(_ amount: UInt64, to out: UnsafeMutableBufferPointer<UInt8>, at offset: Int) {
        var value: UInt64 = 0
        for index in 0..<8 { value |= UInt64(out[offset + index]) << UInt64(8 * index) }
        value &+= amount
        for index in 0..<8 { out[offset + index] = UInt8(truncatingIfNeeded: value >> UInt64(8 * index)) }
    }
}

struct TemplateError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
