import Foundation
@_exported import ServerTestSupport
@_exported import StoreTestSupport

/// Sightline as Grafana sees it: the shared live-server harness (`get` takes a path on the API
/// port, `ingest` sends OTLP protobuf).
typealias GrafanaTestServer = TestServer

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
