import SightlineServer
import Testing

@Suite struct ConfigurationTests {
    @Test func defaultsMatchTheContract() throws {
        let configuration = try SightlineConfiguration.resolve()
        #expect(configuration.storage == .sqlite(path: "./sightline-data/sightline.db"))
        #expect(configuration.otlpHost == "127.0.0.1" && configuration.otlpPort == 4318)
        #expect(configuration.httpHost == "127.0.0.1" && configuration.httpPort == 3200)
        #expect(configuration.maxBodyBytes == 20 << 20)
        #expect(configuration.maxInflatedBytes == 64 << 20)
        #expect(configuration.queueCapacity == 10_000)
        #expect(configuration.apiKeys.isEmpty && configuration.ingestTokens.isEmpty)
    }

    @Test func flagsWinOverEnvironmentWhichWinsOverDefaults() throws {
        let configuration = try SightlineConfiguration.resolve(
            flags: [.otlpPort: "5000", .storage: "sqlite:/tmp/flag.db"],
            environment: ["SIGHTLINE_OTLP_PORT": "6000", "SIGHTLINE_HTTP_PORT": "7000", "SIGHTLINE_STORAGE": "sqlite:/tmp/env.db",
                          "SIGHTLINE_MAX_BODY_BYTES": "1MiB", "SIGHTLINE_MAX_INFLATED_BYTES": "1048577",
                          "SIGHTLINE_API_KEYS": " a, b ,,", "SIGHTLINE_INGEST_TOKENS": "t1", "SIGHTLINE_QUEUE_CAPACITY": "10"])
        #expect(configuration.otlpPort == 5000)
        #expect(configuration.httpPort == 7000)
        #expect(configuration.storage == .sqlite(path: "/tmp/flag.db"))
        #expect(configuration.maxBodyBytes == 1 << 20)
        #expect(configuration.maxInflatedBytes == 1_048_577)
        #expect(configuration.apiKeys == ["a", "b"])
        #expect(configuration.ingestTokens == ["t1"])
        #expect(configuration.queueCapacity == 10)
    }

    @Test func everyProblemIsReportedOnOneLineNamingTheSetting() {
        do {
            _ = try SightlineConfiguration.resolve(
                flags: [.otlpPort: "70000"],
                environment: ["SIGHTLINE_HTTP_PORT": "abc", "SIGHTLINE_STORAGE": "mysql://x",
                              "SIGHTLINE_MAX_BODY_BYTES": "-1", "SIGHTLINE_QUEUE_CAPACITY": "0", "SIGHTLINE_LOG_LEVEL": "loud"])
            Issue.record("expected a configuration error")
        } catch {
            let line = error.description
            #expect(!line.contains("\n"))
            #expect(line.hasPrefix("invalid configuration: "))
            #expect(error.problems.count == 6)
            #expect(line.contains("--otlp-port=\"70000\": expected a port number from 0 to 65535"))
            #expect(line.contains("SIGHTLINE_HTTP_PORT=\"abc\""))
            #expect(line.contains("SIGHTLINE_STORAGE=\"mysql://x\": expected sqlite:PATH or a postgres:// URL"))
            #expect(line.contains("SIGHTLINE_MAX_BODY_BYTES=\"-1\""))
            #expect(line.contains("SIGHTLINE_QUEUE_CAPACITY=\"0\""))
            #expect(line.contains("SIGHTLINE_LOG_LEVEL=\"loud\""))
        }
    }

