import Foundation
import Store

/// Pairs the client and server halves of calls between services, as Tempo's metrics-generator
/// does for its service graph: a client span (kind CLIENT or PRODUCER) and a server span (kind
/// SERVER or CONSUMER) whose parent is that client span, in the same trace, make one edge from
/// the client's service to the server's. Halves wait for their other half at most `wait`; a
/// client span that expires unpaired but names its peer (`peer.service`, else `db.name` or
/// `db.system`) makes an edge to a virtual node of that name. A plain value: the caller owns
/// the clock (times in nanoseconds) and the lock.
struct ServiceGraphPairing: Sendable {
    /// How the server of an edge was found.
    enum Connection: String, Sendable, Hashable, Comparable {
        /// A server span of an instrumented service.
        case direct = ""
        /// A client span's `peer.service`.
        case virtualNode = "virtual_node"
        /// A client span's `db.name` or `db.system`.
        case database

        static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    /// One call: the services, whether either half failed, the halves' durations (the server's
    /// is absent for a virtual node).
    struct Edge: Equatable, Sendable {
        var client: String
        var server: String
        var connection: Connection
        var failed: Bool
        var clientNanoseconds: Int64
        var serverNanoseconds: Int64?
    }

    /// The half of a call kept until its other half arrives.
    struct Half: Sendable {
        var service: String
        var failed: Bool
        var nanoseconds: Int64
        var arrived: Int64
        /// A client's peer, for a virtual node if it expires unpaired.
        var peer: (name: String, connection: Connection)?
    }

    /// Which call a half belongs to: the trace and the client span's id.
    struct CallKey: Hashable, Sendable {
        var traceID: String
        var clientSpanID: String
    }

    let wait: Int64
    let maxPending: Int
    private(set) var clients: [CallKey: Half] = [:]
    private(set) var servers: [CallKey: Half] = [:]
    /// Arrival order, for expiry (entries whose half was paired are skipped).
    private var arrivals: [(key: CallKey, isClient: Bool, arrived: Int64)] = []
    private var arrivalsStart = 0
    /// Halves given up when `maxPending` were already waiting.
    private(set) var dropped: Int64 = 0

    init(wait: Int64 = 10_000_000_000, maxPending: Int = 10_000) {
        self.wait = wait
        self.maxPending = maxPending
    }

    var pendingCount: Int { clients.count + servers.count }

    /// Adds committed spans at time `now`: the edges they complete, and those of the halves
    /// that expired before `now`.
    mutating func add(_ spans: [SpanRow], now: Int64) -> [Edge] {
        var edges = expire(now: now)
        for span in spans {
            let nanoseconds = span.endTimeUnixNano &- span.startTimeUnixNano
            let failed = span.status == "error"
            switch span.kind {
            case 3, 4:
                let key = CallKey(traceID: span.traceID, clientSpanID: span.spanID)
                if let server = servers.removeValue(forKey: key) {
                    edges.append(Edge(client: span.serviceName, server: server.service, connection: .direct,
                                      failed: failed || server.failed, clientNanoseconds: nanoseconds, serverNanoseconds: server.nanoseconds))
                } else if keep() {
                    clients[key] = Half(service: span.serviceName, failed: failed, nanoseconds: nanoseconds, arrived: now, peer: Self.peer(of: span))
                    arrivals.append((key, true, now))
                }
            case 2, 5:
                guard let parent = span.parentSpanID, !parent.isEmpty else { continue }
                let key = CallKey(traceID: span.traceID, clientSpanID: parent)
                if let client = clients.removeValue(forKey: key) {
                    edges.append(Edge(client: client.service, server: span.serviceName, connection: .direct,
                                      failed: failed || client.failed, clientNanoseconds: client.nanoseconds, serverNanoseconds: nanoseconds))
                } else if keep() {
                    servers[key] = Half(service: span.serviceName, failed: failed, nanoseconds: nanoseconds, arrived: now)
                    arrivals.append((key, false, now))
                }
            default:
                continue
            }
        }
        return edges
    }

    /// Whether another half may wait (else it is counted as dropped).
    private mutating func keep() -> Bool {
        guard pendingCount < maxPending else {
            dropped += 1
            return false
        }
        return true
    }

    /// Halves that arrived `wait` or longer before `now` give up: a client that names its peer
    /// makes an edge to a virtual node; the others are forgotten.
    mutating func expire(now: Int64) -> [Edge] {
        var edges: [Edge] = []
        while arrivalsStart < arrivals.count, now - arrivals[arrivalsStart].arrived >= wait {
            let (key, isClient, arrived) = arrivals[arrivalsStart]
            arrivalsStart += 1
            if isClient {
                guard let client = clients[key], client.arrived == arrived else { continue }
                clients[key] = nil
                if let peer = client.peer {
                    edges.append(Edge(client: client.service, server: peer.name, connection: peer.connection, failed: client.failed,
                                      clientNanoseconds: client.nanoseconds, serverNanoseconds: nil))
                }
            } else if let server = servers[key], server.arrived == arrived {
                servers[key] = nil
            }
        }
        if arrivalsStart > 1024, arrivalsStart * 2 > arrivals.count {
            arrivals.removeFirst(arrivalsStart)
            arrivalsStart = 0
        }
        return edges
    }

    /// A client span's peer: `peer.service`, else the database's `db.name` or `db.system`.
    static func peer(of span: SpanRow) -> (name: String, connection: Connection)? {
        guard span.tags.contains("peer.service") || span.tags.contains("db."),
              let attributes = try? JSONSerialization.jsonObject(with: Data(span.tags.utf8)) as? [String: Any] else { return nil }
        if let name = attributes["peer.service"] as? String, !name.isEmpty { return (name, .virtualNode) }
        for key in ["db.name", "db.system"] {
            if let name = attributes[key] as? String, !name.isEmpty { return (name, .database) }
        }
        return nil
    }
}
