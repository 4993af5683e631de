import Foundation
@testable import OTLP
@_exported import ServerTestSupport
@_exported import StoreTestSupport

/// Sightline as Grafana sees it: the shared live-server harness (`get` takes a path on the API
/// port, `ingest` sends OTLP protobuf).
typealias GrafanaTestServer = TestServer

extension GrafanaTestServer {
    /// Tempo's trace by id as Grafana asks for it (`/api/v2/traces/{id}`, protobuf), read back
    /// as the OTLP export it holds; nil unless the answer is 200.
    func tempoTrace(_ id: String) async throws -> ExportTraceServiceRequest? {
        let answer = try await get("/api/v2/traces/\(id)", headers: [("Accept", "application/protobuf")])
        guard answer.status == 200 else { return nil }
        let trace = try TempoTraceByIDResponse(serializedBytes: answer.bytes).trace
        return try OTLPProtobufDecoder().decodeTraces(from: try trace.serializedData()).request
    }
}

/// Query strings as Go's `url.Values.Encode` writes them (sorted keys, `+` for spaces), which is
/// what Grafana's Tempo and Loki data sources send.
enum FormEncoding {
    static func query(_ pairs: [(String, String)]) -> String {
        pairs.sorted { $0.0 < $1.0 }.map { "\(escape($0.0))=\(escape($0.1))" }.joined(separator: "&")
    }

    static func escape(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-_.~")
        allowed.remove(charactersIn: "+")
        return (text.addingPercentEncoding(withAllowedCharacters: allowed) ?? "").replacingOccurrences(of: "%20", with: "+")
    }
}
