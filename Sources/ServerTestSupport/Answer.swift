import Foundation
import NIOHTTP1

/// An HTTP answer, read whole: what every live-server test reads back.
public struct Answer: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var bytes: [UInt8]

    public init(status: Int, headers: HTTPHeaders = [:], bytes: [UInt8]) {
        self.status = status
        self.headers = headers
        self.bytes = bytes
    }

    public init(status: Int, bytes: [UInt8], headers: HTTPHeaders) {
        self.init(status: status, headers: headers, bytes: bytes)
    }

    public var body: String { String(decoding: bytes, as: UTF8.self) }

    /// The body as a JSON object; nil when it is not one. Implicitly unwrapped so that both
    /// `answer.json?["field"]` and `answer.json["field"]` read (the latter stops the test run
    /// on a body that is not a JSON object: check `status` first).
    public var json: [String: Any]! {
        (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any]
    }

    /// The body as a JSON object, or an empty one when it is not one.
    public var object: [String: Any] { json ?? [:] }

    /// The first value of the header `name`.
    public func header(_ name: String) -> String? { headers.first(name: name) }
}
