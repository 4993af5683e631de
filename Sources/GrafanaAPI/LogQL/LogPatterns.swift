/// Patterns of log lines, as Loki's pattern detection shows them to Logs Drilldown: lines cut
/// at spaces into tokens; a token with a digit is variable (`<_>`); a line joins the pattern of
/// as many tokens whose fixed tokens it matches best, if it matches at least 40% of them (all
/// when the pattern has none), and where they differ the pattern becomes `<_>` (a simplified
/// Drain, Loki's algorithm). Pure: the endpoint gives it the lines.
public struct LogPatterns: Sendable {
    public static let maxPatterns = 300
    public static let maxTokens = 80
    static let variable = "<_>"

    public struct Pattern: Sendable, Equatable {
        public var tokens: [String]
        /// Line times (nanoseconds) of the pattern's lines.
        public var times: [Int64]
        /// The lines' `level` label when all have the same one.
        public var level: String?

        public var text: String { tokens.joined(separator: " ") }
    }

    public private(set) var patterns: [Pattern] = []

    public init() {}

    public mutating func add(_ line: String, nanos: Int64, level: String?) {
        let tokens = Self.tokens(line)
        guard !tokens.isEmpty else { return }
        var best: (index: Int, score: Double)?
        for (index, pattern) in patterns.enumerated() where pattern.tokens.count == tokens.count {
            let fixed = pattern.tokens.filter { $0 != Self.variable }.count
            let same = zip(pattern.tokens, tokens).filter { $0 == $1 && $0 != Self.variable }.count
            let score = fixed == 0 ? 1 : Double(same) / Double(fixed)
            if score >= 0.4, score > (best?.score ?? -1) { best = (index, score) }
        }
        if let best {
            for position in tokens.indices where patterns[best.index].tokens[position] != tokens[position] {
                patterns[best.index].tokens[position] = Self.variable
            }
            patterns[best.index].times.append(nanos)
            if patterns[best.index].level != level { patterns[best.index].level = nil }
        } else if patterns.count < Self.maxPatterns {
            patterns.append(Pattern(tokens: tokens, times: [nanos], level: level))
        }
    }

    static func tokens(_ line: String) -> [String] {
        line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).prefix(maxTokens).map { token in
            token.contains(where: \.isNumber) ? variable : String(token)
        }
    }
}
