import Foundation

/// The subset of Go's `text/template` that `line_format` and `label_format` evaluate: text
/// with actions `{{ … }}` holding a pipeline of commands joined by `|`. A command is an operand
/// (`.label`, `__line__`, `__timestamp__` in Unix seconds, a quoted string, a number) or a
/// function with arguments; the value of the command before a `|` becomes the function's last
/// argument. Functions: `ToUpper`/`upper`, `ToLower`/`lower`, `trim`, `trimSpace`, `title`,
/// `contains`, `hasPrefix`, `hasSuffix`, `default`, `replace`, `trimPrefix`, `trimSuffix`.
/// A label the line lacks is "". Anything else (`if`, `range`, variables, other functions) is
/// refused when the query is parsed.
public struct LogTemplate: Sendable, Equatable {
    enum Piece: Sendable, Equatable {
        case text(String)
        case action([Command])
    }

    struct Command: Sendable, Equatable {
        var function: String?
        var arguments: [Operand]
    }

    enum Operand: Sendable, Equatable {
        case label(String)
        case line
        case timestamp
        case literal(String)
    }

    static let functions: [String: ClosedRange<Int>] = [
        "ToUpper": 1...1, "upper": 1...1, "ToLower": 1...1, "lower": 1...1, "trim": 1...1, "trimSpace": 1...1,
        "title": 1...1, "contains": 2...2, "hasPrefix": 2...2, "hasSuffix": 2...2, "default": 2...2,
        "replace": 3...3, "trimPrefix": 2...2, "trimSuffix": 2...2,
    ]

    var pieces: [Piece]
    public let source: String

    public static func == (left: LogTemplate, right: LogTemplate) -> Bool { left.source == right.source }

    /// Parses a template; the error names the construct Sightline does not evaluate.
    public init(_ source: String) throws(TemplateError) {
        self.source = source
        var pieces: [Piece] = []
        var rest = Substring(source)
        while let open = rest.range(of: "{{") {
            if open.lowerBound > rest.startIndex { pieces.append(.text(String(rest[..<open.lowerBound]))) }
            guard let close = rest[open.upperBound...].range(of: "}}") else { throw TemplateError("unclosed {{") }
            pieces.append(.action(try Self.action(String(rest[open.upperBound..<close.lowerBound]))))
            rest = rest[close.upperBound...]
        }
        if !rest.isEmpty { pieces.append(.text(String(rest))) }
        self.pieces = pieces
    }

    public struct TemplateError: Error, Sendable, Equatable {
        public var message: String
        init(_ message: String) { self.message = message }
    }

    private static func action(_ text: String) throws(TemplateError) -> [Command] {
        var commands: [Command] = []
        for tokens in try words(text) {
            guard let first = tokens.first else { throw TemplateError("empty command in {{\(text)}}") }
            if case .word(let name) = first, !name.hasPrefix("."), name != "__line__", name != "__timestamp__" {
                guard let arity = functions[name] else {
                    throw TemplateError("template function or action \"\(name)\" is not supported (supported: .label, __line__, __timestamp__, \(functions.keys.sorted().joined(separator: ", ")))")
                }
                let arguments = try tokens.dropFirst().map { token throws(TemplateError) in try operand(token) }
                let given = arguments.count + (commands.isEmpty ? 0 : 1)
                guard arity.contains(given) else { throw TemplateError("\(name) takes \(arity.lowerBound) argument\(arity.lowerBound == 1 ? "" : "s"), not \(given)") }
                commands.append(Command(function: name, arguments: arguments))
            } else {
                guard tokens.count == 1, commands.isEmpty else { throw TemplateError("unexpected operand in {{\(text)}}") }
                commands.append(Command(function: nil, arguments: [try operand(first)]))
            }
        }
        return commands
    }

    private enum Word: Equatable {
        case word(String)
        case quoted(String)
    }

    private static func words(_ text: String) throws(TemplateError) -> [[Word]] {
        var commands: [[Word]] = [[]]
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            if character.isWhitespace { index = text.index(after: index); continue }
            if character == "|" { commands.append([]); index = text.index(after: index); continue }
            if character == "\"" || character == "`" {
                var value = ""
                var position = text.index(after: index)
                var closed = false
                while position < text.endIndex {
                    let next = text[position]
                    if next == character { closed = true; break }
                    if next == "\\", character == "\"", text.index(after: position) < text.endIndex {
                        position = text.index(after: position)
                        let escaped = text[position]
                        value.append(escaped == "n" ? "\n" : escaped == "t" ? "\t" : escaped)
                    } else {
                        value.append(next)
                    }
                    position = text.index(after: position)
                }
                guard closed else { throw TemplateError("unterminated string in template") }
                commands[commands.count - 1].append(.quoted(value))
                index = text.index(after: position)
                continue
            }
            var word = ""
            while index < text.endIndex, !text[index].isWhitespace, text[index] != "|" {
                word.append(text[index])
                index = text.index(after: index)
            }
            if word == "-" || word.hasPrefix("$") || word.hasPrefix("(") {
                throw TemplateError("template construct \"\(word)\" is not supported")
            }
            commands[commands.count - 1].append(.word(word))
        }
        return commands
    }

    private static func operand(_ word: Word) throws(TemplateError) -> Operand {
        switch word {
        case .quoted(let value): return .literal(value)
        case .word("__line__"): return .line
        case .word("__timestamp__"): return .timestamp
        case .word(let name) where name.hasPrefix(".") && name.count > 1:
            let label = String(name.dropFirst())
            guard LogQLParser.isLabelName(label) else { throw TemplateError("\"\(name)\" is not a label reference") }
            return .label(label)
        case .word(let name) where Double(name) != nil: return .literal(name)
        case .word(let name): throw TemplateError("template operand \"\(name)\" is not supported")
        }
    }

    func render(_ entry: PipelineEntry) -> String {
        var output = ""
        for piece in pieces {
            switch piece {
            case .text(let text): output += text
            case .action(let commands):
                var value: String?
                for command in commands {
                    var arguments = command.arguments.map { argument -> String in
                        switch argument {
                        case .label(let name): return entry.labels[name] ?? ""
                        case .line: return entry.line
                        case .timestamp: return String(entry.nanos / 1_000_000_000)
                        case .literal(let text): return text
                        }
                    }
                    if let value { arguments.append(value) }
                    value = command.function.map { Self.apply($0, arguments) } ?? arguments.first ?? ""
                }
                output += value ?? ""
            }
        }
        return output
    }

    static func apply(_ function: String, _ arguments: [String]) -> String {
        let last = arguments.last ?? ""
        switch function {
        case "ToUpper", "upper": return last.uppercased()
        case "ToLower", "lower": return last.lowercased()
        case "trim", "trimSpace": return last.trimmingCharacters(in: .whitespacesAndNewlines)
        case "title": return last.capitalized
        case "contains": return String(arguments[1].contains(arguments[0]) || arguments[0].isEmpty)
        case "hasPrefix": return String(arguments[1].hasPrefix(arguments[0]))
        case "hasSuffix": return String(arguments[1].hasSuffix(arguments[0]))
        case "default": return arguments[1].isEmpty ? arguments[0] : arguments[1]
        case "replace": return arguments[2].replacingOccurrences(of: arguments[0], with: arguments[1])
        case "trimPrefix": return arguments[1].hasPrefix(arguments[0]) ? String(arguments[1].dropFirst(arguments[0].count)) : arguments[1]
        case "trimSuffix": return arguments[1].hasSuffix(arguments[0]) ? String(arguments[1].dropLast(arguments[0].count)) : arguments[1]
        default: return last
        }
    }
}
