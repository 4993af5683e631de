import CompressNIO
import HTTPTypes
import Hummingbird
import NIOCore

/// Reads a request body within the size limits and inflates gzip/deflate bodies.
struct RequestBody {
    var maxBodyBytes: Int
    var maxInflatedBytes: Int

    func read(_ request: Request) async throws(IngestFailure) -> ByteBuffer {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > maxBodyBytes {
            throw .payloadTooLarge("body of \(length) bytes exceeds the limit of \(maxBodyBytes) bytes")
        }
        var body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: maxBodyBytes)
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            throw .payloadTooLarge("body exceeds the limit of \(maxBodyBytes) bytes")
        } catch {
            throw .badRequest("could not read the request body")
        }
        let encoding = (request.headers[.contentEncoding] ?? "identity").trimmed.lowercased()
        switch encoding {
        case "", "identity":
            return body
        case "gzip", "x-gzip":
            return try inflate(&body, with: .gzip(), name: "gzip")
        case "deflate":
            // HTTP's "deflate" is a zlib stream; some clients send raw deflate instead.
            var copy = body
            if let inflated = try? inflate(&copy, with: .zlib(), name: "deflate") { return inflated }
            return try inflate(&body, with: .deflate(), name: "deflate")
        default:
            throw .unsupportedEncoding(encoding)
        }
    }

    /// Inflates at most `maxInflatedBytes`: a compression bomb stops at the limit.
    private func inflate(_ body: inout ByteBuffer, with algorithm: CompressionAlgorithm, name: String) throws(IngestFailure) -> ByteBuffer {
        do {
            return try body.decompress(with: algorithm, maxSize: maxInflatedBytes)
        } catch let error as CompressNIOError where error == .bufferOverflow {
            throw .payloadTooLarge("inflated body exceeds the limit of \(maxInflatedBytes) bytes")
        } catch {
            throw .badRequest("body is not valid \(name) data")
        }
    }
}

extension String {
    var trimmed: String {
        var slice = Substring(self)
        while slice.first?.isWhitespace == true { slice.removeFirst() }
        while slice.last?.isWhitespace == true { slice.removeLast() }
        return String(slice)
    }
}
