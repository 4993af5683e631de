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
        var resources = Set<String>(), scopes = Set<String>()
        for span in batch.spans {
            resources.insert(span.resource)
            scopes.insert(span.scope)
        }
        for log in batch.logs {
            resources.insert(log.resource)
            scopes.insert(log.scope)
        }
        return (resources.sorted(), scopes.sorted())
    }

    func resource(_ text: String) throws(StoreError) -> Int64 {
        guard let id = resources[text] else { throw StoreError(operation: "write", reason: "a resource without an id") }
        return id
    }

    func scope(_ text: String) throws(StoreError) -> Int64 {
        guard let id = scopes[text] else { throw StoreError(operation: "write", reason: "a scope without an id") }
        return id
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
