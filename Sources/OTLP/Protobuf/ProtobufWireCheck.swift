import Foundation
import SwiftProtobuf

// Fields with the wrong wire type.
//
// swift-protobuf, like the reference C++ parser, keeps a known field that arrives with the
// wrong wire type (a span's `trace_id` as a varint) as an unknown field, and the message looks
// as if the field were missing. The OpenTelemetry Collector's decoder refuses such bytes, and
// so does Sightline: after parsing, a message whose unknown fields include one of its own field
// numbers is malformed. Unknown fields with new numbers (a newer OTLP schema) stay ignored.

/// A generated message whose field numbers are known.
protocol WireChecked: SwiftProtobuf.Message {
    static var fieldNumbers: Set<Int> { get }
}

extension ProtobufConverter {
    /// Refuses `message` when one of its unknown fields has a number the message defines.
    static func checkWire<M: WireChecked>(_ message: M) throws(ProtobufFieldError) {
        let unknown = message.unknownFields.data
        guard !unknown.isEmpty else { return }
        guard let (number, wireType) = WireScan.firstField(in: unknown, where: M.fieldNumbers.contains) else { return }
        throw ProtobufFieldError(
            path: "", message: "field \(number) has the wrong wire type (\(WireScan.name(of: wireType)))", malformed: true
        )
    }
}

/// Walks the fields of protobuf bytes (already validated by the parser) without decoding them.
enum WireScan {
    /// The number and wire type of the first field whose number satisfies `matches`.
    static func firstField(in data: Data, where matches: (Int) -> Bool) -> (number: Int, wireType: UInt64)? {
        data.withUnsafeBytes { raw -> (Int, UInt64)? in
            var position = 0
            let bytes = raw.bindMemory(to: UInt8.self)
            while position < bytes.count {
                guard let tag = varint(bytes, &position) else { return nil }
                let number = Int(truncatingIfNeeded: tag >> 3), wireType = tag & 7
                if matches(number) { return (number, wireType) }
                guard skip(wireType, number: number, bytes, &position) else { return nil }
            }
            return nil
        }
    }

    static func name(of wireType: UInt64) -> String {
        switch wireType {
        case 0: "varint"
        case 1: "fixed64"
        case 2: "length-delimited"
        case 3: "start group"
        case 4: "end group"
        case 5: "fixed32"
        default: "wire type \(wireType)"
        }
    }

    private static func varint(_ bytes: UnsafeBufferPointer<UInt8>, _ position: inout Int) -> UInt64? {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while position < bytes.count, shift < 64 {
            let byte = bytes[position]
            position += 1
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
        return nil
    }

    /// Moves past one field's value; `false` when the bytes end early.
    private static func skip(_ wireType: UInt64, number: Int, _ bytes: UnsafeBufferPointer<UInt8>, _ position: inout Int) -> Bool {
        switch wireType {
        case 0: return varint(bytes, &position) != nil
        case 1: position += 8
        case 2:
            guard let length = varint(bytes, &position), length <= UInt64(bytes.count - position) else { return false }
            position += Int(length)
        case 3: // a group: fields up to the matching end group
            while position < bytes.count {
                guard let tag = varint(bytes, &position) else { return false }
                if tag & 7 == 4 { return true }
                guard skip(tag & 7, number: Int(truncatingIfNeeded: tag >> 3), bytes, &position) else { return false }
            }
            return false
        case 5: position += 4
        default: return false
        }
        return position <= bytes.count
    }
}

extension PBExportTraceServiceRequest: WireChecked { static let fieldNumbers: Set<Int> = [1] }
extension PBExportLogsServiceRequest: WireChecked { static let fieldNumbers: Set<Int> = [1] }
extension PBResourceSpans: WireChecked { static let fieldNumbers: Set<Int> = [1, 2, 3] }
extension PBResourceLogs: WireChecked { static let fieldNumbers: Set<Int> = [1, 2, 3] }
extension PBScopeSpans: WireChecked { static let fieldNumbers: Set<Int> = [1, 2, 3] }
extension PBScopeLogs: WireChecked { static let fieldNumbers: Set<Int> = [1, 2, 3] }
extension PBSpan: WireChecked { static let fieldNumbers = Set(1...16) }
extension PBSpan.Event: WireChecked { static let fieldNumbers = Set(1...4) }
extension PBSpan.Link: WireChecked { static let fieldNumbers = Set(1...6) }
extension PBStatus: WireChecked { static let fieldNumbers: Set<Int> = [2, 3] }
extension PBLogRecord: WireChecked { static let fieldNumbers = Set(1...12).subtracting([4]) }
extension PBResource: WireChecked { static let fieldNumbers: Set<Int> = [1, 2, 3] }
extension PBInstrumentationScope: WireChecked { static let fieldNumbers = Set(1...4) }
extension PBEntityRef: WireChecked { static let fieldNumbers = Set(1...4) }
extension PBKeyValue: WireChecked { static let fieldNumbers: Set<Int> = [1, 2, 3] }
extension PBAnyValue: WireChecked { static let fieldNumbers = Set(1...8) }
extension PBArrayValue: WireChecked { static let fieldNumbers: Set<Int> = [1] }
extension PBKeyValueList: WireChecked { static let fieldNumbers: Set<Int> = [1] }
extension PBExportMetricsServiceRequest: WireChecked { static let fieldNumbers: Set<Int> = [1] }
extension PBResourceMetrics: WireChecked { static let fieldNumbers: Set<Int> = [1, 2, 3] }
extension PBScopeMetrics: WireChecked { static let fieldNumbers: Set<Int> = [1, 2, 3] }
extension PBMetric: WireChecked { static let fieldNumbers: Set<Int> = [1, 2, 3, 5, 7, 9, 10, 11, 12] }
extension PBGauge: WireChecked { static let fieldNumbers: Set<Int> = [1] }
extension PBSum: WireChecked { static let fieldNumbers: Set<Int> = [1, 2, 3] }
extension PBHistogram: WireChecked { static let fieldNumbers: Set<Int> = [1, 2] }
extension PBExponentialHistogram: WireChecked { static let fieldNumbers: Set<Int> = [1, 2] }
extension PBSummary: WireChecked { static let fieldNumbers: Set<Int> = [1] }
extension PBNumberDataPoint: WireChecked { static let fieldNumbers = Set(2...8) }
extension PBHistogramDataPoint: WireChecked { static let fieldNumbers = Set(2...12) }
extension PBExponentialHistogramDataPoint: WireChecked { static let fieldNumbers = Set(1...14) }
extension PBExponentialHistogramDataPoint.Buckets: WireChecked { static let fieldNumbers: Set<Int> = [1, 2] }
extension PBSummaryDataPoint: WireChecked { static let fieldNumbers = Set(2...8) }
extension PBSummaryDataPoint.ValueAtQuantile: WireChecked { static let fieldNumbers: Set<Int> = [1, 2] }
extension PBExemplar: WireChecked { static let fieldNumbers = Set(2...7) }
