/// Which traces a commit reads back from the store to pair its spans with the stored ones
/// (`ServiceCallSpan.calls`): only those whose row it did not insert.
///
/// A stored span always has its trace's row (`trace_spans`' foreign key, on both stores), so a
/// trace whose row the commit inserts has no stored span besides the commit's own, and its
/// calls are paired from the commit's spans alone. On PostgreSQL, where commits overlap (two
/// per Sightline, and any number of replicas), a commit that merges into a trace's row another
/// commit holds (inserting it, or merging into it) waits for that commit's end: it then finds
/// the row stored, reads the trace, and sees the other's spans. So of two commits holding the
/// two spans of a call, the later one counts it, once, and no store-wide lock orders them.
/// Spans that come without their trace's row lock the stored row instead (`unlistedTraces`).
public struct TraceEdgeReads: Sendable, Equatable {
    /// The traces whose row the commit inserted.
    public var newTraces: Set<String>

    public init(newTraces: Set<String>) {
        self.newTraces = newTraces
    }

    /// The traces of `added` to read back, sorted.
    public func tracesToRead(added: [SpanRow]) -> [String] {
        var traceIDs = Set<String>()
        for span in added where !newTraces.contains(span.traceID) { traceIDs.insert(span.traceID) }
        return traceIDs.sorted()
    }

    /// The traces of `spans` without a row in `traces` (sorted): a batch built by the OTLP
    /// mapping has none, every trace of its spans has its `TraceRow`.
    public static func unlistedTraces(spans: [SpanRow], traces: [TraceRow]) -> [String] {
        let listed = Set(traces.map(\.traceID))
        var unlisted = Set<String>()
        for span in spans where !listed.contains(span.traceID) { unlisted.insert(span.traceID) }
        return unlisted.sorted()
    }
}
