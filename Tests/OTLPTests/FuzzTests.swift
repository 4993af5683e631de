import Foundation
import OTLP
import Testing

/// Randomly damaged real payloads: decoding must never crash or hang; it either succeeds
/// (possibly rejecting items) or fails with an `OTLPDecodingError` that names the problem.
@Suite("Fuzzing the decoder")
struct FuzzTests {
    /// SplitMix64: the same sequence on every run and platform.
    struct SeededGenerator: RandomNumberGenerator {
        var state: UInt64

        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var mixed = state
            mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
            mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
            return mixed ^ (mixed >> 31)
        }
    }

    static let fixtures = [
        "python-sdk/python-json-traces.json", "python-sdk/python-json-logs.json",
        "otlp-examples/trace.json", "otlp-examples/logs.json", "otlp-examples/events.json",
    ]

    /// Bytes and snippets worth inserting: structure, escapes, odd numbers, bad UTF-8.
    static let snippets: [[UInt8]] = [
        "{", "}", "[", "]", "\"", ",", ":", "\\", "\\u", "\\ud83d", "null", "-1", "1e400", "1.5", "01",
        "\"\\ud83d\\ude00\"", "{\"arrayValue\":{\"values\":[", "\"traceId\":\"0\",",
    ].map { Array($0.utf8) } + [[0x00], [0x1F], [0x80], [0xC3], [0xED, 0xA0, 0x80], [0xEF, 0xBB, 0xBF], [0xFF]]

    static func mutate(_ payload: [UInt8], using generator: inout SeededGenerator) -> [UInt8] {
        var bytes = payload
        for _ in 0..<Int.random(in: 1...4, using: &generator) where !bytes.isEmpty {
            let position = Int.random(in: 0..<bytes.count, using: &generator)
            switch Int.random(in: 0..<6, using: &generator) {
            case 0: // flip bits
                bytes[position] ^= UInt8.random(in: 1...255, using: &generator)
            case 1: // truncate
                bytes.removeSubrange(position...)
            case 2: // insert a snippet
                bytes.insert(contentsOf: snippets.randomElement(using: &generator)!, at: position)
            case 3: // duplicate a range
                let end = min(bytes.count, position + Int.random(in: 1...64, using: &generator))
                bytes.insert(contentsOf: bytes[position..<end], at: Int.random(in: 0...bytes.count, using: &generator))
            case 4: // delete a range
                bytes.removeSubrange(position..<min(bytes.count, position + Int.random(in: 1...16, using: &generator)))
            default: // overwrite with a random byte
                bytes[position] = UInt8.random(in: 0...255, using: &generator)
            }
        }
        return bytes
    }

    @Test func mutatedFixturesDecodeOrFailWithAnError() throws {
        var generator = SeededGenerator(state: 0x5EED_5167)
        let payloads = try Self.fixtures.map { Array(try Fixtures.data($0)) }
        let decoder = OTLPJSONDecoder()
        var decoded = 0, failed = 0, rejected = 0
        let deadline = ContinuousClock.now + .seconds(20)
        for _ in 0..<3000 where ContinuousClock.now < deadline {
            let input = Data(Self.mutate(payloads.randomElement(using: &generator)!, using: &generator))
            do {
                let traces = try decoder.decodeTraces(from: input)
                #expect(traces.rejected.allSatisfy { $0.path.hasPrefix("resourceSpans[") && !$0.message.isEmpty })
                let logs = try decoder.decodeLogs(from: input)
                #expect(logs.rejected.allSatisfy { $0.path.hasPrefix("resourceLogs[") && !$0.message.isEmpty })
                decoded += 1
                rejected += traces.rejected.count + logs.rejected.count
            } catch {
                #expect(!error.message.isEmpty)
                failed += 1
            }
        }
        // The mutations reach every outcome: accepted, partly rejected, refused.
        #expect(decoded > 0)
        #expect(rejected > 0)
        #expect(failed > 0)
    }

    @Test func everyTruncationOfAFixtureIsNotJSON() throws {
        let payload = try Fixtures.data("python-sdk/python-json-traces.json")
        let closingBrace = try #require(payload.lastIndex(of: UInt8(ascii: "}")))
        // Every ninth length keeps the test quick in debug builds.
        for length in stride(from: 0, to: closingBrace, by: 9) {
            do {
                _ = try OTLPJSONDecoder().decodeTraces(from: payload.prefix(length))
                Issue.record("a \(length)-byte prefix decoded")
            } catch {
                #expect(error == OTLPDecodingError(path: "", message: "body is not valid JSON"))
            }
        }
    }
}
