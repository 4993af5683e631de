import Foundation
import OTLP

/// The parsers of a LogQL pipeline, as Loki reads lines: each adds labels to an entry. A line
/// a parser cannot read gets `__error__` (`JSONParserErr`, `LogfmtParserErr`) and keeps its
/// labels, so `| __error__=""` drops it.
enum LogParsers {
    /// A label name from a key: characters other than letters, digits and `_` become `_`, and a
    /// leading digit gets a `_` in front.
    static func sanitize(_ key: String) -> String {
        var name = String(key.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") ? $0 : "_" })
        if let first = name.first, first.isNumber { name = "_" + name }
        return name
    }

    static func add(_ name: String, _ value: String, to labels: inout [String: String], streamLabels: Set<String>) {
        guard !name.isEmpty else { return }
        labels[streamLabels.contains(name) ? name + "_extracted" : name] = value
    }

    static func fail(_ error: String, _ details: String, _ labels: inout [String: String]) {
        guard labels[PipelineEntry.errorLabel] == nil else { return }
        labels[PipelineEntry.errorLabel] = error
        labels[PipelineEntry.errorDetailsLabel] = details
    }

    // MARK: json

    static func json(_ line: String, _ parameters: [ExtractionParameter], into labels: inout [String: String], streamLabels: Set<String>) {
        guard let value = JSONValue.parse(line), case .object(let members) = value else {
            fail("JSONParserErr", "the line is not a JSON object", &labels)
            return
        }
        if parameters.isEmpty {
            flatten(members, prefix: "", into: &labels, streamLabels: streamLabels)
            return
        }
        for parameter in parameters {
            guard let path = JSONPath.parse(parameter.expression) else { continue }
            let found = path.reduce(Optional(value)) { current, step in current.flatMap { $0.child(step) } }
            add(parameter.label, found?.labelText ?? "", to: &labels, streamLabels: streamLabels)
        }
    }

    private static func flatten(_ members: [(String, JSONValue)], prefix: String, into labels: inout [String: String], streamLabels: Set<String>) {
        for (key, value) in members {
            let name = prefix + sanitize(key)
            switch value {
            case .object(let nested): flatten(nested, prefix: name + "_", into: &labels, streamLabels: streamLabels)
            case .array: continue  // arrays are not extracted (as in Loki); `| json x="a[0]"` reads an element
            case .string(let text): add(name, text, to: &labels, streamLabels: streamLabels)
            case .literal(let text): if text != "null" { add(name, text, to: &labels, streamLabels: streamLabels) }
            }
        }
    }

    // MARK: unpack

    /// Loki's `unpack`: in a JSON object with a string `_entry` (Promtail's `pack` stage), the
    /// other string fields become labels and `_entry` the line; the line is returned.
    static func unpack(_ line: String, into labels: inout [String: String], streamLabels: Set<String>) -> String {
        guard let value = JSONValue.parse(line), case .object(let members) = value else {
            fail("JSONParserErr", "the line is not a JSON object", &labels)
            return line
        }
        guard case .string(let entry)? = members.last(where: { $0.0 == "_entry" })?.1 else { return line }
        for (key, value) in members where key != "_entry" {
            if case .string(let text) = value { add(sanitize(key), text, to: &labels, streamLabels: streamLabels) }
        }
        return entry
    }

    // MARK: logfmt

    static func logfmt(_ line: String, _ parameters: [ExtractionParameter], strict: Bool, keepEmpty: Bool,
                       into labels: inout [String: String], streamLabels: Set<String>) {
        guard let pairs = LogfmtReader.pairs(line, strict: strict) else {
            fail("LogfmtParserErr", "the line is not logfmt", &labels)
            return
        }
        if parameters.isEmpty {
            for (key, value) in pairs where keepEmpty || !value.isEmpty {
                add(sanitize(key), value, to: &labels, streamLabels: streamLabels)
            }
            return
        }
        var byKey: [String: String] = [:]
        for (key, value) in pairs { byKey[key] = value }
        for parameter in parameters {
            if let value = byKey[parameter.expression] { add(parameter.label, value, to: &labels, streamLabels: streamLabels) }
        }
    }

    // MARK: regexp

    /// The named groups of a Go regular expression (`(?P<name>…)` or `(?<name>…)`).
    static func groupNames(_ pattern: String) -> [String] {
        var names: [String] = []
        var rest = Substring(pattern)
        while let open = rest.range(of: "(?") {
            rest = rest[open.upperBound...]
            if rest.hasPrefix("P<") { rest = rest.dropFirst(2) } else if rest.hasPrefix("<"), !rest.hasPrefix("<="), !rest.hasPrefix("<!") { rest = rest.dropFirst() } else { continue }
            let name = rest.prefix { $0 != ">" }
            names.append(String(name))
        }
        return names
    }

    /// The pattern as NSRegularExpression reads it: `(?P<name>` becomes `(?<name>`.
    static func foundationPattern(_ pattern: String) -> String { pattern.replacingOccurrences(of: "(?P<", with: "(?<") }

    static func regexp(_ line: String, _ pattern: String, into labels: inout [String: String], streamLabels: Set<String>) {
        guard let regex = LogQLRegex.compile(foundationPattern(pattern)),
              let match = regex.firstMatch(in: line, range: NSRange(line.startIndex..., in: line)) else { return }
        for name in groupNames(pattern) {
            let range = match.range(withName: name)
            guard range.location != NSNotFound, let bounds = Range(range, in: line) else { continue }
            add(name, String(line[bounds]), to: &labels, streamLabels: streamLabels)
        }
    }

    // MARK: decolorize

    /// The line without ANSI colour sequences (`ESC [ … m`).
    static func decolorize(_ line: String) -> String {
        guard line.contains("\u{1B}") else { return line }
        var result = ""
        var scalars = line.unicodeScalars.makeIterator()
        while let scalar = scalars.next() {
            guard scalar == "\u{1B}" else { result.unicodeScalars.append(scalar); continue }
            guard let next = scalars.next(), next == "[" else { continue }
            while let code = scalars.next(), !(code.properties.isAlphabetic) {}
        }
        return result
    }
}

/// A JSON value keeping numbers and literals as written (Loki's labels are their text).
indirect enum JSONValue: Equatable {
    case object([(String, JSONValue)])
    case array([JSONValue])
    case string(String)
    /// A number, `true`, `false` or `null`, as written.
    case literal(String)

    static func == (left: JSONValue, right: JSONValue) -> Bool {
        switch (left, right) {
        case (.object(let l), .object(let r)): return l.count == r.count && zip(l, r).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        case (.array(let l), .array(let r)): return l == r
        case (.string(let l), .string(let r)), (.literal(let l), .literal(let r)): return l == r
        default: return false
        }
    }

    /// A label's text: strings as they are, literals as written, objects and arrays as JSON.
    var labelText: String {
        switch self {
        case .string(let text): return text
        case .literal(let text): return text == "null" ? "" : text
        case .object, .array: return json
        }
    }

    var json: String {
        switch self {
        case .string(let text):
            var writer = JSONWriter(capacity: text.utf8.count + 2)
            writer.string(text)
            return String(decoding: writer.bytes, as: UTF8.self)
        case .literal(let text): return text
        case .array(let values): return "[" + values.map(\.json).joined(separator: ",") + "]"
        case .object(let members):
            return "{" + members.map { JSONValue.string($0.0).json + ":" + $0.1.json }.joined(separator: ",") + "}"
        }
    }

    func child(_ step: JSONPath.Step) -> JSONValue? {
        switch (self, step) {
        case (.object(let members), .key(let key)): return members.last { $0.0 == key }?.1
        case (.array(let values), .index(let index)): return values.indices.contains(index) ? values[index] : nil
        default: return nil
        }
    }

    static func parse(_ text: String) -> JSONValue? {
        var reader = JSONReader(Array(text.utf8))
        reader.skipSpace()
        guard let value = reader.value(depth: 0) else { return nil }
        reader.skipSpace()
        return reader.atEnd ? value : nil
    }
}

/// A small JSON reader over bytes (nesting at most 64 levels).
private struct JSONReader {
    let bytes: [UInt8]
    var index = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var atEnd: Bool { index >= bytes.count }

