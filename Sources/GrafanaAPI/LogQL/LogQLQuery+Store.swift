import Store

// LogQL as the store's description of which records (`LokiSelection`): the store turns it into
// SQL and knows where each label comes from (`LokiLabels`).

extension LogSelector {
    /// The same selection as the store takes it.
    public var selection: LokiSelection {
        LokiSelection(matchers: matchers.map(\.labelMatch), labelFilters: labelFilters.map(\.labelMatch),
                      lineFilters: lineFilters.map(\.lineMatch),
                      anyOf: alternatives.map { LokiAlternatives(labels: $0.labels.map(\.labelMatch), lines: $0.lines.map(\.lineMatch)) })
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
