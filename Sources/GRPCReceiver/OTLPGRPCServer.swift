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
            })
        self.server = GRPCServer(transport: transport, services: [service])
        self.onListening = onListening
    }

    public func run() async throws {
        let server = server
        try await withGracefulShutdownHandler {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await server.serve() }
                // Throws when binding failed; `serve()` then throws too.
                let address = try await server.transport.listeningAddress
                onListening(address.ipv4?.port ?? address.ipv6?.port ?? 0)
                try await group.waitForAll()
            }
        } onGracefulShutdown: {
            server.beginGracefulShutdown()
        }
    }
}