    mutating func skipSpace() {
        while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
    }

    mutating func value(depth: Int) -> JSONValue? {
        guard depth < 64, index < bytes.count else { return nil }
        switch bytes[index] {
        case UInt8(ascii: "{"):
            index += 1
            var members: [(String, JSONValue)] = []
            skipSpace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") { index += 1; return .object(members) }
            while true {
                skipSpace()
                guard let key = string() else { return nil }
                skipSpace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { return nil }
                index += 1
                skipSpace()
                guard let member = value(depth: depth + 1) else { return nil }
                members.append((key, member))
                skipSpace()
                guard index < bytes.count else { return nil }
                if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                if bytes[index] == UInt8(ascii: "}") { index += 1; return .object(members) }
                return nil
            }
        case UInt8(ascii: "["):
            index += 1
            var values: [JSONValue] = []
            skipSpace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") { index += 1; return .array(values) }
            while true {
                skipSpace()
                guard let element = value(depth: depth + 1) else { return nil }
                values.append(element)
                skipSpace()
                guard index < bytes.count else { return nil }
                if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                if bytes[index] == UInt8(ascii: "]") { index += 1; return .array(values) }
                return nil
            }
        case UInt8(ascii: "\""):
            return string().map(JSONValue.string)
        default:
            let start = index
            while index < bytes.count, !([UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 0x20, 0x09, 0x0A, 0x0D].contains(bytes[index])) {
                index += 1
            }
            let text = String(decoding: bytes[start..<index], as: UTF8.self)
            guard text == "true" || text == "false" || text == "null" || Double(text) != nil else { return nil }
            return .literal(text)
        }
    }

