import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import OTLP
import QueryAPI
import Store

/// A refusal of a Grafana-compatible endpoint: a real status and the message, written in the
/// shape of the system imitated (`GrafanaFailure.lokiResponse`, `tempoResponse`).
public struct GrafanaFailure: Error, Sendable, Equatable {
    public var status: HTTPResponse.Status
    public var message: String

    public init(_ status: HTTPResponse.Status, _ message: String) {
        self.status = status
        self.message = message
    }

    static func badParameter(_ name: String, _ problem: String) -> GrafanaFailure {
        GrafanaFailure(.badRequest, "\(name): \(problem)")
    }

    static let storeUnavailable = GrafanaFailure(.serviceUnavailable, "store is unavailable; retry later")

    /// A failed read, as the query API answers it (`QueryFailure.read`): 422 past the store's
    /// time limit, 503 when the store is busy or unavailable. A regular expression too slow on
    /// one value is the query's fault: 400.
    static func read(_ error: any Error) -> GrafanaFailure {
        if let error = error as? StoreError, error.kind == .failed, error.reason.contains(SQLiteRegexp.tooSlowMessage) {
            return GrafanaFailure(.badRequest, "a regular expression took longer than 100 ms on one value; simplify it")
        }
        let failure = QueryFailure.read(error)
        return GrafanaFailure(failure.status, failure.message)
    }

    /// Runs a store read: a failure is logged (with the store's reason, for logs only) and
    /// answered as `read(_:)` says.
    static func reading<T>(_ logger: Logger, _ message: Logger.Message, _ read: () async throws -> T) async throws(GrafanaFailure) -> T {
        do {
            return try await read()
        } catch {
            logger.warning(message, metadata: ["error": "\(error)", "reason": "\((error as? StoreError)?.reason ?? "")"])
            throw .read(error)
        }
    }

    /// Loki's error body: `{"code": 400, "status": "error", "message": "..."}` (Grafana shows `message`).
    var lokiResponse: Response {
        var body = JSONWriter()
        body.beginObject()
        body.key("code"); body.int(Int64(status.code))
        body.key("status"); body.string("error")
        body.key("message"); body.string(message)
        body.endObject()
        return response(body.bytes, contentType: "application/json")
    }

    /// Tempo answers errors as plain text.
    var tempoResponse: Response {
        response(Array((message + "\n").utf8), contentType: "text/plain; charset=utf-8")
    }

    private func response(_ bytes: [UInt8], contentType: String) -> Response {
        var headers: HTTPFields = [.contentType: contentType]
        if status == .serviceUnavailable { headers[HTTPField.Name("Retry-After")!] = "5" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

/// The query string of a request, read as HTML forms encode it (`+` is a space), which is how
/// Grafana's Go backend writes it; repeated names (`match[]`) are kept.
struct FormParameters {
    private(set) var pairs: [(name: String, value: String)] = []

    init(_ request: Request) {
        self.init(query: request.uri.query ?? "")
    }

    init(query: String) {
        for part in query.split(separator: "&", omittingEmptySubsequences: true) {
            let pieces = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = Self.decode(pieces[0])
            let value = pieces.count > 1 ? Self.decode(pieces[1]) : ""
            pairs.append((name, value))
        }
    }

    static func decode(_ text: Substring) -> String {
        let spaced = text.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }

    /// The first value of `name` (as Go's `FormValue`), nil when absent or empty.
    func text(_ name: String, maxLength: Int = 16_384) throws(GrafanaFailure) -> String? {
        guard let value = pairs.first(where: { $0.name == name })?.value, !value.isEmpty else { return nil }
        guard value.count <= maxLength else { throw .badParameter(name, "longer than \(maxLength) characters") }
        return value
    }

    func all(_ name: String) -> [String] { pairs.filter { $0.name == name }.map(\.value).filter { !$0.isEmpty } }

    func int(_ name: String, default fallback: Int, in range: ClosedRange<Int>) throws(GrafanaFailure) -> Int {
        guard let text = try text(name) else { return fallback }
        guard let value = Int(text) else { throw .badParameter(name, "expected an integer, got \"\(text.prefix(40))\"") }
        guard range.contains(value) else { throw .badParameter(name, "must be between \(range.lowerBound) and \(range.upperBound)") }
        return value
    }

    /// A time: Unix nanoseconds, Unix seconds (with a fraction) or RFC 3339.
    func time(_ name: String) throws(GrafanaFailure) -> Int64? {
        guard let text = try text(name, maxLength: 64) else { return nil }
        guard let nanos = QueryTime.parse(text) else {
            throw .badParameter(name, "expected Unix seconds or nanoseconds, or an RFC 3339 time, got \"\(text.prefix(40))\"")
        }
        // Between 1970 and 2100, so time arithmetic never overflows.
        guard (0...4_102_444_800_000_000_000).contains(nanos) else { throw .badParameter(name, "must be between 1970 and 2100") }
        return nanos
    }

    /// A duration: Go syntax (`100ms`, `1m0s`) or seconds (`15`, `0.5`).
    func duration(_ name: String) throws(GrafanaFailure) -> Int64? {
        guard let text = try text(name, maxLength: 64) else { return nil }
        if let seconds = Double(text), seconds.isFinite, seconds >= 0, seconds < 9e9 { return Int64((seconds * 1e9).rounded()) }
        guard let nanos = GoDuration.parse(text), nanos >= 0 else {
            throw .badParameter(name, "expected a duration such as 100ms or 1m, got \"\(text.prefix(40))\"")
        }
        return nanos
    }
}

extension Response {
    static func json(_ status: HTTPResponse.Status = .ok, _ fill: (inout JSONWriter) -> Void) -> Response {
        var body = JSONWriter(capacity: 4096)
        body.beginObject()
        fill(&body)
        body.endObject()
        return Response(status: status, headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(bytes: body.bytes)))
    }
}

enum Clock {
    static var nowNanos: Int64 { Int64(Date.now.timeIntervalSince1970 * 1e9) }
}

/// A path segment as Grafana sends it: percent-encoded, sometimes twice (`resource.service.name`
/// arrives as `resource.service.name`, `resource%2Eservice%2Ename` or `resource%252Eservice...`).
func decodedPathSegment(_ text: String) -> String {
    var current = text
    for _ in 0..<3 {
        guard current.contains("%"), let decoded = current.removingPercentEncoding, decoded != current else { break }
        current = decoded
    }
    return current
}
