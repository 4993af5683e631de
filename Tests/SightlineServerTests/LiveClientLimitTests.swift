import Foundation
import Testing

/// The live log stream and Loki's tail share one feed of at most 100 clients: with all of them
/// connected, an upgrade to either endpoint is refused with 503 and `Retry-After` (a client
/// retries later), never 426 (which tells it to upgrade, as it just tried to).
@Suite struct LiveClientLimitTests {
    @Test func aFullFeedRefusesBothEndpointsWith503() async throws {
        try await TestServer.with(.sqlite) { server in
            try await withDeadline(.seconds(180), "100 live clients, then a refused upgrade") {
                var clients: [StreamClient] = []
                for _ in 0..<100 { clients.append(try await StreamClient.connect(server, query: "")) }

                let tailQuery = "query=" + #"{service_name="shop"}"#.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
                let tail = try await server.request(
                    server.api + "/loki/api/v1/tail?" + tailQuery, method: .GET, body: nil, contentType: nil,
                    headers: [("Connection", "Upgrade, close"), ("Upgrade", "websocket"), ("Sec-WebSocket-Version", "13"),
                              ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")])
                #expect(tail.status == 503, "\(tail.status) \(tail.body)")
                #expect(tail.headers.first(name: "Retry-After") == "5")
                #expect(tail.body.contains("too many live clients"), "\(tail.body)")

                let stream = try await handshake(server, query: "")
                #expect(stream.status == 503, "\(stream.status) \(stream.body)")

                // A plain request to the tail still learns it must upgrade.
                #expect(try await server.get(server.api + "/loki/api/v1/tail?" + tailQuery).status == 426)

                for client in clients { try await client.close() }
            }
        }
    }
}