    mutating func string() -> String? {
        guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return nil }
        index += 1
        var output: [UInt8] = []
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") { index += 1; return String(decoding: output, as: UTF8.self) }
            if byte == UInt8(ascii: "\\") {
                guard index + 1 < bytes.count else { return nil }
                let escaped = bytes[index + 1]
                index += 2
                switch escaped {
                case UInt8(ascii: "n"): output.append(0x0A)
                case UInt8(ascii: "t"): output.append(0x09)
                case UInt8(ascii: "r"): output.append(0x0D)
                case UInt8(ascii: "b"): output.append(0x08)
                case UInt8(ascii: "f"): output.append(0x0C)
                case UInt8(ascii: "u"):
                    guard index + 4 <= bytes.count, var code = UInt32(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16) else { return nil }
                    index += 4
                    // A surrogate pair.
                    if (0xD800..<0xDC00).contains(code), index + 6 <= bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u"),
                       let low = UInt32(String(decoding: bytes[index + 2..<index + 6], as: UTF8.self), radix: 16), (0xDC00..<0xE000).contains(low) {
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        index += 6
                    }
                    output.append(contentsOf: Array(String(Unicode.Scalar(code).map(Character.init) ?? "\u{FFFD}").utf8))
                default: output.append(escaped)
                }
                continue
            }
            output.append(byte)
            index += 1
        }
        return nil
    }
}

/// A path of `| json name="expression"`: `a.b`, `a["b c"]`, `a[0]`, `["a"].b`.
enum JSONPath {
    enum Step: Equatable {
        case key(String)
        case index(Int)
    }

    static func parse(_ text: String) -> [Step]? {
        var steps: [Step] = []
        let characters = Array(text)
        var index = 0
        var key = ""
        func flush() {
            if !key.isEmpty { steps.append(.key(key)); key = "" }
        }
        while index < characters.count {
            let character = characters[index]
            if character == "." {
                flush()
                index += 1
            } else if character == "[" {
                flush()
                guard let close = characters[index...].firstIndex(of: "]") else { return nil }
                let inner = String(characters[index + 1..<close]).trimmingCharacters(in: .whitespaces)
                if let number = Int(inner) {
                    steps.append(.index(number))
                } else if inner.count >= 2, inner.first == "\"" || inner.first == "'", inner.last == inner.first {
                    steps.append(.key(String(inner.dropFirst().dropLast())))
                } else {
                    return nil
                }
                index = close + 1
            } else {
                key.append(character)
                index += 1
            }
        }
        flush()
        return steps.isEmpty ? nil : steps
    }
}

