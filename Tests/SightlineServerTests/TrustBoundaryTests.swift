import Foundation
import SightlineServer
import StoreTestSupport
import Testing

/// The API port's trust boundary (docs/security.md), tried the way a hostile caller would: raw
/// request lines and headers over a loopback socket, against a real Sightline on both stores.
@Suite struct TrustBoundaryTests {
    static let key = "k1-trust-boundary"
    /// A service name that shows up in any answer that leaks stored data.
    static let secret = "secret-service-7f3a"
    static let traceID = "5b8efff798038103d269b633813fc60c"

    /// Every guarded family: the query API, alert rules, the log stream, Loki, Tempo's trace by
    /// id, search and echo, and the metrics exposition.
    static let guardedRoutes = [
        "/api/observability/traces", "/api/observability/alerts/rules", "/api/observability/logs/stream",
        "/loki/api/v1/labels", "/api/traces/\(traceID)", "/api/search", "/api/echo", "/metrics",
    ]

    /// Spellings of `route` that a router may resolve to it, or to nothing.
    static func trickySpellings(of route: String) -> [String] {
        let parts = route.split(separator: "/").map(String.init)
        let first = parts[0], rest = parts.dropFirst().joined(separator: "/")
        var spellings = [
            "/" + route, "//" + route, "/./" + route.dropFirst(), route + "/", route + "/.", route + "?x=1",
            route + ";x=1", "/" + first + "//" + rest, "/" + first + "/./" + rest, "/" + first + "/x/../" + rest,
            "/" + parts.joined(separator: "%2F"), "/" + parts.joined(separator: "%2f"), "/" + first.uppercased() + "/" + rest,
            "/%2E/" + route.dropFirst(), "/" + first + "/%2e%2e/" + first + "/" + rest, route + "%00",
        ]
        if parts.count > 1 {
            spellings.append("/" + first + "/" + parts[1] + "/../" + parts[1] + (parts.count > 2 ? "/" + parts.dropFirst(2).joined(separator: "/") : ""))
        }
        return spellings
    }

    static func ingestSecret(_ server: TestServer) async throws {
        let now = UInt64(Date().timeIntervalSince1970 * 1e9)
        let answer = try await server.post("/v1/traces", tracesJSON([
            (trace: traceID, span: "eee19b7ec3c1b174", parent: nil, name: "GET /checkout", start: now - 1_000_000, end: now),
        ], service: secret))
        #expect(answer.status == 200)
    }

    // MARK: API keys on the route reached

