import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle

/// hummingbird-websocket's HTTP/1.1 channel with upgrades, plus a gate in front of its upgrade
/// handler: an upgrade request that `admits` refuses loses its `Upgrade` header and goes on as
/// a plain request, so the router answers it with the real status and `{"error": ...}` (then
/// the connection closes, as after any refused upgrade). Left to hummingbird-websocket, a
/// refused upgrade gets an empty 400.
///
/// The gate also closes, on graceful shutdown, a connection that has not sent a whole request
/// head yet. hummingbird-websocket decides between HTTP and WebSocket on the first head, and
/// only then adds the handler that closes idle connections when the server drains; a browser's
/// preconnected socket that never sends a request kept the server (and the process) from
/// stopping until the browser dropped it, about a minute later.
struct LogStreamUpgradeChannel: ServerChildChannel {
    struct Value: ServerChildChannelValue {
        let upgrading: HTTP1WebSocketUpgradeChannel.Value
        let gate: NIOLoopBound<UpgradeGate>
        var channel: any Channel { upgrading.channel }
    }

    let upgrading: HTTP1WebSocketUpgradeChannel
    let admits: @Sendable (HTTPRequestHead) -> Bool

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let admits = admits
        return upgrading.setup(channel: channel, logger: logger).assumeIsolated().flatMapThrowing { value in
            let pipeline = channel.pipeline.syncOperations
            let upgrader = try pipeline.handler(type: NIOTypedHTTPServerUpgradeHandler<HTTP1WebSocketUpgradeChannel.UpgradeResult>.self)
            let gate = UpgradeGate(admits: admits)
            try pipeline.addHandler(gate, position: .before(upgrader))
            return Value(upgrading: value, gate: NIOLoopBound(gate, eventLoop: channel.eventLoop))
        }.nonisolated()
    }

    func handle(value: Value, logger: Logger) async {
        await withGracefulShutdownHandler {
            await upgrading.handle(value: value.upgrading, logger: logger)
        } onGracefulShutdown: {
            let channel = value.channel
            channel.eventLoop.execute {
                if !value.gate.value.sawHead { channel.close(promise: nil) }
            }
        }
    }
}

/// Looks at the connection's first request head only, then leaves the pipeline.
final class UpgradeGate: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart

    let admits: @Sendable (HTTPRequestHead) -> Bool
    /// Whether the connection's first request head has arrived (read on the event loop).
    private(set) var sawHead = false

    init(admits: @escaping @Sendable (HTTPRequestHead) -> Bool) {
        self.admits = admits
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(var head) = unwrapInboundIn(data) else {
            context.fireChannelRead(data)
            return
        }
        sawHead = true
        if head.headers.contains(name: "upgrade"), !admits(head) {
            head.headers.remove(name: "upgrade")
            head.headers.replaceOrAdd(name: "connection", value: "close")
            context.fireChannelRead(wrapInboundOut(.head(head)))
        } else {
            context.fireChannelRead(data)
        }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}
