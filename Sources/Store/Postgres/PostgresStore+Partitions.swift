import Logging
import PostgresNIO

/// The upkeep of a store whose telemetry tables are stored by day (PostgreSQL, migrations 017
/// and 022; docs/partitioning.md): days created ahead of the data, whole old days dropped.
public protocol TimePartitions: Sendable {
    /// Creates the partitions that do not exist yet of yesterday to two days after the day of
    /// `now` (Unix nanoseconds), and of every day within a year of it that has rows in the
    /// default partition, moving those rows into their day; returns the names created.
    /// Idempotent; safe to run from several Sightlines at once.
    @discardableResult
    func ensurePartitions(around now: Int64) async throws(StoreError) -> [String]

    /// Drops the partitions of `table` whose whole day is before `cutoff` (Unix nanoseconds),
    /// oldest first; rows of later days and of the default partition stay (the retention's row
    /// deletion removes those older than the cutoff). For `traceSpans`, the traces whose spans
    /// were dropped keep their row (and any span started on a later day) until the retention
    /// deletes traces started before the cutoff: run that right after.
    func dropPartitions(of table: PartitionedTable, olderThan cutoff: Int64) async throws(StoreError) -> DroppedPartitions
}

/// What `dropPartitions` removed.
public struct DroppedPartitions: Sendable, Equatable {
    /// The partitions dropped, oldest first.
    public var names: [String]
    /// Their rows as the server estimated them (`pg_class.reltuples`, kept by autovacuum).
    public var estimatedRows: Int64

    public init(names: [String] = [], estimatedRows: Int64 = 0) {
        self.names = names
        self.estimatedRows = estimatedRows
    }
}

/// The statements of partition upkeep, on a connection of its own. Every step takes its locks
/// within `lockTimeout` or fails (and is tried again at the next run): creating and dropping a
/// partition lock the parent table briefly, and must not queue ingest behind a long read.
enum PostgresPartitionUpkeep {
    /// Days created ahead of today: two days of slack if upkeep stops running for a while.
    static let daysAhead = 2
    /// Yesterday too: late senders.
    static let daysBack = 1
    static let lockTimeout = "5s"
    /// Serialises upkeep between Sightlines sharing a database.
    static let advisoryLock: Int64 = 7468697202

    static func ensure(on connection: PostgresConnection, around now: Int64, logger: Logger) async throws -> [String] {
        var created: [String] = []
        // Before migration 017 (a test's store at an older version) there is nothing to keep.
        for table in PartitionedTable.allCases where try await isPartitioned(table, on: connection, logger: logger) {
            let existing = Set(try await partitions(of: table, on: connection, logger: logger).map(\.partition))
            let waiting = try await daysInDefault(of: table, around: now, on: connection, logger: logger)
            let missing = PartitionPlan.missing(table, existing: existing, around: now, daysBack: daysBack, daysAhead: daysAhead,
                                                daysInDefault: waiting)
            guard !missing.isEmpty else { continue }
            let columns = try await copiedColumns(of: table, on: connection, logger: logger)
            for partition in missing where try await create(partition, columns: columns, on: connection, logger: logger) {
                created.append(partition.name)
            }
        }
        if !created.isEmpty { logger.info("created partitions", metadata: ["partitions": "\(created.joined(separator: ","))"]) }
        return created
    }