    @Test(arguments: StoreKind.available)
    func noSpellingOfAGuardedPathGetsPastTheKey(_ kind: StoreKind) async throws {
        try await TestServer.with(kind, environment: ["SIGHTLINE_API_KEYS": Self.key]) { server in
            try await Self.ingestSecret(server)
            let port = server.addresses.httpPort
            for route in Self.guardedRoutes {
                for path in [route] + Self.trickySpellings(of: route) {
                    for headers in [[], [("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Version", "13"),
                                         ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")]] {
                        let answer = try await RawHTTP.send(port: port, path: path, headers: headers)
                        // 401, or 400 where the server refuses the request line itself; never data.
                        #expect([400, 401].contains(answer.status), "GET \(path) \(headers.isEmpty ? "" : "(upgrade) ")answered \(answer.status)")
                        #expect(!answer.body.contains(Self.secret), "GET \(path) leaked stored data")
                        #expect(!answer.body.contains("sightline_"), "GET \(path) leaked metrics")
                    }
                }
            }
            // The same spellings with the key reach the route they resolve to: a doubled
            // slash is the traces route, checked (and answered) as that route.
            let withKey = [("Authorization", "Bearer \(Self.key)")]
            let doubled = try await RawHTTP.send(port: port, path: "//api/observability/traces", headers: withKey)
            #expect(doubled.status == 200)
            #expect(doubled.body.contains(Self.secret))
            let metrics = try await RawHTTP.send(port: port, path: "//metrics", headers: withKey)
            #expect(metrics.status == 200)
            // A path that reaches no route needs the key too: the API's shape stays hidden.
            #expect(try await RawHTTP.send(port: port, path: "/api/observability/nothing-here").status == 401)
            #expect(try await RawHTTP.send(port: port, path: "/nothing-here").status == 401)
            #expect(try await RawHTTP.send(port: port, path: "/api/observability/nothing-here", headers: withKey).status == 404)
        }
    }

    @Test func theProbesAndThePagesStayOpen() async throws {
        try await TestServer.with(environment: ["SIGHTLINE_API_KEYS": Self.key]) { server in
            let port = server.addresses.httpPort
            for path in ["/health", "/ready", "/", "/traces", "/logs", "/alerts", "/ui/app.css", "/ui/common.js", "//health"] {
                let status = try await RawHTTP.send(port: port, path: path).status
                #expect(status == 200, "GET \(path)")
            }
        }
    }

    // MARK: Host (DNS rebinding)

    @Test(arguments: StoreKind.available)
    func aForeignHostIsRefusedOnBothPorts(_ kind: StoreKind) async throws {
        try await TestServer.with(kind) { server in
            try await Self.ingestSecret(server)
            let api = server.addresses.httpPort, otlp = server.addresses.otlpPort
            for host in ["rebind.evil.example", "rebind.evil.example:\(api)", "127.0.0.1.evil.example", "10.0.0.1", "[::2]:\(api)", "localhost@evil"] {
                let answer = try await RawHTTP.send(port: api, path: "/api/observability/traces", headers: [("Host", host)])
                #expect(answer.status == 421, "Host: \(host) answered \(answer.status)")
                #expect(!answer.body.contains(Self.secret))
            }
            for host in ["localhost", "localhost:\(api)", "127.0.0.1:\(api)", "[::1]:\(api)", "LOCALHOST:\(api)"] {
                let answer = try await RawHTTP.send(port: api, path: "/api/observability/traces", headers: [("Host", host)])
                #expect(answer.status == 200, "Host: \(host) answered \(answer.status)")
                #expect(answer.body.contains(Self.secret))
            }
            // The receiver: a rebound page must not write telemetry either.
            let now = UInt64(Date().timeIntervalSince1970 * 1e9)
            let body = String(decoding: tracesJSON([(trace: "6b8efff798038103d269b633813fc60c", span: "eee19b7ec3c1b175", parent: nil,
                                                     name: "injected", start: now - 1000, end: now)]), as: UTF8.self)
            let refused = try await RawHTTP.send(port: otlp, method: "POST", path: "/v1/traces",
                                                 headers: [("Host", "rebind.evil.example:\(otlp)"), ("Content-Type", "application/json")], body: body)
            #expect(refused.status == 421)
            let injected = "SELECT count(*) AS n FROM enterprise.trace_spans WHERE operation_name = 'injected'"
            #expect(try await server.rows(injected).first?.int("n") == 0)
            let accepted = try await RawHTTP.send(port: otlp, method: "POST", path: "/v1/traces",
                                                  headers: [("Host", "localhost:\(otlp)"), ("Content-Type", "application/json")], body: body)
            #expect(accepted.status == 200)
            #expect(try await server.rows(injected).first?.int("n") == 1)
        }
    }

    @Test func allowedHostsOpenNamesAndWildcards() async throws {
        try await TestServer.with(environment: ["SIGHTLINE_ALLOWED_HOSTS": "sightline.internal,*.corp.example"]) { server in
            let port = server.addresses.httpPort
            for (host, status) in [("sightline.internal", 200), ("a.corp.example:\(port)", 200), ("corp.example", 421),
                                   ("evilcorp.example", 421), ("sightline.internal.evil", 421)] {
                let answered = try await RawHTTP.send(port: port, path: "/health", headers: [("Host", host)]).status
                #expect(answered == status, "Host: \(host)")
            }
        }
    }

    // MARK: Cross-site writes

    static func ruleBody(_ name: String) -> String {
        #"{"name":"\#(name)","metric_type":"error_count","condition":"gt","threshold":5}"#
    }

    static func ruleNames(_ server: TestServer) async throws -> [String] {
        let answer = try await server.get(server.api + "/api/observability/alerts/rules")
        let rules = answer.json?["rules"] as? [[String: Any]] ?? []
        return rules.compactMap { $0["name"] as? String }
    }

    @Test(arguments: StoreKind.available)
    func aBrowserCannotWriteFromAnotherSite(_ kind: StoreKind) async throws {
        try await TestServer.with(kind) { server in
            let port = server.addresses.httpPort
            let path = "/api/observability/alerts/rules"
            let own = "http://127.0.0.1:\(port)"
            // What a cross-site form or `fetch(…, {mode: "no-cors"})` can send.
            for (type, expected) in [("text/plain", 415), ("application/x-www-form-urlencoded", 415), ("multipart/form-data; boundary=x", 415),
                                     ("text/plain; charset=application/json", 415)] {
                let answer = try await RawHTTP.send(port: port, method: "POST", path: path,
                                                    headers: [("Content-Type", type), ("Origin", "https://evil.example")], body: Self.ruleBody("csrf-\(type)"))
                // Refused for its type or for its origin, whichever is checked first.
                #expect([403, expected].contains(answer.status), "Content-Type: \(type) answered \(answer.status)")
                let sameSite = try await RawHTTP.send(port: port, method: "POST", path: path,
                                                      headers: [("Content-Type", type)], body: Self.ruleBody("plain-\(type)"))
                #expect(sameSite.status == 415)
            }
            let untyped = try await RawHTTP.send(port: port, method: "POST", path: path, body: Self.ruleBody("untyped"))
            #expect(untyped.status == 415)
            // JSON from a foreign or opaque origin (a page that got a preflight past some other way).
            for origin in ["https://evil.example", "http://127.0.0.1:\(port + 1)", "null", "http://localhost.evil.example:\(port)"] {
                let answer = try await RawHTTP.send(port: port, method: "POST", path: path,
                                                    headers: [("Content-Type", "application/json"), ("Origin", origin)], body: Self.ruleBody("origin-\(origin)"))
                #expect(answer.status == 403, "Origin: \(origin) answered \(answer.status)")
            }
            #expect(try await Self.ruleNames(server).allSatisfy { !$0.hasPrefix("csrf") && !$0.hasPrefix("plain") && !$0.hasPrefix("origin") && $0 != "untyped" })

            // The admin pages' own requests, and clients that send no Origin, still work.
            let fromPage = try await RawHTTP.send(port: port, method: "POST", path: path,
                                                  headers: [("Content-Type", "application/json; charset=utf-8"), ("Origin", own)], body: Self.ruleBody("from-page"))
            #expect(fromPage.status == 201, "\(fromPage.body)")
            let fromCurl = try await RawHTTP.send(port: port, method: "POST", path: path,
                                                  headers: [("Content-Type", "application/json")], body: Self.ruleBody("from-curl"))
            #expect(fromCurl.status == 201)
            let created = try #require(fromCurl.body.firstMatch(of: /"id":"([^"]+)"/)?.1)
            // Deleting from another site is refused; the rule stays.
            let foreignDelete = try await RawHTTP.send(port: port, method: "DELETE", path: "\(path)/\(created)", headers: [("Origin", "https://evil.example")])
            #expect(foreignDelete.status == 403)
            #expect(try await Self.ruleNames(server).contains("from-curl"))
            // A body-less state change (acknowledge with `?user_email=`) needs no type; an unknown id is a 404.
            let acknowledge = try await RawHTTP.send(port: port, method: "POST",
                                                     path: "/api/observability/alerts/instances/00000000-0000-0000-0000-000000000000/acknowledge?user_email=a@b.c")
            #expect(acknowledge.status == 404)
            let ownDelete = try await RawHTTP.send(port: port, method: "DELETE", path: "\(path)/\(created)", headers: [("Origin", own)])
            #expect(ownDelete.status == 200 || ownDelete.status == 204)
        }
    }

    @Test func theLogStreamRefusesAForeignOrigin() async throws {
        try await TestServer.with { server in
            let port = server.addresses.httpPort
            let upgrade = [("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Version", "13"),
                           ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")]
            for path in ["/api/observability/logs/stream", "/loki/api/v1/tail?query=%7Bservice_name%3D%22x%22%7D"] {
                let foreign = try await RawHTTP.send(port: port, path: path, headers: upgrade + [("Origin", "https://evil.example")])
                #expect(foreign.status == 403, "\(path) from a foreign origin answered \(foreign.status)")
                let rebound = try await RawHTTP.send(port: port, path: path, headers: upgrade + [("Host", "rebind.evil.example:\(port)")])
                #expect(rebound.status == 421)
                let own = try await RawHTTP.send(port: port, path: path, headers: upgrade + [("Origin", "http://127.0.0.1:\(port)")])
                #expect(own.status == 101, "\(path) from its own page answered \(own.status)")
            }
        }
    }

    // MARK: The trace-context test route

    @Test func theTraceContextRouteCallsOnlyLoopbackIPLiterals() async throws {
        try await TestServer.with(flags: [.tracecontextTestRoute: "true"]) { server in
            for url in ["http://127.evil.example/", "http://localhost:1/", "http://127.0.0.1.nip.io/", "http://[::2]/", "http://10.0.0.1/"] {
                let body = Array(#"[{"url":"\#(url)","arguments":[]}]"#.utf8)
                let answer = try await server.request(server.api + "/_test/tracecontext", method: .POST, body: body,
                                                      contentType: "application/json", headers: [])
                #expect(answer.status == 400, "\(url) answered \(answer.status)")
            }
        }
    }
}
