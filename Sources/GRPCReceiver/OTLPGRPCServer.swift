import GRPCCore
import GRPCNIOTransportHTTP2Posix
import Ingest
import Logging
import NIOCore
import ServiceLifecycle

/// The OTLP/gRPC port (plaintext HTTP/2, gzip and deflate message compression), run as a
/// service: graceful shutdown stops accepting and lets the RPCs in flight finish (each answers
/// after its commit).
public struct OTLPGRPCServer: Service {
    private let server: GRPCServer<HTTP2ServerTransport.Posix>
    private let onListening: @Sendable (Int) -> Void

    /// - Parameters:
    ///   - host: a host name or address, resolved once here.
    ///   - port: the port; 0 picks a free one (reported to `onListening`).
    ///   - maxMessageBytes: the largest message, compressed or inflated (`maxInflatedBytes`);
    ///     the service holds an uncompressed one to `maxBodyBytes`.
    public init(host: String, port: Int, maxMessageBytes: Int, service: OTLPGRPCService,
                onListening: @escaping @Sendable (Int) -> Void) throws {
        let resolved = try NIOCore.SocketAddress.makeAddressResolvingHost(host, port: port)
        let address: GRPCNIOTransportCore.SocketAddress = switch resolved {
        case .v6: .ipv6(host: resolved.ipAddress ?? host, port: port)
        default: .ipv4(host: resolved.ipAddress ?? host, port: port)
        }
        let transport = HTTP2ServerTransport.Posix(
            address: address, transportSecurity: .plaintext,
            config: .defaults { config in
                config.rpc.maxRequestPayloadSize = maxMessageBytes
                config.compression.enabledAlgorithms = [.gzip, .deflate]
                config.connection.maxGraceTime = Self.maxGraceTime
            })
        self.server = GRPCServer(transport: transport, services: [service])
        self.onListening = onListening
    }

    /// How long the connections have to close once graceful shutdown began. The server asks
    /// each client to go away and waits for its answer (a PING acknowledged) before it closes an
    /// idle connection; a client that never answers (a socket that never sent the HTTP/2
    /// preface) would hold the process until it left, and the transport's own grace timer only
    /// starts after that answer. An RPC in flight waits for its commit, well under this; one
    /// still running then is cut off with the connection, which the SDKs retry.
    static let maxGraceTime: Duration = .seconds(5)

    public func run() async throws {
        let server = server
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.serve() }
            group.addTask {
                // Until graceful shutdown begins (or the task is cancelled: it throws then).
                try await gracefulShutdown()
                server.beginGracefulShutdown()
                try await Task.sleep(for: Self.maxGraceTime)
            }
            // Throws when binding failed; `serve()` then throws too.
            let address = try await server.transport.listeningAddress
            onListening(address.ipv4?.port ?? address.ipv6?.port ?? 0)
            // `serve()` returns once every connection has closed; past the grace time, the
            // cancellation below stops it at once.
            try await group.next()
            group.cancelAll()
        }
    }
}
