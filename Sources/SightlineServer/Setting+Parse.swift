import Foundation
import Ingest
import Logging
import QueryAPI
import Store

extension Setting {
    /// The checks of settings' texts, one per kind of value, shared by every setting of that
    /// kind. Each says what it expected without naming the setting (`SettingText.describe`
    /// does), and never quotes a text that may hold a password or a token.
    enum Parse {
        /// A port number in `range` (`0` picks a free port where the range allows it).
        static func port(in range: ClosedRange<Int>) -> (String) -> Result<Int, SettingProblem> {
            { text in
                guard let number = Int(text.trimmed), range.contains(number) else {
                    return .failure(.expected("a port number from \(range.lowerBound) to \(range.upperBound)"))
                }
                return .success(number)
            }
        }

        /// A host name or address to listen on.
        static func host(_ text: String) -> Result<String, SettingProblem> {
            text.trimmed.isEmpty ? .failure(.withoutValue("expected a host name or address")) : .success(text.trimmed)
        }

        /// A size in bytes, with `KiB`, `MiB` or `GiB` allowed (`ByteSize`).
        static func size(_ text: String) -> Result<Int, SettingProblem> {
            guard let bytes = ByteSize.parse(text), bytes > 0 else {
                return .failure(.expected("a positive size in bytes (suffixes KiB, MiB, GiB allowed)"))
            }
            return .success(bytes)
        }

        /// A whole number from 1.
        static func count(_ text: String) -> Result<Int, SettingProblem> {
            guard let number = Int(text.trimmed), number > 0 else { return .failure(.expected("a positive whole number")) }
            return .success(number)
        }

        /// A whole number from 1 to `maximum`.
        static func count(upTo maximum: Int) -> (String) -> Result<Int, SettingProblem> {
            { text in
                guard let number = Int(text.trimmed), (1...maximum).contains(number) else {
                    return .failure(.expected("a whole number from 1 to \(maximum)"))
                }
                return .success(number)
            }
        }

        /// Milliseconds, a whole number from 1.
        static func milliseconds(_ text: String) -> Result<Duration, SettingProblem> {
            count(text).map { .milliseconds($0) }
        }

        /// Seconds, a whole number from 1.
        static func wholeSeconds(_ text: String) -> Result<Duration, SettingProblem> {
            count(text).map { .seconds($0) }
        }

        /// Seconds with a fraction allowed (`2.5`), from a millisecond to `maximum`, kept to the
        /// millisecond.
        static func seconds(upTo maximum: Int) -> (String) -> Result<Duration, SettingProblem> {
            { text in
                guard let seconds = Double(text.trimmed), seconds.isFinite, seconds >= 0.001, seconds <= Double(maximum) else {
                    return .failure(.expected("seconds from 0.001 to \(maximum) (e.g. 30 or 2.5)"))
                }
                return .success(.milliseconds(Int64((seconds * 1000).rounded())))
            }
        }

        /// An age in days or hours (`14d`, `36h`), from an hour to ten years.
        static func age(_ text: String) -> Result<Duration, SettingProblem> {
            let text = text.trimmed.lowercased()
            let hours: Int? = if text.hasSuffix("d") { Int(text.dropLast()).map { $0 * 24 } }
                else if text.hasSuffix("h") { Int(text.dropLast()) } else { nil }
            guard let hours, hours >= 1, hours <= 10 * 365 * 24 else {
                return .failure(.expected("days or hours from 1h to 3650d (e.g. 14d or 36h)"))
            }
            return .success(.seconds(hours * 3600))
        }

        /// `true`, `1`, `yes`, `on`, or `false`, `0`, `no`, `off` (any case); blank is `false`.
        static func boolean(_ text: String) -> Result<Bool, SettingProblem> {
            switch text.trimmed.lowercased() {
            case "1", "true", "yes", "on": .success(true)
            case "", "0", "false", "no", "off": .success(false)
            default: .failure(.expected("true or false"))
            }
        }

        /// The entries of a comma-separated list, trimmed, blank ones left out.
        static func entries(_ text: String) -> [String] {
            text.split(separator: ",").map { String($0).trimmed }.filter { !$0.isEmpty }
        }

        /// A comma-separated list (`entries`).
        static func list(_ text: String) -> Result<[String], SettingProblem> {
            .success(entries(text))
        }

        /// The text, trimmed.
        static func text(_ text: String) -> Result<String, SettingProblem> {
            .success(text.trimmed)
        }

        /// The text, trimmed; blank is none.
        static func optionalText(_ text: String) -> Result<String?, SettingProblem> {
            .success(text.trimmed.isEmpty ? nil : text.trimmed)
        }

