import Foundation
import OTLP
import Testing

/// Bytes that are not a valid OTLP protobuf message: the whole payload fails with a clear
/// `OTLPDecodingError`; nothing crashes, hangs or allocates more than the input warrants.
@Suite("Bad protobuf input")
struct ProtobufBadInputTests {
    let decoder = OTLPProtobufDecoder()

    func traceFailure(_ data: Data) -> OTLPDecodingError? {
        do {
            _ = try decoder.decodeTraces(from: data)
            return nil
        } catch {
            return error
        }
    }

    func logsFailure(_ data: Data) -> OTLPDecodingError? {
        do {
            _ = try decoder.decodeLogs(from: data)
            return nil
        } catch {
            return error
        }
    }

    static let prefix = "body is not a valid OTLP protobuf message: "

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var bytes: [UInt8]
        var path = ""
        var message: String
        var testDescription: String { name }
    }

    static let oneSpan = Array(PBWire.message([.message(1, [.message(2, [.message(2, ProtobufDecodingTests.span())])])]))

    static let cases: [Case] = [
        Case(name: "truncated inside a span", bytes: Array(oneSpan.dropLast(3)),
             message: prefix + "a field runs past the end of the body (truncated)"),
        Case(name: "length beyond the body", bytes: PBWire.tag(1, 2) + PBWire.varint(100) + [0x0A, 0x00],
             message: prefix + "a field runs past the end of the body (truncated)"),
        Case(name: "declared length of 1 TiB", bytes: PBWire.tag(1, 2) + PBWire.varint(1 << 40) + [0x0A],
             message: prefix + "a field runs past the end of the body (truncated)"),
        Case(name: "declared length of 2^62", bytes: PBWire.tag(1, 2) + PBWire.varint(1 << 62) + [0x0A],
             message: prefix + "a field runs past the end of the body (truncated)"),
        Case(name: "length of UInt64.max", bytes: PBWire.tag(1, 2) + PBWire.varint(.max),
             message: prefix + "a field runs past the end of the body (truncated)"),
        Case(name: "resource_spans as a varint", bytes: PBWire.tag(1, 0) + PBWire.varint(5),
             path: "", message: "field 1 has the wrong wire type (varint)"),
        Case(name: "span trace_id as fixed32", bytes: Array(PBWire.message([.message(1, [.message(2, [.message(2,
                ProtobufDecodingTests.span(traceID: Data()) + [.fixed32(1, 7)])])])])),
             path: "resourceSpans[0].scopeSpans[0].spans[0]", message: "field 1 has the wrong wire type (fixed32)"),
        Case(name: "span start time as a varint", bytes: Array(PBWire.message([.message(1, [.message(2, [.message(2,
                ProtobufDecodingTests.span([.varint(7, 7)]))])])])),
             path: "resourceSpans[0].scopeSpans[0].spans[0]", message: "field 7 has the wrong wire type (varint)"),
        Case(name: "attribute value as fixed64", bytes: Array(PBWire.message([.message(1, [.message(2, [.message(2,
                ProtobufDecodingTests.span([.message(9, [.bytes(1, Data("k".utf8)), .fixed64(2, 1)])]))])])])),
             path: "resourceSpans[0].scopeSpans[0].spans[0].attributes[0]", message: "field 2 has the wrong wire type (fixed64)"),
        Case(name: "resource attributes as varint", bytes: Array(PBWire.message([.message(1, [.message(1, [.varint(1, 1)])])])),
             path: "resourceSpans[0].resource", message: "field 1 has the wrong wire type (varint)"),
        Case(name: "wire type 7", bytes: [0x0F, 0x00], message: prefix + "malformed field (bad tag, wire type or length)"),
        Case(name: "field number 0", bytes: [0x02, 0x00], message: prefix + "malformed field (bad tag, wire type or length)"),
        Case(name: "varint longer than 10 bytes", bytes: PBWire.tag(99, 0) + Array(repeating: 0xFF, count: 11) + [0x01],
             message: prefix + "malformed field (bad tag, wire type or length)"),
        Case(name: "unterminated varint", bytes: PBWire.tag(99, 0) + [0xFF, 0xFF],
             message: prefix + "a field runs past the end of the body (truncated)"),
        Case(name: "string not UTF-8", bytes: Array(PBWire.message([.message(1, [.message(2, [.message(2,
                ProtobufDecodingTests.span([.bytes(5, Data([0x61, 0xFF, 0xFE]))]))])])])),
             message: prefix + "a string field is not valid UTF-8"),
        Case(name: "JSON sent as protobuf", bytes: Array(#"{"resourceSpans":[]}"#.utf8),
             message: prefix + "a field runs past the end of the body (truncated)"),
        Case(name: "values nested 200 deep", bytes: Array(PBWire.message([.message(1, [.message(2, [.message(2,
                ProtobufDecodingTests.span([.message(9, [.bytes(2, PBWire.nestedArrayBytes(5_000))])]))])])])),
             message: prefix + "messages nest too deeply"),
        Case(name: "values nested 5,000 deep", bytes: Array(PBWire.message([.message(1, [.message(2, [.message(2,
                ProtobufDecodingTests.span([.message(9, [.bytes(2, PBWire.nestedArrayBytes(5_000))])]))])])])),
             message: prefix + "messages nest too deeply"),
    ]

    @Test(arguments: cases)
    func badInputFailsThePayload(_ testCase: Case) {
        let data = Data(testCase.bytes)
        #expect(traceFailure(data) == OTLPDecodingError(path: testCase.path, message: testCase.message))
        // The reference (swift-protobuf and the generated messages) refuses the same bytes; it
        // words some of them differently (a length beyond 2 GiB is "malformed" there).
        do {
            _ = try OTLPProtobufDecoder(engine: .generated).decodeTraces(from: data)
            Issue.record("the generated-code decoder accepted \(testCase.name)")
        } catch {
            #expect(error.path == testCase.path)
            #expect(error.message.hasPrefix(Self.prefix) || !error.path.isEmpty || error.message.contains("wrong wire type"))
        }
    }

    @Test func logsFailTheSameWay() {
        #expect(logsFailure(Data(PBWire.tag(1, 2) + PBWire.varint(300) + [0x0A])) ==
                OTLPDecodingError(path: "", message: Self.prefix + "a field runs past the end of the body (truncated)"))
        let wrongWireType = PBWire.message([.message(1, [.message(2, [.message(2, [.bytes(1, Data("time".utf8))])])])])
        #expect(logsFailure(wrongWireType) == OTLPDecodingError(path: "resourceLogs[0].scopeLogs[0].logRecords[0]",
                                                               message: "field 1 has the wrong wire type (length-delimited)"))
    }

    @Test func everyPrefixOfAFixtureDecodesOrFails() throws {
        // Cutting a real payload anywhere gives either a smaller valid message (a cut between
        // fields) or an error, never a crash.
        for path in ["python-sdk/python-proto-traces.bin", "python-sdk/python-proto-logs.bin"] {
            let bytes = try Fixtures.data(path)
            var failed = 0
            for length in 0..<bytes.count {
                let prefix = bytes.prefix(length)
                let traces = path.contains("traces")
                let failure = traces ? traceFailure(prefix) : logsFailure(prefix)
                if let failure { #expect(failure.message.hasPrefix(Self.prefix), "\(failure)") ; failed += 1 }
            }
            #expect(failed > bytes.count / 2, "most cuts land inside a field")
        }
    }

    @Test func randomBytesNeverCrash() {
        var generator = FuzzTests.SeededGenerator(state: 0xB0B0_0001)
        var decoded = 0, failed = 0
        for _ in 0..<5_000 {
            let count = Int.random(in: 0...256, using: &generator)
            let bytes = Data((0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) })
            if traceFailure(bytes) == nil { decoded += 1 } else { failed += 1 }
            _ = logsFailure(bytes)
        }
        #expect(decoded + failed == 5_000)
        #expect(failed > decoded, "random bytes are mostly not a message")
    }

    @Test func mutatedFixturesDecodeOrFail() throws {
        var generator = FuzzTests.SeededGenerator(state: 0x9B0F_F00D)
        let traces = Array(try Fixtures.data("python-sdk/python-proto-traces.bin"))
        let logs = Array(try Fixtures.data("python-sdk/python-proto-logs.bin"))
        var outcomes = (decoded: 0, rejectedItems: 0, failed: 0)
        for round in 0..<4_000 {
            var bytes = round.isMultiple(of: 2) ? traces : logs
            for _ in 0..<Int.random(in: 1...4, using: &generator) where !bytes.isEmpty {
                let position = Int.random(in: 0..<bytes.count, using: &generator)
                switch Int.random(in: 0..<4, using: &generator) {
                case 0: bytes[position] ^= UInt8.random(in: 1...255, using: &generator)
                case 1: bytes.removeSubrange(position..<min(bytes.count, position + Int.random(in: 1...8, using: &generator)))
                case 2: bytes.insert(contentsOf: PBWire.varint(UInt64.random(in: 0...UInt64.max, using: &generator)), at: position)
                default: bytes[position] = UInt8.random(in: 0...255, using: &generator)
                }
            }
            do {
                let rejected = round.isMultiple(of: 2)
                    ? try decoder.decodeTraces(from: Data(bytes)).rejected
                    : try decoder.decodeLogs(from: Data(bytes)).rejected
                if rejected.isEmpty { outcomes.decoded += 1 } else { outcomes.rejectedItems += 1 }
                for error in rejected { #expect(!error.path.isEmpty && !error.message.isEmpty) }
            } catch {
                #expect(error.message.hasPrefix(Self.prefix) || !error.path.isEmpty, "\(error)")
                outcomes.failed += 1
            }
        }
        #expect(outcomes.decoded > 0 && outcomes.rejectedItems > 0 && outcomes.failed > 0, "\(outcomes)")
    }
}
