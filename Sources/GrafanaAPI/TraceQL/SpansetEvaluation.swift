import Store

/// A TraceQL query that one SQL statement cannot answer (spanset operators, pipelines), as the
/// store reads it and as it is then evaluated per trace: the store says which candidate traces
/// may match (`requirement`), and, for every span of them, which filters match (`conditions`)
/// and the values the pipeline reads (`fields`); the structure and the pipeline run here.
struct SpansetPlan: Sendable {
    indirect enum Spansets: Sendable {
        /// The index of the filter's condition; nil for `{}`.
        case filter(Int?)
        case and(Spansets, Spansets)
        case or(Spansets, Spansets)
        case structural(TraceQLStructure, Spansets, Spansets)
        /// A pipeline inside parentheses: the spans of the spansets it leaves.
        case pipeline(Spansets, [Stage])
    }

    enum Stage: Sendable {
        case filter(Spansets)
        case select([TraceQLAttribute])
        case by([TraceQLAttribute])
        case coalesce
        case aggregate(TraceQLAggregate, TraceQLOperator, Double)
    }

    private(set) var conditions: [SpanCondition] = []
    private(set) var fields: [TraceQLAttribute] = []
    private(set) var spansets: Spansets = .filter(nil)
    private(set) var stages: [Stage] = []
    private(set) var requirement: TraceRequirement = .anything
    /// The condition of `marking`, whose result `isMarked` reads.
    private var markIndex: Int?

    /// The plan of `query`; the store also reads `reading` for each span (what a metrics
    /// function groups by and reads) and whether `marking` matches it (`isMarked`).
    init(_ query: TraceQLQuery, reading: [TraceQLAttribute] = [], marking: SpanCondition? = nil) {
        let (compiled, required) = compile(query.spansets)
        spansets = compiled
        let (pipeline, pipelineRequired) = compile(query.pipeline)
        stages = pipeline
        requirement = .both(required, pipelineRequired)
        reading.forEach { field($0) }
        if let marking {
            conditions.append(marking)
            markIndex = conditions.count - 1
        }
    }

    /// Whether the plan's `marking` matches the span (true without one).
    func isMarked(_ span: SpanTableRow) -> Bool {
        guard let markIndex, markIndex < span.matches.count else { return true }
        return span.matches[markIndex]
    }

    private mutating func compile(_ pipeline: [TraceQLStage]) -> ([Stage], TraceRequirement) {
        var stages: [Stage] = []
        var requirement = TraceRequirement.anything
        for stage in pipeline {
            switch stage {
            case .filter(let expression):
                let (compiled, required) = compile(expression)
                stages.append(.filter(compiled))
                requirement = .both(requirement, required)
            case .select(let attributes):
                attributes.forEach { field($0) }
                stages.append(.select(attributes))
            case .by(let attributes):
                attributes.forEach { field($0) }
                stages.append(.by(attributes))
            case .coalesce:
                stages.append(.coalesce)
            case .aggregate(let aggregate, let op, let threshold):
                switch aggregate {
                case .count: break
                case .avg(let a), .min(let a), .max(let a), .sum(let a): field(a)
                }
                stages.append(.aggregate(aggregate, op, threshold))
            }
        }
        return (stages, requirement)
    }

    private mutating func field(_ attribute: TraceQLAttribute) {
        if SpansetPlan.builtIn(attribute) == nil, !fields.contains(attribute) { fields.append(attribute) }
    }

    private mutating func compile(_ spansets: TraceQLSpansets) -> (Spansets, TraceRequirement) {
        switch spansets {
        case .filter(nil):
            return (.filter(nil), .anything)
        case .filter(let expression?):
            let condition = expression.spanCondition
            conditions.append(condition)
            return (.filter(conditions.count - 1), .span(condition))
        case .and(let left, let right):
            let (l, lr) = compile(left)
            let (r, rr) = compile(right)
            return (.and(l, r), .both(lr, rr))
        case .or(let left, let right):
            let (l, lr) = compile(left)
            let (r, rr) = compile(right)
            return (.or(l, r), .either(lr, rr))
        case .structural(let structure, let left, let right):
            let (l, lr) = compile(left)
            let (r, rr) = compile(right)
            // `!>>` keeps B's spans that have no A relative: A need not be in the trace.
            return (.structural(structure, l, r), structure.negated ? rr : .both(lr, rr))
        case .pipeline(let inner, let pipeline):
            let (compiled, required) = compile(inner)
            let (stages, stagesRequired) = compile(pipeline)
            return (.pipeline(compiled, stages), .both(required, stagesRequired))
        }
    }