    @Test func aPublicAPIAddressNeedsKeysOrAnExplicitOptOut() throws {
        #expect(throws: ConfigurationError.self) {
            try SightlineConfiguration.resolve(flags: [.httpHost: "0.0.0.0"])
        }
        let withKeys = try SightlineConfiguration.resolve(flags: [.httpHost: "0.0.0.0"], environment: ["SIGHTLINE_API_KEYS": "k"])
        #expect(withKeys.httpHost == "0.0.0.0")
        let optedOut = try SightlineConfiguration.resolve(flags: [.httpHost: "0.0.0.0", .allowUnauthenticated: "true"])
        #expect(optedOut.allowUnauthenticated)
        // The receiver needs no API keys (ingest tokens are separate).
        let receiver = try SightlineConfiguration.resolve(flags: [.otlpHost: "0.0.0.0"], environment: ["SIGHTLINE_INGEST_TOKENS": "t"])
        #expect(receiver.otlpHost == "0.0.0.0")
    }

    /// A receiver anyone can reach, with no token, would let anyone write the telemetry that
    /// drives alerts and fills the disk: it starts only when asked for explicitly.
    @Test func aPublicReceiverNeedsIngestTokensOrAnExplicitOptOut() throws {
        for host in ["0.0.0.0", "::", "10.1.2.3", "127.evil.example"] {
            #expect {
                try SightlineConfiguration.resolve(flags: [.otlpHost: host])
            } throws: { error in
                "\(error)".contains("--otlp-host=\"\(host)\"") && "\(error)".contains("SIGHTLINE_INGEST_TOKENS")
                    && "\(error)".contains("--allow-unauthenticated-ingest")
            }
        }
        let optedOut = try SightlineConfiguration.resolve(flags: [.otlpHost: "0.0.0.0", .allowUnauthenticatedIngest: "true"])
        #expect(optedOut.allowUnauthenticatedIngest)
        let fromEnvironment = try SightlineConfiguration.resolve(
            flags: [.otlpHost: "0.0.0.0"], environment: ["SIGHTLINE_ALLOW_UNAUTHENTICATED_INGEST": "true"])
        #expect(fromEnvironment.allowUnauthenticatedIngest)
        for loopback in ["127.0.0.1", "127.0.0.2", "localhost", "::1"] {
            #expect(try SightlineConfiguration.resolve(flags: [.otlpHost: loopback]).otlpHost == loopback)
        }
    }

    @Test func allowedHostsAreHostNames() throws {
        let configured = try SightlineConfiguration.resolve(environment: ["SIGHTLINE_ALLOWED_HOSTS": "sightline.example.com, *.corp.example"])
        #expect(configured.allowedHosts == ["sightline.example.com", "*.corp.example"])
        #expect {
            try SightlineConfiguration.resolve(environment: ["SIGHTLINE_ALLOWED_HOSTS": "https://sightline.example.com"])
        } throws: { "\($0)".contains("SIGHTLINE_ALLOWED_HOSTS") && "\($0)".contains("not a host name") }
    }

    @Test func secretsAreNeverInTheLoggedDescription() throws {
        let configuration = try SightlineConfiguration.resolve(
            environment: ["SIGHTLINE_API_KEYS": "super-secret-key", "SIGHTLINE_INGEST_TOKENS": "ingest-secret"])
        #expect(!configuration.redactedDescription.contains("super-secret-key"))
        #expect(!configuration.redactedDescription.contains("ingest-secret"))
        #expect(configuration.redactedDescription.contains("api_keys=1"))
    }

    @Test func settingNamesAreTheDocumentedOnes() {
        #expect(Setting.otlpPort.environmentVariable == "SIGHTLINE_OTLP_PORT")
        #expect(Setting.maxInflatedBytes.environmentVariable == "SIGHTLINE_MAX_INFLATED_BYTES")
        #expect(Setting.apiKeys.environmentVariable == "SIGHTLINE_API_KEYS")
        #expect(Setting.ingestTokens.environmentVariable == "SIGHTLINE_INGEST_TOKENS")
        #expect(Setting.httpHost.flag == "http-host")
        #expect(Setting.tracecontextTestRoute.flag == "enable-tracecontext-test-route")
        #expect(Setting.tracecontextTestRoute.environmentVariable == "SIGHTLINE_TRACECONTEXT_TEST_ROUTE")
    }

    @Test func theTraceContextTestRouteIsOffAndOnlyForLoopback() throws {
        #expect(try SightlineConfiguration.resolve().tracecontextTestRoute == false)
        #expect(try SightlineConfiguration.resolve(environment: ["SIGHTLINE_TRACECONTEXT_TEST_ROUTE": "1"]).tracecontextTestRoute)
        #expect(try SightlineConfiguration.resolve(flags: [.tracecontextTestRoute: "true"]).tracecontextTestRoute)
        do {
            _ = try SightlineConfiguration.resolve(environment: ["SIGHTLINE_TRACECONTEXT_TEST_ROUTE": "1", "SIGHTLINE_HTTP_HOST": "10.0.0.1",
                                                                 "SIGHTLINE_API_KEYS": "k"])
            Issue.record("a public address with the test route was accepted")
        } catch {
            #expect(error.description.contains("SIGHTLINE_TRACECONTEXT_TEST_ROUTE"))
        }
    }

    @Test func theQueryTimeoutIsSecondsWithAFractionAllowed() throws {
        #expect(try SightlineConfiguration.resolve().queryTimeout == .seconds(30))
        #expect(try SightlineConfiguration.resolve(flags: [.queryTimeout: "2.5"]).queryTimeout == .milliseconds(2500))
        #expect(try SightlineConfiguration.resolve(environment: ["SIGHTLINE_QUERY_TIMEOUT": "10"]).queryTimeout == .seconds(10))
        #expect(Setting.queryTimeout.flag == "query-timeout" && Setting.queryTimeout.environmentVariable == "SIGHTLINE_QUERY_TIMEOUT")
        for bad in ["0", "-1", "abc", "1e9", ""] {
            do {
                _ = try SightlineConfiguration.resolve(environment: ["SIGHTLINE_QUERY_TIMEOUT": bad])
                Issue.record("accepted \(bad)")
            } catch {
                #expect(error.problems == ["SIGHTLINE_QUERY_TIMEOUT=\"\(bad)\": expected seconds from 0.001 to 86400 (e.g. 30 or 2.5)"])
            }
        }
    }

    @Test func theMetricRetentionIsDaysOrHours() throws {
        #expect(try SightlineConfiguration.resolve().retention.metrics == .seconds(14 * 86_400))
        #expect(try SightlineConfiguration.resolve(flags: [.metricRetention: "36h"]).retention.metrics == .seconds(36 * 3600))
        #expect(try SightlineConfiguration.resolve(environment: ["SIGHTLINE_METRIC_RETENTION": "2d"]).retention.metrics == .seconds(2 * 86_400))
        #expect(try SightlineConfiguration.resolve(flags: [.metricRetention: "0"]).retention.metrics == nil)
        for bad in ["0d", "14", "-1h", "1w"] {
            do {
                _ = try SightlineConfiguration.resolve(environment: ["SIGHTLINE_METRIC_RETENTION": bad])
                Issue.record("accepted \(bad)")
            } catch {
                #expect(error.problems == ["SIGHTLINE_METRIC_RETENTION=\"\(bad)\": expected a period in hours or days (e.g. 36h, 14d), or 0 to keep for ever"])
            }
        }
    }

    @Test func resolvingNothingGivesTheTypesDefaults() throws {
        #expect(try SightlineConfiguration.resolve() == SightlineConfiguration())
    }

    /// One boolean reading for every on/off setting, from the environment; on the command line
    /// the flag alone turns it on.
    @Test func everyOnOffSettingReadsTheSameWords() throws {
        let fields: [Setting: KeyPath<SightlineConfiguration, Bool>] = [
            .allowUnauthenticated: \.allowUnauthenticated, .allowUnauthenticatedIngest: \.allowUnauthenticatedIngest,
            .tracecontextTestRoute: \.tracecontextTestRoute,
        ]
        #expect(Set(fields.keys) == Set(Setting.allCases.filter(\.isSwitch)))
        for (setting, field) in fields {
            for (word, value) in [("1", true), ("TRUE", true), ("yes", true), ("On", true), ("0", false), ("false", false), ("no", false),
                                  ("OFF", false), ("", false)] {
                #expect(try SightlineConfiguration.resolve(environment: [setting.environmentVariable: word])[keyPath: field] == value)
            }
            #expect(throws: ConfigurationError.self) {
                try SightlineConfiguration.resolve(environment: [setting.environmentVariable: "maybe"])
            }
            let flag = try #require(setting.flag)
            #expect(try SightlineConfiguration.resolve(flags: Setting.commandLineValues(["--\(flag)"]))[keyPath: field])
        }
    }

    /// A setting holding a password, a key or a token is never quoted in a problem, whatever is
    /// wrong with it.
    @Test func noProblemQuotesASecret() {
        let secrets = Setting.allCases.filter(\.isSecret)
        #expect(Set(secrets) == [.apiKeys, .ingestTokens, .rulesStorage, .readStorage, .slackWebhookURL, .alertWebhookURL, .smtpPassword])
        for setting in secrets {
            for bad in ["hunter2", "mysql://user:hunter2@host/db", "postgres://user:hunter2@/db", "http://user:hunter2@", " ,hunter2, "] {
                do {
                    _ = try SightlineConfiguration.resolve(flags: [.storage: "postgres://sightline@127.0.0.1/db"],
                                                           environment: [setting.environmentVariable: bad, "SMTP_HOST": "mail"])
                } catch {
                    #expect(!error.description.contains("hunter2"), "\(setting): \(error)")
                }
            }
        }
    }

    /// A read replica is a PostgreSQL standby of PostgreSQL storage: refused at start-up with
    /// SQLite storage, naming the setting and never quoting its URL.
    @Test func readStorageIsAPostgresURLForPostgresStorageOnly() throws {
        let standby = "postgres://reader:hunter2@standby.example:5432/sightline"
        do {
            _ = try SightlineConfiguration.resolve(environment: ["SIGHTLINE_READ_STORAGE": standby])
            Issue.record("read storage with SQLite storage was accepted")
        } catch {
            #expect(error.problems == ["SIGHTLINE_READ_STORAGE: a read replica is only for PostgreSQL storage (SQLite storage is one file on one machine)"])
        }
        do {
            _ = try SightlineConfiguration.resolve(flags: [.storage: "postgres://sightline@127.0.0.1/db", .readStorage: "mysql://reader:hunter2@x/db"])
            Issue.record("a read storage that is not a postgres:// URL was accepted")
        } catch {
            #expect(error.description.contains("--read-storage"))
            #expect(!error.description.contains("hunter2"))
        }
        let configuration = try SightlineConfiguration.resolve(flags: [.storage: "postgres://sightline@127.0.0.1/db", .readStorage: standby])
        #expect(configuration.readStorage == standby)
        #expect(configuration.redactedDescription.contains("read_storage=set"))
        #expect(!configuration.redactedDescription.contains("hunter2"))
        #expect(try SightlineConfiguration.resolve(flags: [.storage: "postgres://sightline@127.0.0.1/db"]).readStorage == nil)
    }

    /// The `sightline` command's options are the table's flags: each one read in both forms.
    @Test func everyFlagIsACommandLineOption() throws {
        for setting in Setting.allCases {
            #expect(Setting.commandLineHelp.contains(setting.environmentVariable))
            guard let flag = setting.flag else {
                #expect(throws: CommandLineError.self) { try Setting.commandLineValues(["--\(setting.environmentVariable.lowercased())", "x"]) }
                continue
            }
            if setting.isSwitch {
                #expect(try Setting.commandLineValues(["--\(flag)"]) == [setting: "true"])
                #expect(throws: CommandLineError.self) { try Setting.commandLineValues(["--\(flag)=false"]) }
            } else {
                #expect(try Setting.commandLineValues(["--\(flag)", "v=1"]) == [setting: "v=1"])
                #expect(try Setting.commandLineValues(["--\(flag)=v=1"]) == [setting: "v=1"])
                #expect(try Setting.commandLineValues(["--\(flag)", "-1"]) == [setting: "-1"])
                #expect(throws: CommandLineError.self) { try Setting.commandLineValues(["--\(flag)"]) }
                #expect(throws: CommandLineError.self) { try Setting.commandLineValues(["--\(flag)", "--log-level", "info"]) }
            }
            #expect(Setting.commandLineHelp.contains("--\(flag)"))
        }
        #expect(try Setting.commandLineValues(["--otlp-port", "1", "--otlp-port=2", "--allow-unauthenticated"])
                == [.otlpPort: "2", .allowUnauthenticated: "true"])
        do {
            _ = try Setting.commandLineValues(["postgres://user:hunter2@host/db"])
            Issue.record("a stray argument was accepted")
        } catch {
            #expect(error.description == "unexpected argument")
        }
        #expect(throws: CommandLineError.self) { try Setting.commandLineValues(["--unknown=hunter2"]) }
    }
}
