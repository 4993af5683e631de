import Foundation
import OTLP
import Testing

/// Decoding speed on real payloads, JSON beside protobuf for the same requests, printed rather
/// than asserted: run it in release mode (`swift test -c release --filter decodeThroughputReport`)
/// to compare decoders and decoder changes.
@Suite("Decode throughput")
struct DecodeThroughputTests {
    #if DEBUG
    static let iterations = 20
    #else
    static let iterations = 5_000
    #endif

    /// Decodes `body` `iterations` times and prints MB/s and items/s.
    func report(_ label: String, _ body: Data, items: Int, _ decode: (Data) throws -> Int) throws {
        var decoded = 0
        let elapsed = try ContinuousClock().measure {
            for _ in 0..<Self.iterations { decoded += try decode(body) }
        }
        #expect(decoded == items * Self.iterations)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let megabytes = Double(body.count * Self.iterations) / 1_048_576
        print("decodeThroughputReport: \(label): \(Self.iterations) × \(body.count) bytes (\(items) items) in "
              + "\(String(format: "%.3f", seconds)) s: \(String(format: "%.1f", megabytes / seconds)) MB/s, "
              + "\(Int(Double(decoded) / seconds)) items/s")
    }

    @Test func decodeThroughputReport() throws {
        let json = OTLPJSONDecoder(), protobuf = OTLPProtobufDecoder()
        let generated = OTLPProtobufDecoder(engine: .generated)

        let tracesJSON = try Fixtures.data("python-sdk/python-json-traces.json")
        let traces = try json.decodeTraces(from: tracesJSON).request
        // The same request as the protobuf exporter sends it (the capture has other ids).
        let tracesProtobuf = OTLPProtobufEncoder.encode(traces)
        try report("traces JSON", tracesJSON, items: traces.spanCount) { try json.decodeTraces(from: $0).request.spanCount }
        try report("traces protobuf", tracesProtobuf, items: traces.spanCount) { try protobuf.decodeTraces(from: $0).request.spanCount }
        try report("traces protobuf (generated-code engine)", tracesProtobuf, items: traces.spanCount) {
            try generated.decodeTraces(from: $0).request.spanCount
        }

        let logsJSON = try Fixtures.data("python-sdk/python-json-logs.json")
        let logs = try json.decodeLogs(from: logsJSON).request
        let logsProtobuf = OTLPProtobufEncoder.encode(logs)
        try report("logs JSON", logsJSON, items: logs.logRecordCount) { try json.decodeLogs(from: $0).request.logRecordCount }
        try report("logs protobuf", logsProtobuf, items: logs.logRecordCount) { try protobuf.decodeLogs(from: $0).request.logRecordCount }
        try report("logs protobuf (generated-code engine)", logsProtobuf, items: logs.logRecordCount) {
            try generated.decodeLogs(from: $0).request.logRecordCount
        }
    }
}
