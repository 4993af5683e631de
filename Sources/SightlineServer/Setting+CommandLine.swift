import Foundation

extension Setting {
    /// The settings given on a command line, for `SightlineConfiguration.resolve(flags:)`:
    /// `--flag VALUE` or `--flag=VALUE`, and an on/off setting's flag alone
    /// (`--allow-unauthenticated`). Every setting with a flag has one; the last of a repeated
    /// flag wins.
    public static func commandLineValues(_ arguments: [String]) throws(CommandLineError) -> [Setting: String] {
        let byFlag = Dictionary(uniqueKeysWithValues: allCases.compactMap { setting in setting.flag.map { ("--\($0)", setting) } })
        var values: [Setting: String] = [:]
        var remaining = arguments[...]
        while let argument = remaining.popFirst() {
            let name = argument.split(separator: "=", maxSplits: 1).first.map(String.init) ?? argument
            guard argument.hasPrefix("--"), let setting = byFlag[name] else {
                // Never the argument itself when it is not an option: it may be a password.
                throw CommandLineError(description: argument.hasPrefix("-") ? "unknown option '\(name)'" : "unexpected argument")
            }
            let attached = argument.count > name.count ? String(argument.dropFirst(name.count + 1)) : nil
            if setting.isSwitch {
                guard attached == nil else { throw CommandLineError(description: "\(name) takes no value") }
                values[setting] = "true"
            } else if let attached {
                values[setting] = attached
            } else if let next = remaining.first, !next.hasPrefix("--") {
                values[setting] = remaining.removeFirst()
            } else {
                throw CommandLineError(description: "missing value for \(name)")
            }
        }
        return values
    }

    /// The settings as `sightline --help` lists them: each flag with what it does, its
    /// environment variable and its default, then the settings read from the environment only.
    public static var commandLineHelp: String {
        func entry(_ setting: Setting) -> String {
            let label = switch setting.flag {
            case let flag? where setting.isSwitch: "--\(flag)"
            case let flag?: "--\(flag) <value>"
            case nil: setting.environmentVariable
            }
            var details: [String] = []
            if setting.flag != nil { details.append(setting.environmentVariable) }
            if setting.documentedDefault != "(none)" {
                details.append("default " + setting.documentedDefault.filter { !"`()".contains($0) })
            }
            if setting.isSecret { details.append("a secret, never logged") }
            return "\(label)\n    \(setting.help)" + (details.isEmpty ? "" : " (\(details.joined(separator: "; ")))")
        }
        return "A flag wins over its environment variable, which wins over the default (README.md describes each).\n\n"
            + allCases.filter { $0.flag != nil }.map(entry).joined(separator: "\n")
            + "\n\nEnvironment only:\n" + allCases.filter { $0.flag == nil }.map(entry).joined(separator: "\n")
    }
}

/// A command line naming an unknown setting, or a setting without its value.
public struct CommandLineError: Error, Sendable, CustomStringConvertible {
    public var description: String
}
