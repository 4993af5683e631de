import Alerting

/// How a setting's text is checked and where its value goes: the rule column of `Setting`'s
/// table. The checks themselves are `Setting.Parse`'s, shared by every setting of a kind.
struct SettingRule {
    /// Whether the flag stands alone, without a value (`--allow-unauthenticated`).
    var isSwitch = false
    /// Reads `setting` into `resolution`: its value, or its problems.
    var apply: (_ setting: SettingText, _ resolution: inout SettingsResolution) -> Void

    /// The value `parse` reads, stored at `field`.
    static func value<Value>(_ field: WritableKeyPath<SightlineConfiguration, Value>,
                             _ parse: @escaping (String) -> Result<Value, SettingProblem>) -> SettingRule {
        SettingRule { setting, resolution in
            switch parse(setting.text) {
            case .success(let value): resolution.configuration[keyPath: field] = value
            case .failure(let problem): resolution.problems.append(setting.describe(problem))
            }
        }
    }

    /// On or off: a flag standing alone on the command line, `true`/`false` (`1`/`0`,
    /// `yes`/`no`, `on`/`off`) in the environment.
    static func `switch`(_ field: WritableKeyPath<SightlineConfiguration, Bool>) -> SettingRule {
        var rule = value(field, Setting.Parse.boolean)
        rule.isSwitch = true
        return rule
    }

    /// A comma-separated list whose entries `parse` reads; it returns the values and a
    /// problem per bad entry, each naming the setting it is given (`--flag` or the variable).
    static func entries<Value>(_ field: WritableKeyPath<SightlineConfiguration, [Value]>,
                               _ parse: @escaping (_ entries: [String], _ setting: String) -> ([Value], [String])) -> SettingRule {
        SettingRule { setting, resolution in
            let (values, problems) = parse(Setting.Parse.entries(setting.text), setting.source)
            resolution.configuration[keyPath: field] = values
            resolution.problems += problems
        }
    }

    /// A part of the SMTP server's settings, read only when `SMTP_HOST` is set (without it
    /// there is no e-mail channel, and the other `SMTP_*` variables are ignored).
    static func smtp<Value>(_ field: WritableKeyPath<SMTPSettings, Value>,
                            _ parse: @escaping (String) -> Result<Value, SettingProblem>) -> SettingRule {
        SettingRule { setting, resolution in
            guard !resolution.text(of: .smtpHost).text.trimmed.isEmpty else { return }
            switch parse(setting.text) {
            case .success(let value): resolution.smtp[keyPath: field] = value
            case .failure(let problem): resolution.problems.append(setting.describe(problem))
            }
        }
    }
}

/// A setting's text as given, and how a problem names it.
struct SettingText {
    var text: String
    /// `--otlp-port`, `SIGHTLINE_OTLP_PORT`, or `default otlp-port`.
    var source: String
    var isSecret: Bool

    /// `SOURCE="text": problem`, or `SOURCE: problem` when the text is a secret or the problem
    /// leaves it out.
    func describe(_ problem: SettingProblem) -> String {
        problem.showsValue && !isSecret ? "\(source)=\"\(text)\": \(problem.message)" : "\(source): \(problem.message)"
    }
}

/// What is wrong with a setting's text, without the setting's name (`SettingText.describe`
/// adds it).
struct SettingProblem: Error {
    var message: String
    /// Whether the problem may quote the text (not when it may hold a password or a token).
    var showsValue = true

    /// `expected WHAT`, quoting the text.
    static func expected(_ what: String) -> SettingProblem { SettingProblem(message: "expected \(what)") }

    /// A problem that never quotes the text.
    static func withoutValue(_ message: String) -> SettingProblem { SettingProblem(message: message, showsValue: false) }
}

/// Settings being read: where each one's text comes from (a flag, then its environment
/// variable, then its default), and what the rules made of them so far.
struct SettingsResolution {
    let flags: [Setting: String]
    let environment: [String: String]
    var configuration = SightlineConfiguration()
    /// `SMTP_*`, kept as the e-mail channel's server when `SMTP_HOST` is set.
    var smtp = SMTPSettings(host: "")
    var problems: [String] = []

    /// The text of `setting`. A variable of a setting without a flag that is set but blank
    /// (`SMTP_PASSWORD=`) counts as unset; a flag's variable is read as it is.
    func text(of setting: Setting) -> SettingText {
        let definition = setting.definition
        if let text = flags[setting] {
            return SettingText(text: text, source: definition.flag.map { "--\($0)" } ?? definition.environmentVariable,
                               isSecret: definition.isSecret)
        }
        if let text = environment[definition.environmentVariable], definition.flag != nil || !text.trimmed.isEmpty {
            return SettingText(text: text, source: definition.environmentVariable, isSecret: definition.isSecret)
        }
        return SettingText(text: definition.defaultValue, source: "default \(definition.flag ?? definition.environmentVariable)",
                           isSecret: definition.isSecret)
    }
}
