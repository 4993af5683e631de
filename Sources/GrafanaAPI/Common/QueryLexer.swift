/// A syntax error in a LogQL or TraceQL query, at a 1-based column of its only line (queries
/// with line breaks count columns from the start of the text, as one line).
public struct QueryParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// 1-based position (in characters) where the problem was found.
    public var column: Int
    public var message: String

    public init(column: Int, _ message: String) {
        self.column = column
        self.message = message
    }

    /// Loki's wording: `parse error at line 1, col 5: syntax error: unexpected }`.
    public var description: String { "parse error at line 1, col \(column): \(message)" }
}

/// One token of a query and the 1-based column where it starts.
struct QueryToken: Equatable, Sendable {
    enum Kind: Equatable, Sendable {
        case identifier(String)
        case string(String)
        case number(Double)
        /// A Go-style duration (`100ms`, `1h30m`) in nanoseconds.
        case duration(Int64)
        /// A byte size (`10KB`, `1.5MiB`, as go-humanize reads it) in bytes.
        case bytes(Double)
        case symbol(String)
        case end
    }

    var kind: Kind
    var column: Int

    var text: String {
        switch kind {
        case .identifier(let name): return name
        case .string(let value): return "\"\(value)\""
        case .number(let value): return QueryToken.numberText(value)
        case .duration(let nanos): return GoDuration.format(nanos)
        case .bytes(let bytes): return QueryToken.numberText(bytes) + "B"
        case .symbol(let symbol): return symbol
        case .end: return "end of query"
        }
    }

    static func numberText(_ value: Double) -> String {
        value.rounded() == value && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}

/// Splits LogQL and TraceQL text into tokens. Identifiers may hold letters, digits, `_`, `.`
/// (attribute paths) and, with `dashesInIdentifiers`, `-` and `/` after the first character
/// (TraceQL attribute names such as `span.http.user-agent`).
struct QueryLexer {
    static let maxLength = 16_384
    static let symbols = ["=~", "!~", "!=", "|=", "|~", ">=", "<=", "&&", "||", "==",
                          "{", "}", "(", ")", "[", "]", ",", "=", ">", "<", "|", "+", "-", "*", "/", "%", "^", "!"]

    /// TraceQL's spanset operators (`>>`, `!>>`, `&>>`, `~`, …), longest first.
    static let traceQLSymbols = ["!>>", "!<<", "&>>", "&<<", ">>", "<<", "!>", "!<", "&>", "&<", "&~", "~"]

    static func tokens(_ text: String, dashesInIdentifiers: Bool = false, extraSymbols: [String] = []) throws(QueryParseError) -> [QueryToken] {
        let symbols = extraSymbols.isEmpty ? Self.symbols : (extraSymbols + Self.symbols).sorted { $0.count > $1.count }
        guard text.count <= maxLength else { throw QueryParseError(column: 1, "query longer than \(maxLength) characters") }
        let characters = Array(text)
        var tokens: [QueryToken] = []
        var index = 0
        while index < characters.count {
            let character = characters[index]
            let column = index + 1
            if character.isWhitespace { index += 1; continue }
            if character == "#" {  // a comment to the end of the line
                while index < characters.count, characters[index] != "\n" { index += 1 }
                continue
            }
            if character == "\"" || character == "`" {
                let (value, next) = try string(characters, from: index)
                tokens.append(QueryToken(kind: .string(value), column: column))
                index = next
                continue
            }
            if character.isASCII, character.isNumber || (character == "." && index + 1 < characters.count && characters[index + 1].isASCII && characters[index + 1].isNumber && !(tokens.last.map(isOperand) ?? false)) {
                var end = index
                while end < characters.count, characters[end].isASCII,
                      characters[end].isLetter || characters[end].isNumber || characters[end] == "." || characters[end] == "µ" {
                    end += 1
                }
                // `1e-3`: an exponent's sign
                if end < characters.count, characters[end] == "-" || characters[end] == "+", end > index,
                   characters[end - 1] == "e" || characters[end - 1] == "E", characters[index..<end - 1].allSatisfy({ $0.isNumber || $0 == "." }) {
                    end += 1
                    while end < characters.count, characters[end].isASCII, characters[end].isNumber { end += 1 }
                }
                let word = String(characters[index..<end])
                if let number = Double(word), word.allSatisfy({ $0.isNumber || ".eE-+".contains($0) }) {
                    tokens.append(QueryToken(kind: .number(number), column: column))
                } else if let nanos = GoDuration.parse(word) {
                    tokens.append(QueryToken(kind: .duration(nanos), column: column))
                } else if let bytes = ByteSize.parse(word) {
                    tokens.append(QueryToken(kind: .bytes(bytes), column: column))
                } else {
                    throw QueryParseError(column: column, "syntax error: invalid number or duration \"\(word.prefix(40))\"")
                }
                index = end
                continue
            }
            if character.isLetter || character == "_" || character == "." {
                var end = index + 1
                while end < characters.count {
                    let next = characters[end]
                    if next.isLetter || next.isNumber || next == "_" || next == "." || next == ":"
                        || (dashesInIdentifiers && (next == "-" || next == "/")) {
                        end += 1
                    } else {
                        break
                    }
                }
                tokens.append(QueryToken(kind: .identifier(String(characters[index..<end])), column: column))
                index = end
                continue
            }
            if let symbol = symbols.first(where: { matches($0, characters, at: index) }) {
                tokens.append(QueryToken(kind: .symbol(symbol), column: column))
                index += symbol.count
                continue
            }
            throw QueryParseError(column: column, "syntax error: unexpected character \"\(character)\"")
        }
        tokens.append(QueryToken(kind: .end, column: characters.count + 1))
        return tokens
    }

