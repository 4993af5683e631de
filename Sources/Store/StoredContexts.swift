import Synchronization

/// The ids of resources and scopes, by their OTLP/JSON text. Each distinct resource and scope is
/// stored once (`enterprise.resources`, `enterprise.scopes`, keyed by their text's hash); spans
/// and log records hold its id (docs/partitioning.md, "Resources and scopes").
struct ContextIDs: Sendable, Equatable {
    var resources: [String: Int64] = [:]
    var scopes: [String: Int64] = [:]

    /// The distinct resource and scope texts of `batch`'s spans and log records, sorted (two
    /// commits that add the same ones lock them in one order).
    static func texts(of batch: WriteBatch) -> (resources: [String], scopes: [String]) {
        var resources = Distinct(), scopes = Distinct()
        for span in batch.spans {
            resources.insert(span.resource)
            scopes.insert(span.scope)
        }
        for log in batch.logs {
            resources.insert(log.resource)
            scopes.insert(log.scope)
        }
        return (resources.texts.sorted(), scopes.texts.sorted())
    }

    /// The id of each of `texts` (in order) in `ids`.
    static func ids(of texts: some Sequence<String>, in ids: [String: Int64], kind: String) throws(StoreError) -> [Int64] {
        var result: [Int64] = []
        result.reserveCapacity(texts.underestimatedCount)
        var last: (text: String, id: Int64)?
        for text in texts {
            // The rows of one OTLP resource (scope) share one string: comparing it with the
            // previous row's is a pointer check, where hashing would read the whole JSON.
            if let last, last.text == text {
                result.append(last.id)
                continue
            }
            guard let id = ids[text] else { throw StoreError(operation: "write", reason: "a \(kind) without an id") }
            last = (text, id)
            result.append(id)
        }
        return result
    }

    func resourceIDs(_ texts: some Sequence<String>) throws(StoreError) -> [Int64] {
        try Self.ids(of: texts, in: resources, kind: "resource")
    }

    func scopeIDs(_ texts: some Sequence<String>) throws(StoreError) -> [Int64] {
        try Self.ids(of: texts, in: scopes, kind: "scope")
    }

    /// Distinct texts, skipping a repeat of the previous one without hashing it.
    private struct Distinct {
        var texts = Set<String>()
        var last: String?

        mutating func insert(_ text: String) {
            if last == text { return }
            last = text
            texts.insert(text)
        }
    }
}

/// The writer's cache of committed ids: a batch looks up only the resources and scopes it does
/// not find here. Ids enter after their transaction commits (a rolled-back insert leaves no id
/// behind), and stay valid because neither table's rows are ever deleted. Bounded: past
/// `capacity` entries the cache starts over (a sender that makes up a resource per request
/// costs lookups, not memory).
final class ContextIDCache: Sendable {
    static let capacity = 10_000
    private let ids = Mutex(ContextIDs())

    /// The cached ids of `resources` and `scopes`.
    func known(resources: [String], scopes: [String]) -> ContextIDs {
        ids.withLock { cached in
            var found = ContextIDs()
            for text in resources { if let id = cached.resources[text] { found.resources[text] = id } }
            for text in scopes { if let id = cached.scopes[text] { found.scopes[text] = id } }
            return found
        }
    }

    /// Adds the ids of a committed transaction.
    func remember(_ committed: ContextIDs) {
        ids.withLock { cached in
            if cached.resources.count + committed.resources.count > Self.capacity { cached.resources = [:] }
            if cached.scopes.count + committed.scopes.count > Self.capacity { cached.scopes = [:] }
            cached.resources.merge(committed.resources) { _, new in new }
            cached.scopes.merge(committed.scopes) { _, new in new }
        }
    }
}
