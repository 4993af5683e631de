import Foundation
import OTLP
import Testing

/// The direct protobuf reader against the reference (swift-protobuf parsing into the generated
/// messages, then converted): the same requests, the same rejected items, the same refusals.
@Suite("Protobuf engines agree")
struct ProtobufEngineTests {
    let direct = OTLPProtobufDecoder(engine: .direct)
    let reference = OTLPProtobufDecoder(engine: .generated)

    enum Outcome: Equatable, CustomStringConvertible {
        case decoded(String, rejected: [OTLPDecodingError])
        case failed(path: String, message: String)

        /// Refusals are equal whatever their path: with several faults in the bytes, the reference
        /// reports a parse error before any wrong wire type, the direct reader the first it meets.
        static func == (lhs: Outcome, rhs: Outcome) -> Bool {
            switch (lhs, rhs) {
            case (.decoded(let a, let x), .decoded(let b, let y)): a == b && x == y
            case (.failed, .failed): true
            default: false
            }
        }

        var description: String {
            switch self {
            case .decoded(let request, let rejected): "decoded \(request.prefix(300)) rejected \(rejected)"
            case .failed(let path, let message): "failed at '\(path)': \(message)"
            }
        }
    }

    static func traces(_ decoder: OTLPProtobufDecoder, _ data: Data) -> Outcome {
        do {
            let decoded = try decoder.decodeTraces(from: data)
            return .decoded("\(nanMarked(decoded.request))", rejected: decoded.rejected)
        } catch {
            return .failed(path: error.path, message: error.message)
        }
    }

    static func logs(_ decoder: OTLPProtobufDecoder, _ data: Data) -> Outcome {
        do {
            let decoded = try decoder.decodeLogs(from: data)
            return .decoded("\(nanMarked(decoded.request))", rejected: decoded.rejected)
        } catch {
            return .failed(path: error.path, message: error.message)
        }
    }

    static func payloads() throws -> [(traces: Bool, bytes: [UInt8])] {
        var payloads: [(Bool, [UInt8])] = [
            (true, Array(try Fixtures.data("python-sdk/python-proto-traces.bin"))),
            (false, Array(try Fixtures.data("python-sdk/python-proto-logs.bin"))),
        ]
        for path in ["otlp-examples/trace.json"] {
            payloads.append((true, Array(OTLPProtobufEncoder.encode(try OTLPJSONDecoder().decodeTraces(from: Fixtures.data(path)).request))))
        }
        for path in ["otlp-examples/logs.json", "otlp-examples/events.json"] {
            payloads.append((false, Array(OTLPProtobufEncoder.encode(try OTLPJSONDecoder().decodeLogs(from: Fixtures.data(path)).request))))
        }
        return payloads
    }

    @Test func fixturesDecodeTheSame() throws {
        for (isTraces, bytes) in try Self.payloads() {
            let data = Data(bytes)
            let outcome = isTraces ? Self.traces(direct, data) : Self.logs(direct, data)
            #expect(outcome == (isTraces ? Self.traces(reference, data) : Self.logs(reference, data)))
            guard case .decoded(_, let rejected) = outcome else { Issue.record("fixture failed: \(outcome)"); continue }
            #expect(rejected.isEmpty)
        }
    }

    @Test func mutatedPayloadsDecodeTheSame() throws {
        var generator = FuzzTests.SeededGenerator(state: 0xD1FF_0001)
        let payloads = try Self.payloads()
        var counts = (decoded: 0, rejected: 0, failed: 0), mismatches = 0
        for round in 0..<20_000 {
            let (isTraces, original) = payloads[round % payloads.count]
            var bytes = original
            for _ in 0..<Int.random(in: 1...3, using: &generator) where !bytes.isEmpty {
                let position = Int.random(in: 0..<bytes.count, using: &generator)
                switch Int.random(in: 0..<5, using: &generator) {
                case 0: bytes[position] ^= 1 << UInt8.random(in: 0...7, using: &generator)
                case 1: bytes.removeSubrange(position..<min(bytes.count, position + Int.random(in: 1...8, using: &generator)))
                case 2: bytes.insert(UInt8.random(in: 0...255, using: &generator), at: position)
                case 3: bytes[position] = [0x00, 0x01, 0x7F, 0x80, 0xFF, 0x0A, 0x12, 0x08][Int.random(in: 0..<8, using: &generator)]
                default:
                    let end = min(bytes.count, position + Int.random(in: 1...32, using: &generator))
                    bytes.insert(contentsOf: bytes[position..<end], at: Int.random(in: 0...bytes.count, using: &generator))
                }
            }
            let data = Data(bytes)
            let mine = isTraces ? Self.traces(direct, data) : Self.logs(direct, data)
            let theirs = isTraces ? Self.traces(reference, data) : Self.logs(reference, data)
            if mine != theirs {
                mismatches += 1
                if mismatches <= 5 {
                    Issue.record("round \(round): direct \(mine) ≠ reference \(theirs); bytes \(bytes.map { String($0, radix: 16) }.joined(separator: " "))")
                }
            }
            switch mine {
            case .decoded(_, let rejected): if rejected.isEmpty { counts.decoded += 1 } else { counts.rejected += 1 }
            case .failed: counts.failed += 1
            }
        }
        #expect(mismatches == 0)
        #expect(counts.decoded > 1000 && counts.rejected > 10 && counts.failed > 1000, "\(counts)")
    }
}
