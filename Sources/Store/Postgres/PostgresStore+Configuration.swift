import Foundation
import NIOSSL
import PostgresNIO

extension PostgresStore {
    /// Connection settings, from a `postgres://user:password@host:port/database?sslmode=…` URL
    /// and Sightline's PostgreSQL settings.
    public struct Configuration: Sendable {
        public enum TLSMode: String, Sendable, CaseIterable {
            case disable, prefer, require
        }

        public var host: String
        public var port: Int
        public var username: String
        public var password: String?
        public var database: String?
        public var tls: TLSMode
        /// Most connections the two pools open together: `writerConnections` for the writer
        /// and probes, the rest (`readerConnections`) for reads.
        public var poolSize: Int
        /// Server-side limit for one statement of the writer's sessions and the store's other
        /// sessions (`statement_timeout`).
        public var statementTimeout: Duration
        /// Server-side limit for one read (`statement_timeout` of the read pool's sessions).
        public var readTimeout: Duration
        /// Limit for one whole write (waiting for a connection included).
        public var writeTimeout: Duration
        /// Memory one sort, hash or bitmap of a Sightline statement may use (`work_mem`) before
        /// spilling. At PostgreSQL's default 4 MB, the bitmap of a full-text search matching
        /// 150,000 of 5 million log records turns lossy (pages instead of rows), and counting
        /// its matches rechecks every record on 11,000 pages: 110 ms instead of 85 ms.
        public var workMem = "32MB"
        /// `SIGHTLINE_RULES_STORAGE`: a `postgres://` URL for the role alert rules' SQL logs in
        /// as, where Sightline's user may not create it (`PostgresRulesRole`); nil: the role
        /// Sightline creates and keeps the password of.
        public var rulesURL: String?
        /// `SIGHTLINE_READ_STORAGE`: a hot standby of this database that the query reads go to
        /// (`PostgresStandby`), with this configuration's pool size and time limits; nil: every
        /// read on this database. Set with `useReadStorage(url:)`.
        public private(set) var readStorage: Box?

        /// A configuration held inside another (`readStorage`).
        public final class Box: Sendable {
            public let configuration: Configuration
            init(_ configuration: Configuration) { self.configuration = configuration }
        }

        /// Sends the query reads to the standby at `url` (its `sslmode`, else this
        /// configuration's TLS mode).
        public mutating func useReadStorage(url: String) throws(StoreError) {
            var standby = try Configuration(url: url, tls: nil, poolSize: poolSize, statementTimeout: statementTimeout,
                                            readTimeout: readTimeout, writeTimeout: writeTimeout)
            let sslmode = URLComponents(string: url)?.queryItems?.first { $0.name == "sslmode" }?.value
            if sslmode == nil { standby.tls = tls }
            standby.workMem = workMem
            readStorage = Box(standby)
        }

        /// Parses `url`; `tls` overrides the URL's `sslmode` (default `prefer`).
        public init(url: String, tls: TLSMode? = nil, poolSize: Int = 10,
                    statementTimeout: Duration = .seconds(30), readTimeout: Duration = ReadTimeLimit.default,
                    writeTimeout: Duration = .seconds(10)) throws(StoreError) {
            guard let components = URLComponents(string: url),
                  components.scheme == "postgres" || components.scheme == "postgresql",
                  let host = components.host, !host.isEmpty else {
                throw StoreError(operation: "configure", reason: "expected postgres://user:password@host:port/database")
            }
            self.host = host
            self.port = components.port ?? 5432
            self.username = components.user.map { $0.removingPercentEncoding ?? $0 } ?? "postgres"
            self.password = components.password.map { $0.removingPercentEncoding ?? $0 }
            let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
            self.database = path.isEmpty ? nil : path
            let sslmode = components.queryItems?.first { $0.name == "sslmode" }?.value
            if let tls {
                self.tls = tls
            } else if let sslmode {
                switch sslmode {
                case "disable", "allow": self.tls = .disable
                case "prefer": self.tls = .prefer
                case "require", "verify-ca", "verify-full": self.tls = .require
                default: throw StoreError(operation: "configure", reason: "unknown sslmode \(sslmode)")
                }
            } else {
                self.tls = .prefer
            }
            self.poolSize = poolSize
            self.statementTimeout = statementTimeout
            self.readTimeout = readTimeout
            self.writeTimeout = writeTimeout
        }

        /// The writer's own connections: its two commits in flight (`concurrentCommits`) and
        /// one for probes, so neither waits behind reads.
        public static let writerConnections = 3

        /// Connections for reads: the pool size less the writer's, at least 1.
        public var readerConnections: Int { max(1, poolSize - Self.writerConnections) }

        var tlsConfiguration: PostgresClient.Configuration.TLS {
            switch tls {
            case .disable: .disable
            case .prefer: .prefer(.makeClientConfiguration())
            case .require: .require(.makeClientConfiguration())
            }
        }

        private func startupParameters(statementTimeout: Duration) -> [(String, String)] {
            let milliseconds = max(1, statementTimeout.components.seconds * 1000
                + statementTimeout.components.attoseconds / 1_000_000_000_000_000)
            return [("statement_timeout", String(milliseconds)), ("work_mem", workMem), ("application_name", "sightline")]
        }

        /// The writer's pool: commits and probes.
        var writerClientConfiguration: PostgresClient.Configuration {
            clientConfiguration(connections: Self.writerConnections, statementTimeout: statementTimeout)
        }

        /// The read pool: every read, each statement stopped at `readTimeout`.
        var readerClientConfiguration: PostgresClient.Configuration {
            clientConfiguration(connections: readerConnections, statementTimeout: readTimeout)
        }

        private func clientConfiguration(connections: Int, statementTimeout: Duration) -> PostgresClient.Configuration {
            var configuration = PostgresClient.Configuration(
                host: host, port: port, username: username, password: password, database: database, tls: tlsConfiguration)
            configuration.options.maximumConnections = connections
            configuration.options.connectTimeout = .seconds(5)
            configuration.options.additionalStartupParameters = startupParameters(statementTimeout: statementTimeout)
            return configuration
        }

        public var connectionConfiguration: PostgresConnection.Configuration {
            let connectionTLS: PostgresConnection.Configuration.TLS
            switch tls {
            case .disable: connectionTLS = .disable
            case .prefer: connectionTLS = (try? .prefer(.init(configuration: .makeClientConfiguration()))) ?? .disable
            case .require: connectionTLS = (try? .require(.init(configuration: .makeClientConfiguration()))) ?? .disable
            }
            var configuration = PostgresConnection.Configuration(
                host: host, port: port, username: username, password: password, database: database, tls: connectionTLS)
            configuration.options.connectTimeout = .seconds(10)
            configuration.options.additionalStartupParameters = startupParameters(statementTimeout: statementTimeout)
            return configuration
        }
    }
}