/// logfmt as go-logfmt reads it: `key=value key="quoted \" value" flag`.
enum LogfmtReader {
    /// The pairs in order, or nil when `strict` and the line is malformed.
    static func pairs(_ line: String, strict: Bool) -> [(String, String)]? {
        var result: [(String, String)] = []
        let characters = Array(line)
        var index = 0
        while index < characters.count {
            while index < characters.count, characters[index].isWhitespace { index += 1 }
            guard index < characters.count else { break }
            var key = ""
            while index < characters.count, !characters[index].isWhitespace, characters[index] != "=", characters[index] != "\"" {
                key.append(characters[index])
                index += 1
            }
            if key.isEmpty {
                if strict { return nil }
                index += 1
                continue
            }
            guard index < characters.count, characters[index] == "=" else {
                result.append((key, ""))
                continue
            }
            index += 1
            var value = ""
            if index < characters.count, characters[index] == "\"" {
                index += 1
                var closed = false
                while index < characters.count {
                    let character = characters[index]
                    if character == "\\", index + 1 < characters.count {
                        let escaped = characters[index + 1]
                        switch escaped {
                        case "n": value.append("\n")
                        case "t": value.append("\t")
                        case "r": value.append("\r")
                        default: value.append(escaped)
                        }
                        index += 2
                        continue
                    }
                    if character == "\"" { closed = true; index += 1; break }
                    value.append(character)
                    index += 1
                }
                if !closed && strict { return nil }
            } else {
                while index < characters.count, !characters[index].isWhitespace {
                    if characters[index] == "\"" && strict { return nil }
                    value.append(characters[index])
                    index += 1
                }
            }
            result.append((key, value))
        }
        return result
    }
}

/// A `pattern` expression: literal text and captures `<name>` (`<_>` matches without a label).
/// A line matches when the literals occur in order; each capture takes the text up to the next
/// literal (the last one, to the end of the line).
public struct LinePattern: Sendable, Equatable {
    public enum Part: Sendable, Equatable {
        case literal(String)
        case capture(String?)
    }

    public var parts: [Part]

    /// Parses `<ip> - - [<_>] "<method> <uri> <_>"`; nil with a reason for an invalid pattern
    /// (no capture, or two captures next to each other).
    public static func parse(_ text: String) -> Result<LinePattern, PatternError> {
        var parts: [Part] = []
        var literal = ""
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "<") {
            let after = rest[rest.index(after: open)...]
            let name = after.prefix { $0.isLetter || $0.isNumber || $0 == "_" }
            let closing = after.dropFirst(name.count)
            guard !name.isEmpty, closing.first == ">", name.first.map({ !$0.isNumber }) == true else {
                literal += rest[...open]
                rest = after
                continue
            }
            literal += rest[..<open]
            if !literal.isEmpty { parts.append(.literal(literal)); literal = "" }
            if case .capture = parts.last { return .failure(PatternError(message: "captures must be separated by text")) }
            parts.append(.capture(name == "_" ? nil : String(name)))
            rest = closing.dropFirst()
        }
        literal += rest
        if !literal.isEmpty { parts.append(.literal(literal)) }
        guard parts.contains(where: { if case .capture = $0 { return true }; return false }) else {
            return .failure(PatternError(message: "at least one capture such as <name> is needed"))
        }
        return .success(LinePattern(parts: parts))
    }

    public struct PatternError: Error, Sendable { public var message: String }

    func extract(_ line: String, into labels: inout [String: String], streamLabels: Set<String>) {
        var rest = Substring(line)
        var found: [(String, String)] = []
        for (index, part) in parts.enumerated() {
            switch part {
            case .literal(let text):
                guard rest.hasPrefix(text) else { return }
                rest = rest.dropFirst(text.count)
            case .capture(let name):
                let value: Substring
                if index + 1 < parts.count, case .literal(let next) = parts[index + 1] {
                    guard let end = rest.range(of: next) else { return }
                    value = rest[..<end.lowerBound]
                    rest = rest[end.lowerBound...]
                } else {
                    value = rest
                    rest = rest[rest.endIndex...]
                }
                if let name { found.append((name, String(value))) }
            }
        }
        for (name, value) in found { LogParsers.add(name, value, to: &labels, streamLabels: streamLabels) }
    }
}
