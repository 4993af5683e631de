import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import OTLP
import SightlineServer
import StoreTestSupport
import Testing

let quietLogger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

/// An HTTP answer, read whole.
struct Answer {
    var status: Int
    var headers: HTTPHeaders
    var bytes: [UInt8]

    var body: String { String(decoding: bytes, as: UTF8.self) }
    var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] }
}

/// Sightline started in-process on a real store and free loopback ports, as Grafana sees it.
struct GrafanaTestServer: Sendable {
    let addresses: BoundAddresses

    var otlp: String { "http://127.0.0.1:\(addresses.otlpPort)" }
    var api: String { "http://127.0.0.1:\(addresses.httpPort)" }

    static func with(_ kind: StoreKind, environment: [String: String] = [:],
                     _ body: @Sendable (GrafanaTestServer) async throws -> Void) async throws {
        let database = try await TestDatabase.create(kind)
        defer { Task { await database.drop() } }
        let configuration = try SightlineConfiguration.resolve(
            flags: [.storage: database.storage, .otlpPort: "0", .grpcPort: "0", .httpPort: "0"].merging(keepEverything) { given, _ in given }, environment: environment)
        let server = try await SightlineServer.prepare(configuration: configuration, logger: quietLogger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await server.run() }
            guard let addresses = await server.addresses() else {
                Issue.record("Sightline did not start")
                return
            }
            do {
                try await body(GrafanaTestServer(addresses: addresses))
            } catch {
                await server.shutdown()
                try? await tasks.waitForAll()
                throw error
            }
            await server.shutdown()
            try await tasks.waitForAll()
        }
    }

    /// Sends an OTLP protobuf export through the receiver; it is committed when this returns.
    func ingest(_ traces: ExportTraceServiceRequest) async throws {
        let answer = try await request(otlp + "/v1/traces", method: .POST, body: Array(OTLPProtobufEncoder.encode(traces)),
                                       headers: [("Content-Type", "application/x-protobuf")])
        try #require(answer.status == 200, "\(answer.body)")
    }

    func ingest(_ logs: ExportLogsServiceRequest) async throws {
        let answer = try await request(otlp + "/v1/logs", method: .POST, body: Array(OTLPProtobufEncoder.encode(logs)),
                                       headers: [("Content-Type", "application/x-protobuf")])
        try #require(answer.status == 200, "\(answer.body)")
    }

    /// A GET to the API port; `path` includes the query string, encoded as Grafana's Go
    /// backend encodes it (`FormEncoding.query`).
    func get(_ path: String, headers: [(String, String)] = []) async throws -> Answer {
        try await request(api + path, method: .GET, body: nil, headers: headers)
    }

    func request(_ url: String, method: HTTPMethod, body: [UInt8]?, headers: [(String, String)]) async throws -> Answer {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let buffer = try await response.body.collect(upTo: 16 << 20)
        return Answer(status: Int(response.status.code), headers: response.headers, bytes: Array(buffer: buffer))
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

/// Tests write data of any age (fixtures, fixed times): kept, unless a test sets a retention.
let keepEverything = Dictionary(uniqueKeysWithValues: Setting.retentionSettings.map { ($0, "0") })
