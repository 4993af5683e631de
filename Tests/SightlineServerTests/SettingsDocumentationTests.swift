import Foundation
import SightlineServer
import Testing

/// README.md's configuration tables against `Setting`'s table: the same settings, each with
/// the same flag, variable and default.
@Suite struct SettingsDocumentationTests {
    static let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../README.md").standardized

    @Test func theREADMEsTablesListEverySettingWithItsFlagVariableAndDefault() throws {
        let text = try String(contentsOf: Self.readme, encoding: .utf8)
        for difference in SettingsDocumentation.differences(readme: text) { Issue.record("\(difference)") }
    }

    /// The check itself, on a README written from the table: it agrees, and each kind of
    /// disagreement is found and named.
    @Test func theCheckFindsASettingMissingOrExtraAndAFlagOrDefaultThatDiffers() {
        let written = SettingsDocumentation.readme()
        #expect(SettingsDocumentation.differences(readme: written) == [])
        func differences(_ old: String, _ new: String) -> [String] {
            let changed = written.replacingOccurrences(of: old, with: new)
            #expect(changed != written, "\(old) is not in the written README")
            return SettingsDocumentation.differences(readme: changed)
        }
        #expect(differences("| `SMTP_PORT` | `587` |", "| `SMTP_PORTS` | `587` |") == [
            "SMTP_PORT is missing from README.md",
            "README.md lists SMTP_PORTS, which is not a setting",
        ])
        #expect(differences("| `--otlp-port` | `SIGHTLINE_OTLP_PORT` | `4318` |", "| `--receiver-port` | `SIGHTLINE_OTLP_PORT` | `4317` |") == [
            "SIGHTLINE_OTLP_PORT: README.md shows the flag --receiver-port, the code has --otlp-port",
            "SIGHTLINE_OTLP_PORT: README.md shows the default `4317`, the code `4318`",
        ])
        #expect(differences("| `--allow-unauthenticated` | `SIGHTLINE_ALLOW_UNAUTHENTICATED` |", "| | `SIGHTLINE_ALLOW_UNAUTHENTICATED` |") == [
            "SIGHTLINE_ALLOW_UNAUTHENTICATED: README.md shows no flag, the code has --allow-unauthenticated",
        ])
        #expect(differences("| 2 per core, at least 8 |", "| `8` |") == [
            "SIGHTLINE_MAX_CONCURRENT_DECODES: README.md shows the default `8`, the code 2 per core, at least 8",
        ])
        #expect(differences("| `SMTP_USER` |", "| `SMTP_USER` | (none) | x |\n| `SMTP_USER` |") == [
            "SMTP_USER is listed 2 times in README.md",
        ])
        #expect(differences(SettingsDocumentation.mainHeader, "| Flag |").first
                == "README.md has no table headed | Flag | Environment variable | Default | Meaning |")
        // The alert engine's rows may as well be in the main table, with no flag.
        let oneTable = SettingsDocumentation.readme(alertingApart: false)
        #expect(!oneTable.contains(SettingsDocumentation.alertingHeader))
        #expect(SettingsDocumentation.differences(readme: oneTable) == [])
    }
}

/// README.md's settings tables read as rows, and compared with `Setting`'s table.
enum SettingsDocumentation {
    /// The main table: every setting with a flag, and others.
    static let mainHeader = "| Flag | Environment variable | Default | Meaning |"
    /// The alert engine's variables (environment only), where README.md lists them apart;
    /// each may as well be a row of the main table with an empty flag cell.
    static let alertingHeader = "| Variable | Default | Meaning |"

    struct Row: Equatable {
        /// `--otlp-port`, or `nil` for an empty flag cell.
        var flag: String?
        var variable: String
        /// The default cell as written (`` `4318` ``, `(none)`, or words).
        var defaultCell: String
    }