    private static func isOperand(_ token: QueryToken) -> Bool {
        switch token.kind {
        case .identifier, .string, .number, .duration, .bytes: return true
        case .symbol(let symbol): return symbol == ")" || symbol == "]" || symbol == "}"
        case .end: return false
        }
    }

    private static func matches(_ symbol: String, _ characters: [Character], at index: Int) -> Bool {
        var position = index
        for character in symbol {
            guard position < characters.count, characters[position] == character else { return false }
            position += 1
        }
        return true
    }

    /// A double-quoted string with Go escapes, or a back-quoted raw string.
    private static func string(_ characters: [Character], from start: Int) throws(QueryParseError) -> (String, Int) {
        let quote = characters[start]
        var value = ""
        var index = start + 1
        while index < characters.count {
            let character = characters[index]
            if character == quote { return (value, index + 1) }
            if character == "\\" && quote == "\"" {
                guard index + 1 < characters.count else { break }
                let escaped = characters[index + 1]
                switch escaped {
                case "n": value.append("\n")
                case "t": value.append("\t")
                case "r": value.append("\r")
                case "\\", "\"", "'": value.append(escaped)
                case "u":
                    let hex = String(characters[min(index + 2, characters.count)..<min(index + 6, characters.count)])
                    guard hex.count == 4, let code = UInt32(hex, radix: 16), let scalar = Unicode.Scalar(code) else {
                        throw QueryParseError(column: index + 1, "syntax error: invalid escape \\u\(hex)")
                    }
                    value.unicodeScalars.append(scalar)
                    index += 4
                default:
                    // Regular expressions keep their own escapes: `\d`, `\.`, `\w`.
                    value.append("\\")
                    value.append(escaped)
                }
                index += 2
                continue
            }
            value.append(character)
            index += 1
        }
        throw QueryParseError(column: start + 1, "syntax error: unterminated string")
    }
}

/// A cursor over tokens for the recursive-descent parsers.
struct TokenCursor {
    let tokens: [QueryToken]
    var position = 0
    /// Nesting depth, bounded so a deeply nested query cannot exhaust the stack.
    var depth = 0
    static let maxDepth = 64

    init(_ tokens: [QueryToken]) { self.tokens = tokens }

    var current: QueryToken { tokens[position] }
    var next: QueryToken { tokens[min(position + 1, tokens.count - 1)] }

    mutating func advance() {
        if position < tokens.count - 1 { position += 1 }
    }

    func isSymbol(_ symbol: String) -> Bool { current.kind == .symbol(symbol) }

    func isIdentifier(_ name: String) -> Bool {
        if case .identifier(let value) = current.kind { return value == name }
        return false
    }

    /// An identifier that is `word` in any case (LogQL's `and`, `or`).
    func isKeyword(_ word: String) -> Bool {
        if case .identifier(let value) = current.kind { return value.lowercased() == word }
        return false
    }

    mutating func take(_ symbol: String) -> Bool {
        guard isSymbol(symbol) else { return false }
        advance()
        return true
    }

    mutating func expect(_ symbol: String, _ context: String = "") throws(QueryParseError) {
        guard take(symbol) else { throw unexpected(expected: "\"\(symbol)\"\(context)") }
    }

    mutating func identifier(_ what: String) throws(QueryParseError) -> String {
        guard case .identifier(let name) = current.kind else { throw unexpected(expected: what) }
        advance()
        return name
    }

    mutating func string(_ what: String) throws(QueryParseError) -> String {
        guard case .string(let value) = current.kind else { throw unexpected(expected: what) }
        advance()
        return value
    }

    mutating func enter() throws(QueryParseError) {
        depth += 1
        guard depth <= Self.maxDepth else { throw QueryParseError(column: current.column, "query nested more than \(Self.maxDepth) levels deep") }
    }

    mutating func leave() { depth -= 1 }

    func unexpected(expected: String) -> QueryParseError {
        QueryParseError(column: current.column, "syntax error: unexpected \(current.text), expected \(expected)")
    }
}