        /// An `http://` or `https://` URL with a host; blank is none. Never quoted: a webhook's
        /// URL is its secret.
        static func httpURL(_ text: String) -> Result<String?, SettingProblem> {
            let url = text.trimmed
            guard !url.isEmpty else { return .success(nil) }
            guard let components = URLComponents(string: url), ["http", "https"].contains(components.scheme ?? ""),
                  components.host?.isEmpty == false else {
                return .failure(.withoutValue("expected an http:// or https:// URL"))
            }
            return .success(url)
        }

        /// A `postgres://` URL; blank is none. Never quoted: it may hold a password.
        static func postgresURL(_ text: String) -> Result<String?, SettingProblem> {
            let url = text.trimmed
            guard !url.isEmpty else { return .success(nil) }
            guard url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") else {
                return .failure(.withoutValue("expected a postgres:// URL"))
            }
            do {
                _ = try PostgresStore.Configuration(url: url)
            } catch {
                return .failure(.withoutValue(error.reason))
            }
            return .success(url)
        }

        /// `sqlite:PATH` or a `postgres://` URL (whose problems never quote it: it may hold a password).
        static func storage(_ text: String) -> Result<SightlineConfiguration.Storage, SettingProblem> {
            if text.hasPrefix("sqlite:"), text.count > "sqlite:".count {
                return .success(.sqlite(path: String(text.dropFirst("sqlite:".count))))
            }
            guard text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") else {
                return .failure(.expected("sqlite:PATH or a postgres:// URL"))
            }
            return postgresURL(text).map { _ in .postgres(url: text) }
        }

        static func logLevel(_ text: String) -> Result<Logger.Level, SettingProblem> {
            guard let level = Logger.Level(rawValue: text.trimmed.lowercased()) else {
                return .failure(.expected("trace, debug, info, notice, warning, error or critical"))
            }
            return .success(level)
        }

        /// `disable`, `prefer` or `require`; blank is none (the URL's `sslmode` decides).
        static func postgresTLS(_ text: String) -> Result<PostgresStore.Configuration.TLSMode?, SettingProblem> {
            guard !text.trimmed.isEmpty else { return .success(nil) }
            guard let mode = PostgresStore.Configuration.TLSMode(rawValue: text.trimmed.lowercased()) else {
                return .failure(.expected("disable, prefer or require"))
            }
            return .success(mode)
        }

        /// LLM price entries over the built-in table (`LLMPriceTable.parse`), or `@FILE` holding them.
        static func llmPrices(_ text: String) -> Result<LLMPriceTable, SettingProblem> {
            let trimmed = text.trimmed
            var entries = trimmed
            if trimmed.hasPrefix("@") {
                let path = String(trimmed.dropFirst())
                guard let contents = try? String(contentsOfFile: path, encoding: .utf8) else {
                    return .failure(SettingProblem(message: "cannot read the price file \(path)"))
                }
                entries = contents
            }
            do {
                return .success(try LLMPriceTable.parse(entries))
            } catch {
                return .failure(.withoutValue(error.description))
            }
        }

        /// Host names (or `*.domain`) a port answers to: no scheme, no path. A problem per bad
        /// entry, naming `setting`.
        static func hostNames(_ entries: [String], setting: String) -> ([String], [String]) {
            let problems = entries.compactMap { entry -> String? in
                let name = entry.hasPrefix("*.") ? String(entry.dropFirst(2)) : entry
                guard entry.contains("://") || HostAllowList.host(ofAuthority: name) == nil || name.isEmpty else { return nil }
                return "\(setting): \"\(entry)\" is not a host name (expected names like sightline.example.com or *.example.com, no scheme)"
            }
            return (entries, problems)
        }
    }
}

/// Sizes like `1048576`, `512KiB`, `20MiB`, `1GiB` (also `k`/`m`/`g`, `KB`/`MB`/`GB` as powers of 1024).
enum ByteSize {
    static func parse(_ text: String) -> Int? {
        let trimmed = text.trimmed
        let digits = trimmed.prefix { $0.isNumber }
        guard let number = Int(digits) else { return nil }
        let unit = trimmed.dropFirst(digits.count).trimmed.lowercased()
        let multiplier: Int
        switch unit {
        case "", "b": multiplier = 1
        case "k", "kb", "kib": multiplier = 1 << 10
        case "m", "mb", "mib": multiplier = 1 << 20
        case "g", "gb", "gib": multiplier = 1 << 30
        default: return nil
        }
        let (product, overflow) = number.multipliedReportingOverflow(by: multiplier)
        return overflow ? nil : product
    }
}

extension StringProtocol {
    var trimmed: String {
        var slice = Substring(self)
        while slice.first?.isWhitespace == true { slice.removeFirst() }
        while slice.last?.isWhitespace == true { slice.removeLast() }
        return String(slice)
    }
}
