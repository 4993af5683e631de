import SQLiteNIO

/// `sightline_percentiles(value, 'f1,f2,...')` on SQLite: the percentiles of `value` at each
/// fraction, interpolated linearly between the two nearest ranks exactly as PostgreSQL's
/// `percentile_cont`, returned as text `p1,p2,...` (empty when no value is non-NULL). One pass
/// and one sort for any number of fractions, where `ORDER BY value LIMIT 2 OFFSET k` would
/// sort the window once per fraction.
struct SQLitePercentiles: SQLiteCustomAggregate {
    nonisolated(unsafe) static let function = SQLiteCustomFunction("sightline_percentiles", argumentCount: 2, pure: true, aggregate: Self.self)

    private var values: [Double] = []
    private var fractions: [Double]?

    init() {}

    mutating func step(_ arguments: [SQLiteData]) throws {
        if fractions == nil, case .text(let list) = arguments[1] {
            fractions = list.split(separator: ",").compactMap { Double($0) }.map { min(max($0, 0), 1) }
        }
        switch arguments[0] {
        case .float(let value): values.append(value)
        case .integer(let value): values.append(Double(value))
        default: break // NULL and text are skipped, as percentile_cont skips NULL
        }
    }

    func finalize() throws -> (any SQLiteDataConvertible)? {
        finalizeText()
    }

    /// The answer: `p1,p2,...`, empty when no value was given.
    func finalizeText() -> String {
        guard !values.isEmpty, let fractions else { return "" }
        let sorted = values.sorted()
        return Self.interpolate(sorted, at: fractions).map { String($0) }.joined(separator: ",")
    }

    /// `percentile_cont` over ascending `sorted` (not empty) for each fraction in 0...1.
    static func interpolate(_ sorted: [Double], at fractions: [Double]) -> [Double] {
        fractions.map { fraction in
            let position = fraction * Double(sorted.count - 1)
            let lower = Int(position.rounded(.down))
            let upper = min(lower + 1, sorted.count - 1)
            return sorted[lower] + (sorted[upper] - sorted[lower]) * (position - Double(lower))
        }
    }
}