    /// Creates `partition` as a table of its own, moves the default partition's rows of its day
    /// into it and attaches it: attaching locks the parent less than `CREATE ... PARTITION OF`
    /// (reads and writes go on), and a row of the day in the default partition would make either
    /// fail. False when another Sightline created it first.
    private static func create(_ partition: DayPartition, columns: String, on connection: PostgresConnection,
                               logger: Logger) async throws -> Bool {
        let table = partition.table
        let parent = "enterprise.\(table.rawValue)"
        let name = "enterprise.\(partition.name)"
        let day = "\(table.key) >= \(partition.lowerLiteral) AND \(table.key) < \(partition.upperLiteral)"
        var made = false
        try await PostgresStore.transaction(on: connection, logger: logger) { statement in
            try await statement(PostgresQuery(unsafeSQL: "SET LOCAL lock_timeout = '\(lockTimeout)'"))
            try await statement("SELECT pg_advisory_xact_lock(\(advisoryLock))")
            guard !(try await exists(partition.name, on: connection, logger: logger)) else { return }
            // Rows of the day written meanwhile would land in the default partition again.
            try await statement(PostgresQuery(unsafeSQL: "LOCK TABLE enterprise.\(table.defaultPartition) IN EXCLUSIVE MODE"))
            try await statement(PostgresQuery(unsafeSQL: """
                CREATE TABLE \(name) (LIKE \(parent) INCLUDING DEFAULTS INCLUDING GENERATED INCLUDING STORAGE)
                """))
            try await statement(PostgresQuery(unsafeSQL: """
                WITH moved AS (DELETE FROM enterprise.\(table.defaultPartition) WHERE \(day) RETURNING \(columns))
                INSERT INTO \(name) (\(columns)) SELECT \(columns) FROM moved
                """))
            try await statement(PostgresQuery(unsafeSQL: """
                ALTER TABLE \(parent) ATTACH PARTITION \(name) FOR VALUES FROM (\(partition.lowerLiteral)) TO (\(partition.upperLiteral))
                """))
            made = true
        }
        return made
    }

    static func drop(_ table: PartitionedTable, olderThan cutoff: Int64, on connection: PostgresConnection,
                     logger: Logger) async throws -> DroppedPartitions {
        let existing = try await partitions(of: table, on: connection, logger: logger)
        let rows = Dictionary(existing.map { ($0.partition, $0.estimatedRows) }, uniquingKeysWith: max)
        var dropped = DroppedPartitions()
        for partition in PartitionPlan.droppable(existing.map(\.partition), olderThan: cutoff) {
            try await PostgresStore.transaction(on: connection, logger: logger) { statement in
                try await statement(PostgresQuery(unsafeSQL: "SET LOCAL lock_timeout = '\(lockTimeout)'"))
                try await statement("SELECT pg_advisory_xact_lock(\(advisoryLock))")
                try await statement(PostgresQuery(unsafeSQL: "DROP TABLE IF EXISTS enterprise.\(partition.name)"))
            }
            dropped.names.append(partition.name)
            dropped.estimatedRows += rows[partition] ?? 0
        }
        if !dropped.names.isEmpty {
            logger.info("dropped partitions", metadata: [
                "partitions": "\(dropped.names.joined(separator: ","))", "rows.estimated": "\(dropped.estimatedRows)",
            ])
        }
        return dropped
    }

    /// The day partitions of `table` and their estimated rows (0 before the first vacuum).
    static func partitions(of table: PartitionedTable, on connection: PostgresConnection,
                           logger: Logger) async throws -> [(partition: DayPartition, estimatedRows: Int64)] {
        let rows = try await connection.query("""
            SELECT c.relname::text, GREATEST(c.reltuples, 0)::int8
            FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = to_regclass(\("enterprise." + table.rawValue))
            """, logger: logger)
        var found: [(partition: DayPartition, estimatedRows: Int64)] = []
        for try await (name, estimate) in rows.decode((String, Int64).self) {
            if let partition = DayPartition(table: table, name: name) { found.append((partition, estimate)) }
        }
        return found.sorted { $0.partition < $1.partition }
    }

