/// A writer of the Prometheus text exposition format, version 0.0.4: `# HELP` and `# TYPE`
/// lines, then samples, with label values and help texts escaped as the format requires.
///
/// Small and hand-written on purpose: swift-prometheus renders Sightline's fixed self metrics,
/// but the span-derived and LLM series are dynamic (label sets appear with the data and are
/// bounded), which its registry is not made for.
public struct PrometheusTextWriter: Sendable {
    public enum MetricType: String, Sendable {
        case counter, gauge, histogram
    }

    public private(set) var text = ""

    public init() {}

    /// Starts a family: `# HELP name help` and `# TYPE name type`.
    public mutating func family(_ name: String, type: MetricType, help: String) {
        text += "# HELP \(name) \(Self.escapeHelp(help))\n# TYPE \(name) \(type.rawValue)\n"
    }

    /// One sample line: `name{label="value",...} value`.
    public mutating func sample(_ name: String, labels: [(String, String)] = [], value: Double) {
        text += name
        if !labels.isEmpty {
            text += "{"
            for (index, (key, labelValue)) in labels.enumerated() {
                if index > 0 { text += "," }
                text += key + "=\"" + Self.escapeLabelValue(labelValue) + "\""
            }
            text += "}"
        }
        text += " " + Self.number(value) + "\n"
    }

    public mutating func sample(_ name: String, labels: [(String, String)] = [], value: Int64) {
        sample(name, labels: labels, value: Double(value))
    }

    /// The `_bucket` (cumulative, ending with `le="+Inf"`), `_sum` and `_count` samples of one
    /// histogram series. `counts[i]` is the number of observations in bucket `i` alone
    /// (`bounds.count + 1` entries, the last one above every bound).
    public mutating func histogram(_ name: String, labels: [(String, String)], bounds: [Double], counts: [Int64], sum: Double) {
        precondition(counts.count == bounds.count + 1)
        var cumulative: Int64 = 0
        for (index, bound) in bounds.enumerated() {
            cumulative += counts[index]
            sample(name + "_bucket", labels: labels + [("le", Self.number(bound))], value: cumulative)
        }
        cumulative += counts[bounds.count]
        sample(name + "_bucket", labels: labels + [("le", "+Inf")], value: cumulative)
        sample(name + "_sum", labels: labels, value: sum)
        sample(name + "_count", labels: labels, value: cumulative)
    }

    /// `\` → `\\`, `"` → `\"`, line feed → `\n`; every other character as it is.
    public static func escapeLabelValue(_ value: String) -> String {
        guard value.utf8.contains(where: { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\n") }) else {
            return value
        }
        var escaped = String.UnicodeScalarView()
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\\": escaped.append(contentsOf: "\\\\".unicodeScalars)
            case "\"": escaped.append(contentsOf: "\\\"".unicodeScalars)
            case "\n": escaped.append(contentsOf: "\\n".unicodeScalars)
            default: escaped.append(scalar)
            }
        }
        return String(escaped)
    }

    /// `\` → `\\`, line feed → `\n` (help texts keep their quotes).
    public static func escapeHelp(_ help: String) -> String {
        help.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
    }

    /// Go's formatting of sample values as Prometheus reads them: integers without a
    /// fraction, `+Inf`, `-Inf`, `NaN`, otherwise the shortest exact decimal.
    public static func number(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }
}
