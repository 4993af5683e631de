import ArgumentParser
import Foundation
import Logging
import SightlineServer
import UnixSignals

/// `sightline`: an OpenTelemetry-compatible collector and observability backend.
@main
struct Sightline: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sightline",
        abstract: "OpenTelemetry-compatible collector and observability backend.",
        subcommands: [Serve.self, Migrate.self],
        defaultSubcommand: Serve.self)
}

/// The settings every subcommand takes: one flag per `Setting` that has one, read from
/// `Setting`'s table (`Setting.commandLineValues`), so a setting added there is an option here.
struct SettingOptions: ParsableArguments {
    @Argument(parsing: .allUnrecognized,
              help: ArgumentHelp("Settings, as --flag VALUE (or an on/off setting's --flag alone):", discussion: Setting.commandLineHelp,
                                 valueName: "settings"))
    var arguments: [String] = []

    func validate() throws {
        do {
            _ = try Setting.commandLineValues(arguments)
        } catch {
            throw ValidationError(error.description)
        }
    }

    /// The validated configuration and a logger; prints one line and exits on a bad setting.
    func resolve() throws -> (SightlineConfiguration, Logger) {
        do {
            let configuration = try SightlineConfiguration.resolve(
                flags: Setting.commandLineValues(arguments), environment: ProcessInfo.processInfo.environment)
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = configuration.logLevel
                return handler
            }
            return (configuration, Logger(label: "sightline"))
        } catch {
            FileHandle.standardError.write(Data("sightline: \(error)\n".utf8))
            throw ExitCode(2)
        }
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Receive, store and serve telemetry (the default).")

    @OptionGroup var options: SettingOptions

    func run() async throws {
        let (configuration, logger) = try options.resolve()
        logger.info("configuration: \(configuration.redactedDescription)")
        do {
            let server = try await SightlineServer.prepare(
                configuration: configuration, logger: logger, gracefulShutdownSignals: [.sigterm, .sigint])
            try await server.run()
        } catch {
            logger.critical("Sightline stopped: \(error)")
            throw ExitCode(1)
        }
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply database migrations and exit.")

    @OptionGroup var options: SettingOptions
    @Flag(help: "Print the SQL an administrator runs to create the PostgreSQL role custom_sql alert rules log in as, and exit (nothing is migrated).")
    var printRulesRoleSql = false

    func run() async throws {
        let (configuration, logger) = try options.resolve()
        if printRulesRoleSql {
            guard let script = try SightlineServer.rulesRoleScript(configuration) else {
                FileHandle.standardError.write(Data("sightline: --print-rules-role-sql is only for PostgreSQL storage\n".utf8))
                throw ExitCode(2)
            }
            print(script)
            return
        }
        do {
            let store = try await SightlineServer.openStore(configuration, logger: logger)
            let applied = try await store.migrate()
            try await store.close()
            logger.info("migrations applied: \(applied.isEmpty ? "none (up to date)" : applied.joined(separator: ", "))")
        } catch {
            logger.critical("migration failed: \(error)")
            throw ExitCode(1)
        }
    }
}
