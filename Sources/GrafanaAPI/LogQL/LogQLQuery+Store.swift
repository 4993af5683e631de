import Store

// LogQL as the store's description of which records (`LokiSelection`): the store turns it into
// SQL and knows where each label comes from (`LokiLabels`).

extension LogSelector {
    /// The same selection as the store takes it, narrowed by what the stages run in Sightline
    /// imply about the line (`impliedLineFilters`).
    public var selection: LokiSelection {
        LokiSelection(matchers: matchers.map(\.labelMatch), labelFilters: labelFilters.map(\.labelMatch),
                      lineFilters: (lineFilters + impliedLineFilters).map(\.lineMatch),
                      anyOf: alternatives.map { LokiAlternatives(labels: $0.labels.map(\.labelMatch), lines: $0.lines.map(\.lineMatch)) },
                      jsonFields: impliedJSONFields)
    }

    /// Fields of a JSON line the stages imply, which the store checks with its JSON functions:
    /// after a `| json` without parameters that is the first stage to extract or rewrite
    /// anything, a label filter `name="value"` (joined with `and`, before any other parser or
    /// stage that rewrites the line or labels) on a name without `_` (so the top-level key of
    /// that name; nested keys become names with `_`) and a plain value (`isPlainValue`).
    var impliedJSONFields: [LokiJSONField] {
        var fields: [LokiJSONField] = []
        var parsed = false
        func add(_ expression: LabelFilterExpression) {
            switch expression {
            case .and(let left, let right):
                add(left)
                add(right)
            case .string(let matcher) where matcher.op == .equal && Self.isPlainValue(matcher.value)
                && matcher.name.first?.isLetter == true && matcher.name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) })
                && !LokiLabels.isStreamLabel(matcher.name):
                fields.append(LokiJSONField(matcher.name, matcher.value))
            default:
                break
            }
        }
        for stage in stages {
            switch stage {
            case .lineFilter: break
            case .json(let parameters) where parameters.isEmpty && !parsed: parsed = true
            case .labelFilter(let expression): if parsed { add(expression) }
            default: return fields
            }
        }
        return fields
    }

    /// Conditions on the raw line that every line the stages keep meets, so the store reads
    /// fewer lines: a line filter `|= "x"` among the first stages, and for an extracted label
    /// compared with `= "value"` (joined with `and`, after parsers only), that the line contains
    /// the value: a parser's value is text of the line, and a value of letters, digits and
    /// `_ . - :` is written the same in JSON and logfmt. Stops at the first stage that
    /// rewrites the line or labels (`line_format`, `label_format`, `decolorize`, `drop`, `keep`).
    var impliedLineFilters: [LineFilter] {
        var implied: [LineFilter] = []
        var parsed = false
        func add(_ expression: LabelFilterExpression) {
            switch expression {
            case .and(let left, let right):
                add(left)
                add(right)
            case .string(let matcher) where parsed && matcher.op == .equal && Self.isPlainValue(matcher.value)
                && !matcher.name.hasPrefix("__") && !LokiLabels.isStreamLabel(matcher.name):
                implied.append(LineFilter(.contains, matcher.value))
            default:
                break
            }
        }
        for stage in stages {
            switch stage {
            case .lineFilter(let filter) where filter.op == .contains: implied.append(filter)
            case .lineFilter: break
            case .json, .logfmt, .regexp, .pattern: parsed = true
            case .labelFilter(let expression): add(expression)
            case .lineFormat, .labelFormat, .decolorize, .drop, .keep, .unpack: return implied
            }
        }
        return implied
    }

    static func isPlainValue(_ value: String) -> Bool {
        !value.isEmpty && value.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_.-:".contains($0)) }
    }
}

extension LabelMatcher {
    var labelMatch: LokiLabelMatch {
        switch op {
        case .equal: return LokiLabelMatch(name, .equal, value)
        case .notEqual: return LokiLabelMatch(name, .notEqual, value)
        case .matches: return LokiLabelMatch(name, .matches, value)
        case .notMatches: return LokiLabelMatch(name, .notMatches, value)
        }
    }
}

extension LineFilter {
    var lineMatch: LokiLineMatch {
        switch op {
        case .contains: return LokiLineMatch(.contains, value)
        case .notContains: return LokiLineMatch(.notContains, value)
        case .matches: return LokiLineMatch(.matches, value)
        case .notMatches: return LokiLineMatch(.notMatches, value)
        }
    }
}