    /// Every difference, one sentence each; none when README.md and the code agree.
    static func differences(readme: String) -> [String] {
        var differences: [String] = []
        if table(headed: mainHeader, in: readme) == nil {
            differences.append("README.md has no table headed \(mainHeader)")
        }
        let rows = rows(of: readme)
        for setting in Setting.allCases {
            let documented = rows.filter { $0.variable == setting.environmentVariable }
            guard let row = documented.first else {
                differences.append("\(setting.environmentVariable) is missing from README.md")
                continue
            }
            if documented.count > 1 {
                differences.append("\(setting.environmentVariable) is listed \(documented.count) times in README.md")
            }
            let flag = setting.flag.map { "--\($0)" }
            if row.flag != flag {
                differences.append("\(setting.environmentVariable): README.md shows \(row.flag.map { "the flag \($0)" } ?? "no flag"), "
                                   + "the code has \(flag ?? "none")")
            }
            if row.defaultCell != setting.documentedDefault {
                differences.append("\(setting.environmentVariable): README.md shows the default \(row.defaultCell), the code \(setting.documentedDefault)")
            }
        }
        let known = Set(Setting.allCases.map(\.environmentVariable))
        for row in rows where !known.contains(row.variable) {
            differences.append("README.md lists \(row.variable), which is not a setting")
        }
        return differences
    }

    /// A README with the tables as `Setting`'s table says they should read, a `\|` in each
    /// "Meaning" cell: the settings without a flag and without the `SIGHTLINE_` prefix in the
    /// alert engine's table when `alertingApart`, every other one in the main table.
    static func readme(alertingApart: Bool = true) -> String {
        let alerting = Setting.allCases.filter { alertingApart && $0.flag == nil && !$0.environmentVariable.hasPrefix("SIGHTLINE_") }
        let main = Setting.allCases.filter { !alerting.contains($0) }
        return "# Sightline\n\n\(mainHeader)\n|---|---|---|---|\n"
            + main.map { "| \($0.flag.map { "`--\($0)`" } ?? "") | `\($0.environmentVariable)` | \($0.documentedDefault) | a \\| b |\n" }.joined()
            + (alerting.isEmpty ? "" : "\n\(alertingHeader)\n|---|---|---|\n")
            + alerting.map { "| `\($0.environmentVariable)` | \($0.documentedDefault) | a \\| b |\n" }.joined()
            + "\nMore text.\n"
    }

    /// The rows of both tables.
    static func rows(of readme: String) -> [Row] {
        let main = (table(headed: mainHeader, in: readme) ?? []).map { cells in
            Row(flag: cells[0].isEmpty ? nil : unquoted(cells[0]), variable: unquoted(cells[1]), defaultCell: cells[2])
        }
        let alerting = (table(headed: alertingHeader, in: readme) ?? []).map { cells in
            Row(flag: nil, variable: unquoted(cells[0]), defaultCell: cells[1])
        }
        return main + alerting
    }

    /// The cells of each row of the table under `header` (its separator line skipped), split at
    /// `|` but not at `\|`, trimmed; `nil` when there is no such table.
    static func table(headed header: String, in readme: String) -> [[String]]? {
        let lines = readme.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let start = lines.firstIndex(of: header) else { return nil }
        let columns = header.split(separator: "|").count
        return lines[(start + 2)...].prefix { $0.hasPrefix("|") }.map { line in
            var cells: [String] = []
            var cell = ""
            var escaped = false
            for character in line.dropFirst() {
                if character == "|", !escaped {
                    cells.append(cell.trimmingCharacters(in: .whitespaces))
                    cell = ""
                } else {
                    cell.append(character)
                }
                escaped = character == "\\"
            }
            return cells + Array(repeating: "", count: max(0, columns - cells.count))
        }
    }

    /// `` `NAME` `` without its backticks.
    static func unquoted(_ cell: String) -> String {
        cell.hasPrefix("`") && cell.hasSuffix("`") && cell.count >= 2 ? String(cell.dropFirst().dropLast()) : cell
    }
}