    /// The store's request for the spans of candidate traces.
    var request: SpanTableRequest { SpanTableRequest(conditions: conditions, fields: fields.map(\.spanField)) }

    // MARK: Evaluation

    /// One trace's spans with their family links.
    struct Trace {
        let spans: [SpanTableRow]
        let parent: [Int?]

        init(_ spans: [SpanTableRow]) {
            self.spans = spans
            var index: [String: Int] = [:]
            for (position, span) in spans.enumerated() { index[span.spanID] = position }
            parent = spans.map { span in span.parentSpanID.flatMap { index[$0] } }
        }

        /// The span's ancestors, nearest first (bounded against a cycle in bad data).
        func ancestors(_ span: Int) -> [Int] {
            var result: [Int] = []
            var current = parent[span]
            while let next = current, result.count < spans.count {
                result.append(next)
                current = parent[next]
            }
            return result
        }
    }

    /// A spanset a query found: its spans (positions in the trace), the values the pipeline
    /// gave it (`by`, aggregates) and the attributes `select` shows.
    struct FoundSpanset {
        var spans: [Int]
        var attributes: [(key: String, value: SpanFieldValue)] = []
        var selected: [TraceQLAttribute] = []
    }

    /// The spansets of one trace after the spanset operators and the pipeline; none when the
    /// trace does not match.
    func evaluate(_ trace: Trace) -> [FoundSpanset] {
        run(stages, on: evaluate(spansets, trace), trace)
    }

    /// The spansets `stages` leave of the spans `matched`.
    func run(_ stages: [Stage], on matched: [Int], _ trace: Trace) -> [FoundSpanset] {
        guard !matched.isEmpty else { return [] }
        var sets = [FoundSpanset(spans: matched)]
        for stage in stages {
            switch stage {
            case .filter(let expression):
                let kept = Set(evaluate(expression, trace))
                sets = sets.compactMap { set in
                    var copy = set
                    copy.spans = set.spans.filter { kept.contains($0) }
                    return copy.spans.isEmpty ? nil : copy
                }
            case .select(let attributes):
                for index in sets.indices {
                    for attribute in attributes where !sets[index].selected.contains(attribute) { sets[index].selected.append(attribute) }
                }
            case .by(let attributes):
                var grouped: [FoundSpanset] = []
                for set in sets {
                    var order: [[SpanFieldValue?]] = []
                    var groups: [[SpanFieldValue?]: [Int]] = [:]
                    for span in set.spans {
                        let values = attributes.map { self.value($0, trace.spans[span]) }
                        if groups[values] == nil { order.append(values) }
                        groups[values, default: []].append(span)
                    }
                    for values in order {
                        var split = set
                        split.spans = groups[values] ?? []
                        for (attribute, value) in zip(attributes, values) {
                            if let value { split.attributes.append((key: "by(\(attribute.text))", value: value)) }
                        }
                        grouped.append(split)
                    }
                }
                sets = grouped
            case .coalesce:
                sets = [FoundSpanset(spans: Set(sets.flatMap(\.spans)).sorted(), selected: sets.reduce(into: []) { all, set in
                    for attribute in set.selected where !all.contains(attribute) { all.append(attribute) }
                })]
            case .aggregate(let aggregate, let op, let threshold):
                sets = sets.compactMap { set in
                    guard let result = self.aggregate(aggregate, set.spans.map { trace.spans[$0] }), Self.compare(result, op, threshold) else { return nil }
                    var copy = set
                    let isWhole = result.rounded() == result && abs(result) < 1e15
                    copy.attributes.append((key: aggregate.text, value: SpanFieldValue(kind: isWhole ? .int : .float, text: isWhole ? String(Int64(result)) : String(result))))
                    return copy
                }
            }
            if sets.isEmpty { return [] }
        }
        return sets
    }

    func evaluate(_ spansets: Spansets, _ trace: Trace) -> [Int] {
        switch spansets {
        case .filter(nil): return Array(trace.spans.indices)
        case .filter(let index?): return trace.spans.indices.filter { trace.spans[$0].matches[index] }
        case .and(let left, let right):
            let l = evaluate(left, trace)
            guard !l.isEmpty else { return [] }
            let r = evaluate(right, trace)
            return r.isEmpty ? [] : Set(l).union(r).sorted()
        case .or(let left, let right):
            return Set(evaluate(left, trace)).union(evaluate(right, trace)).sorted()
        case .structural(let structure, let left, let right):
            let l = Set(evaluate(left, trace))
            let r = evaluate(right, trace)
            var kept: [Int] = []
            var partners: Set<Int> = []
            for span in r {
                let related = relatives(of: span, structure.relation, trace).filter { l.contains($0) }
                if related.isEmpty == structure.negated {
                    kept.append(span)
                    partners.formUnion(related)
                }
            }
            return structure.union && !kept.isEmpty ? Set(kept).union(partners).sorted() : kept
        case .pipeline(let inner, let stages):
            return Set(run(stages, on: evaluate(inner, trace), trace).flatMap(\.spans)).sorted()
        }
    }

