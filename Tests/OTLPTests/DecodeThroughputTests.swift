import Foundation
import OTLP
import Testing

/// Decoding speed on a real payload, printed rather than asserted: run it in release mode
/// (`swift test -c release --filter decodeThroughputReport`) to compare decoder changes.
@Suite("Decode throughput")
struct DecodeThroughputTests {
    #if DEBUG
    static let iterations = 20
    #else
    static let iterations = 5_000
    #endif

    @Test func decodeThroughputReport() throws {
        let body = try Fixtures.data("python-sdk/python-json-traces.json")
        let decoder = OTLPJSONDecoder()
        let spansPerBody = try decoder.decodeTraces(from: body).request.spanCount
        var spans = 0
        let elapsed = try ContinuousClock().measure {
            for _ in 0..<Self.iterations {
                spans += try decoder.decodeTraces(from: body).request.spanCount
            }
        }
        #expect(spans == spansPerBody * Self.iterations)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let megabytes = Double(body.count * Self.iterations) / 1_048_576
        print("decodeThroughputReport: \(Self.iterations) × \(body.count) bytes (\(spansPerBody) spans) in "
              + "\(String(format: "%.3f", seconds)) s: \(String(format: "%.1f", megabytes / seconds)) MB/s, "
              + "\(Int(Double(spans) / seconds)) spans/s")
    }
}
