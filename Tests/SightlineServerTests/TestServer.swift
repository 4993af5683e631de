import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import SightlineServer
import SQLiteNIO
import Store
import StoreTestSupport
import Testing

let quietLogger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

/// A fixture payload from Tests/Fixtures.
func fixture(_ name: String) throws -> [UInt8] {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../Fixtures/\(name)").standardized
    return Array(try Data(contentsOf: url))
}


/// An HTTP answer, read whole.
struct Answer {
    var status: Int
    var headers: HTTPHeaders
    var bytes: [UInt8]

    var body: String { String(decoding: bytes, as: UTF8.self) }

    var json: [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any]
    }
}

/// A Sightline started in-process on a real store (a SQLite file or a PostgreSQL database)
/// and free loopback ports.
struct TestServer: Sendable {
    let server: SightlineServer
    let addresses: BoundAddresses
    let database: TestDatabase

    var otlp: String { "http://127.0.0.1:\(addresses.otlpPort)" }
    var api: String { "http://127.0.0.1:\(addresses.httpPort)" }
    /// The OTLP/gRPC port, when started with `grpc: true`.
    var grpcPort: Int? { addresses.grpcPort }

    /// Starts Sightline, runs `body`, then shuts it down gracefully and waits for it to stop.
    static func with(
        _ kind: StoreKind = .sqlite,
        database existing: TestDatabase? = nil,
        flags: [Setting: String] = [:],
        environment: [String: String] = [:],
        grpc: Bool = false,
        liveClientStallLimit: Duration? = nil,
        _ body: @Sendable (TestServer) async throws -> Void
    ) async throws {
        let database: TestDatabase
        if let existing { database = existing } else { database = try await TestDatabase.create(kind) }
        defer { if existing == nil { Task { await database.drop() } } }
        var allFlags: [Setting: String] = [.storage: database.storage, .otlpPort: "0", .grpcPort: "0", .httpPort: "0"]
        // Tests write data of any age (fixtures, fixed times): kept unless a test sets a retention.
        for setting in Setting.retentionSettings { allFlags[setting] = "0" }
        allFlags.merge(flags) { _, new in new }
        var configuration = try SightlineConfiguration.resolve(flags: allFlags, environment: environment)
        if let liveClientStallLimit { configuration.liveClientStallLimit = liveClientStallLimit }
        // The OTLP/gRPC port on a free port (`--grpc-port 0` turns it off).
        if grpc { configuration.grpcPort = 0 }
        let server = try await SightlineServer.prepare(configuration: configuration, logger: quietLogger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await server.run() }
            guard let addresses = await server.addresses() else {
                Issue.record("Sightline did not start")
                return
            }
            do {
                try await body(TestServer(server: server, addresses: addresses, database: database))
            } catch {
                await server.shutdown()
                try? await tasks.waitForAll()
                throw error
            }
            await server.shutdown()
            try await tasks.waitForAll()
        }
    }

    func post(_ path: String, _ body: [UInt8], contentType: String? = "application/json",
              headers: [(String, String)] = []) async throws -> Answer {
        try await request(otlp + path, method: .POST, body: body, contentType: contentType, headers: headers)
    }

    func get(_ url: String) async throws -> Answer {
        try await request(url, method: .GET, body: nil, contentType: nil, headers: [])
    }

    func request(_ url: String, method: HTTPMethod, body: [UInt8]?, contentType: String?,
                 headers: [(String, String)]) async throws -> Answer {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let contentType { request.headers.add(name: "Content-Type", value: contentType) }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let buffer = try await response.body.collect(upTo: 16 << 20)
        return Answer(status: Int(response.status.code), headers: response.headers, bytes: Array(buffer: buffer))
    }

    /// Runs a query through a separate connection (literals only, no parameters).
    func rows(_ sql: String) async throws -> [Row] {
        try await database.rows(sql)
    }

    func count(_ table: String) async throws -> Int {
        try await database.count(table)
    }
}

/// An OTLP/JSON trace request with one span per `(traceId, spanId, parentSpanId?)`.
func tracesJSON(_ spans: [(trace: String, span: String, parent: String?, name: String, start: UInt64, end: UInt64)],
                service: String = "checkout", attributes: String = "[]") -> [UInt8] {
    let spanJSON = spans.map { span in
        """
        {"traceId":"\(span.trace)","spanId":"\(span.span)",\(span.parent.map { "\"parentSpanId\":\"\($0)\"," } ?? "")
         "name":"\(span.name)","kind":2,"startTimeUnixNano":"\(span.start)","endTimeUnixNano":"\(span.end)",
         "attributes":\(attributes),"status":{}}
        """
    }.joined(separator: ",")
    return Array("""
        {"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"\(service)"}}]},
         "scopeSpans":[{"scope":{"name":"test"},"spans":[\(spanJSON)]}]}]}
        """.utf8)
}