    /// The spans that stand in `relation` to `span` from the left-hand side: for `A >> B`, the
    /// ancestors of a B span (an A among them makes it a descendant of A).
    func relatives(of span: Int, _ relation: TraceQLStructure.Relation, _ trace: Trace) -> [Int] {
        switch relation {
        case .descendant: return trace.ancestors(span)
        case .child: return trace.parent[span].map { [$0] } ?? []
        case .ancestor: return trace.spans.indices.filter { trace.ancestors($0).contains(span) }
        case .parent: return trace.spans.indices.filter { trace.parent[$0] == span }
        case .sibling:
            guard let parent = trace.parent[span] else { return [] }
            return trace.spans.indices.filter { $0 != span && trace.parent[$0] == parent }
        }
    }

    static func compare(_ value: Double, _ op: TraceQLOperator, _ threshold: Double) -> Bool {
        switch op {
        case .equal: return value == threshold
        case .notEqual: return value != threshold
        case .greater: return value > threshold
        case .less: return value < threshold
        case .greaterOrEqual: return value >= threshold
        case .lessOrEqual: return value <= threshold
        case .matches, .notMatches: return false
        }
    }

    func aggregate(_ aggregate: TraceQLAggregate, _ spans: [SpanTableRow]) -> Double? {
        let attribute: TraceQLAttribute
        switch aggregate {
        case .count: return Double(spans.count)
        case .avg(let a), .min(let a), .max(let a), .sum(let a): attribute = a
        }
        let numbers = spans.compactMap { span -> Double? in
            guard let value = value(attribute, span), value.kind == .int || value.kind == .float else { return nil }
            return Double(value.text)
        }
        guard !numbers.isEmpty else { return nil }
        switch aggregate {
        case .count: return Double(spans.count)
        case .avg: return numbers.reduce(0, +) / Double(numbers.count)
        case .min: return numbers.min()
        case .max: return numbers.max()
        case .sum: return numbers.reduce(0, +)
        }
    }

    /// An intrinsic read from the span's own columns, or nil when the store reads it as a field.
    static func builtIn(_ attribute: TraceQLAttribute) -> ((SpanTableRow) -> SpanFieldValue?)? {
        switch attribute {
        case .name: return { SpanFieldValue(kind: .string, text: $0.name) }
        case .status: return { span in SpanFieldValue(kind: .string, text: TraceQLValue.statuses.first { $0.value == span.statusCode }?.key ?? "unset") }
        case .kind: return { span in SpanFieldValue(kind: .string, text: TraceQLValue.kinds.first { $0.value == span.kind }?.key ?? "unspecified") }
        case .duration: return { SpanFieldValue(kind: .int, text: String(max(0, $0.endTimeUnixNano - $0.startTimeUnixNano))) }
        case .rootName: return { $0.rootSpanName.map { SpanFieldValue(kind: .string, text: $0) } }
        case .rootServiceName: return { $0.rootServiceName.map { SpanFieldValue(kind: .string, text: $0) } }
        case .traceDuration:
            return { span in
                guard let start = span.traceStartUnixNano, let end = span.traceEndUnixNano else { return nil }
                return SpanFieldValue(kind: .int, text: String(max(0, end - start)))
            }
        case .resource("service.name"): return { $0.serviceName.map { SpanFieldValue(kind: .string, text: $0) } }
        case .traceID: return { SpanFieldValue(kind: .string, text: $0.traceID) }
        case .spanID: return { SpanFieldValue(kind: .string, text: $0.spanID) }
        case .parentID: return { $0.parentSpanID.map { SpanFieldValue(kind: .string, text: $0) } }
        default: return nil
        }
    }

    func value(_ attribute: TraceQLAttribute, _ span: SpanTableRow) -> SpanFieldValue? {
        if let read = Self.builtIn(attribute) { return read(span) }
        guard let index = fields.firstIndex(of: attribute), index < span.values.count else { return nil }
        return span.values[index]
    }
}
