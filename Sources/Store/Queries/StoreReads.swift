/// A count of matches that stops at a limit: `total` is the limit and `capped` true when more
/// match, so counting costs the same whether a thousand or ten million rows match (as
/// Elasticsearch's `track_total_hits`).
public struct CappedCount: Sendable, Equatable {
    public var total: Int64
    public var capped: Bool

    public init(total: Int64, capped: Bool) {
        self.total = total
        self.capped = capped
    }

    /// `counted` matches (counted up to `limit + 1`) as the answer states them.
    public init(counted: Int64, limit: Int) {
        self = counted > limit ? CappedCount(total: Int64(limit), capped: true) : CappedCount(total: counted, capped: false)
    }
}

/// What the query implementations read through: the store's reads, failures as `StoreError`,
/// rows decoded into records.
struct StoreReads: Sendable {
    let dialect: SQLDialect
    private let read: @Sendable (ReadQuery) async throws -> [ResultRow]

    init(_ store: any TelemetryStore) {
        self.read = { try await store.read($0) }
        self.dialect = store.dialect
    }

    /// The reads of the query concerns: on the read replica when one is configured.
    init(replicaOf store: PostgresStore) {
        self.read = { try await store.replicaRead($0) }
        self.dialect = store.dialect
    }

    func rows(_ query: ReadQuery) async throws(StoreError) -> [ResultRow] {
        do {
            return try await read(query)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(operation: "read", reason: "\(error)")
        }
    }

    /// Every row of `query` as a `Record` (`ResultRow.decode`).
    func records<Record: Decodable>(_ type: Record.Type, _ query: ReadQuery) async throws(StoreError) -> [Record] {
        var records: [Record] = []
        for row in try await rows(query) { records.append(try row.decode(type)) }
        return records
    }

    /// How many rows of `from` (a table with its alias, or a join) match `filter`, counted up to
    /// `limit`; `sql` holds the filter's binds.
    func cappedCount(_ sql: SQLBuilder, from: String, filter: String, limit: Int) async throws(StoreError) -> CappedCount {
        let text = "SELECT count(*) AS total FROM (SELECT 1 FROM \(from) WHERE \(filter) LIMIT \(limit + 1)) counted"
        let counted = try await rows(sql.query(text)).first?.int("total") ?? 0
        return CappedCount(counted: counted, limit: limit)
    }
}

/// A record read from the columns its coding keys name, in their order.
protocol StoredRecord: Decodable {
    associatedtype CodingKeys: CodingKey & CaseIterable
}

extension StoredRecord {
    /// The select list of the record's columns, each prefixed with `alias` when given, or as
    /// `replaced` writes it (`l.id::text AS id`).
    static func selectList(alias: String? = nil, replacing replaced: [String: String] = [:]) -> String {
        CodingKeys.allCases.map { column in
            let name = column.stringValue
            return replaced[name] ?? (alias.map { "\($0).\(name)" } ?? name)
        }.joined(separator: ", ")
    }
}
