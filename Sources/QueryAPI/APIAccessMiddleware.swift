import Hummingbird

/// Applies `APIAccessPolicy` to every request of the API port. Router middleware runs once the
/// router has matched the request (or found no route), so `context.endpointPath` is the route
/// the request reaches, whatever spelling of the path it came with.
public struct APIAccessMiddleware<Context: RequestContext>: RouterMiddleware {
    let policy: APIAccessPolicy

    public init(policy: APIAccessPolicy) {
        self.policy = policy
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // A WebSocket handshake refused before the upgrade arrives here as a plain GET, still
        // with its `Sec-WebSocket-Key`: it is answered with the policy's reason, not a 426.
        let asked = APIAccessPolicy.Request(method: request.method, route: context.endpointPath,
                                            authority: request.head.authority, headers: request.headers,
                                            isWebSocketUpgrade: WebSocketRoute.asksForUpgrade(request))
        if let refusal = policy.refusal(asked) { return refusal.failure.response }
        return try await next(request, context)
    }
}

/// The Host check alone, for the OTLP receiver's port (`APIAccessPolicy.hostRefusal`).
public struct HostCheckMiddleware<Context: RequestContext>: RouterMiddleware {
    let allowedHosts: HostAllowList?

    public init(allowedHosts: HostAllowList?) {
        self.allowedHosts = allowedHosts
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let policy = APIAccessPolicy(keys: [], allowedHosts: allowedHosts)
        if let refusal = policy.hostRefusal(request.head.authority) { return refusal.failure.response }
        return try await next(request, context)
    }
}