    /// The days within `PartitionPlan.reach` of `now` that hold rows in the default partition
    /// (written before their day had a partition: a backfill, a late sender), found with one
    /// index probe per day.
    private static func daysInDefault(of table: PartitionedTable, around now: Int64, on connection: PostgresConnection,
                                      logger: Logger) async throws -> Set<Int64> {
        let key = table.key
        let source = "enterprise.\(table.defaultPartition)"
        if table.keyIsUnixNano {
            let day = DayPartition.nanosecondsPerDay
            var query = PostgresQuery(unsafeSQL: """
                WITH RECURSIVE days(day) AS (
                    SELECT (SELECT min(\(key)) FROM \(source) WHERE \(key) >= $1 AND \(key) < $2) / \(day)
                    UNION ALL
                    SELECT (SELECT min(\(key)) FROM \(source) WHERE \(key) >= (days.day + 1) * \(day) AND \(key) < $2) / \(day)
                    FROM days WHERE days.day IS NOT NULL
                )
                SELECT day FROM days WHERE day IS NOT NULL
                """)
            query.binds.append(now - PartitionPlan.reach)
            query.binds.append(now + PartitionPlan.reach)
            var days: Set<Int64> = []
            for try await day in try await connection.query(query, logger: logger).decode(Int64.self) { days.insert(day) }
            return days
        }
        let low = Timestamp.iso8601(unixNano: now - PartitionPlan.reach)
        let high = Timestamp.iso8601(unixNano: now + PartitionPlan.reach)
        var query = PostgresQuery(unsafeSQL: """
            WITH RECURSIVE days(day) AS (
                SELECT date_trunc('day', (SELECT min(\(key)) FROM \(source) WHERE \(key) >= $1::timestamptz AND \(key) < $2::timestamptz)
                                         AT TIME ZONE 'UTC')
                UNION ALL
                SELECT date_trunc('day', (SELECT min(\(key)) FROM \(source)
                                          WHERE \(key) >= (days.day + interval '1 day') AT TIME ZONE 'UTC' AND \(key) < $2::timestamptz)
                                         AT TIME ZONE 'UTC')
                FROM days WHERE days.day IS NOT NULL
            )
            SELECT (extract(epoch FROM day) / 86400)::int8 FROM days WHERE day IS NOT NULL
            """)
        query.binds.append(low)
        query.binds.append(high)
        var days: Set<Int64> = []
        for try await day in try await connection.query(query, logger: logger).decode(Int64.self) { days.insert(day) }
        return days
    }

    /// The columns a row keeps when it moves, by name: all but the generated search vector.
    private static func copiedColumns(of table: PartitionedTable, on connection: PostgresConnection,
                                      logger: Logger) async throws -> String {
        let rows = try await connection.query("""
            SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum)
            FROM pg_attribute
            WHERE attrelid = to_regclass(\("enterprise." + table.rawValue)) AND attnum > 0 AND NOT attisdropped AND attgenerated = ''
            """, logger: logger)
        for try await columns in rows.decode(String?.self) {
            if let columns { return columns }
        }
        throw StoreError(operation: "partitions", reason: "enterprise.\(table.rawValue) has no columns")
    }

    private static func isPartitioned(_ table: PartitionedTable, on connection: PostgresConnection,
                                      logger: Logger) async throws -> Bool {
        let rows = try await connection.query("""
            SELECT EXISTS (SELECT 1 FROM pg_class WHERE oid = to_regclass(\("enterprise." + table.rawValue)) AND relkind = 'p')
            """, logger: logger)
        for try await found in rows.decode(Bool.self) { return found }
        return false
    }

    private static func exists(_ name: String, on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        let rows = try await connection.query("SELECT to_regclass(\("enterprise." + name)) IS NOT NULL", logger: logger)
        for try await found in rows.decode(Bool.self) { return found }
        return false
    }
}

extension PostgresStore: TimePartitions {
    public var timePartitions: (any TimePartitions)? { self }

    @discardableResult
    public func ensurePartitions(around now: Int64) async throws(StoreError) -> [String] {
        try await withUpkeepConnection("ensure partitions") { connection in
            try await PostgresPartitionUpkeep.ensure(on: connection, around: now, logger: self.logger)
        }
    }

    public func dropPartitions(of table: PartitionedTable, olderThan cutoff: Int64) async throws(StoreError) -> DroppedPartitions {
        try await withUpkeepConnection("drop partitions") { connection in
            try await PostgresPartitionUpkeep.drop(table, olderThan: cutoff, on: connection, logger: self.logger)
        }
    }

    /// Upkeep runs on a connection of its own (at start-up the pools are not running yet), with
    /// no statement time limit: moving a day out of the default partition may take a while.
    private func withUpkeepConnection<T: Sendable>(
        _ operation: String, _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws(StoreError) -> T {
        do {
            let connection = try await PostgresConnection.connect(
                configuration: configuration.connectionConfiguration, id: 0, logger: logger)
            do {
                try await connection.query("SET statement_timeout = 0", logger: logger)
                let result = try await body(connection)
                try await connection.close()
                return result
            } catch {
                try? await connection.close()
                throw error
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(operation: operation, reason: Self.describe(error))
        }
    }
}
