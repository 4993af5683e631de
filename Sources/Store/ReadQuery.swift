import Foundation

/// The SQL dialect of a store, for code that builds read queries.
public enum SQLDialect: String, Sendable {
    case sqlite
    case postgres
}

/// A value bound to, or read from, a query: the few kinds the query API needs.
public enum SQLValue: Sendable, Hashable {
    case null
    case int(Int64)
    case double(Double)
    case text(String)
    case bool(Bool)

    public var text: String? {
        if case .text(let value) = self { return value }
        return nil
    }

    public var int: Int64? {
        switch self {
        case .int(let value): return value
        case .double(let value) where value.rounded() == value && abs(value) < 9.2e18: return Int64(value)
        case .bool(let value): return value ? 1 : 0
        default: return nil
        }
    }

    public var double: Double? {
        switch self {
        case .double(let value): return value
        case .int(let value): return Double(value)
        default: return nil
        }
    }

    public var isNull: Bool { self == .null }
}

/// A parameterised read: SQL text with numbered placeholders (`?1`… for SQLite, `$1`… for
/// PostgreSQL, as `SQLBuilder` writes them) and the values bound to them, the first value to
/// number 1. Values are never spliced into the text, and the text may use a placeholder in any
/// order, or more than once.
public struct ReadQuery: Sendable {
    public var sql: String
    public var binds: [SQLValue]

    public init(sql: String, binds: [SQLValue] = []) {
        self.sql = sql
        self.binds = binds
    }
}

/// Builds a `ReadQuery` for one dialect: `bind(_:)` appends a value and returns its placeholder.
public struct SQLBuilder: Sendable {
    public let dialect: SQLDialect
    public private(set) var binds: [SQLValue] = []

    public init(_ dialect: SQLDialect) { self.dialect = dialect }

    /// The numbered placeholder for `value` (`?N` on SQLite, `$N` on PostgreSQL): the text
    /// may place it anywhere, and more than once.
    public mutating func bind(_ value: SQLValue) -> String {
        binds.append(value)
        switch dialect {
        case .sqlite: return "?\(binds.count)"
        case .postgres: return "$\(binds.count)"
        }
    }

    public mutating func bind(_ text: String) -> String { bind(.text(text)) }
    public mutating func bind(_ number: Int64) -> String { bind(.int(number)) }
    public mutating func bind(_ number: Double) -> String { bind(.double(number)) }

    /// A timestamp as the dialect compares it with the tables' time columns: `timestamptz` on
    /// PostgreSQL, fixed-width ISO 8601 text on SQLite.
    public mutating func bindTime(unixNano: Int64) -> String {
        let text = bind(.text(Timestamp.iso8601(unixNano: unixNano)))
        return dialect == .postgres ? "\(text)::timestamptz" : text
    }

    /// The query of `sql` with the values bound so far. Write the text into a variable first
    /// when it binds values itself: `builder.query("… \(builder.bind(x))")` reads `binds`
    /// before the text is made.
    public func query(_ sql: String) -> ReadQuery { ReadQuery(sql: sql, binds: binds) }
}

/// One result row: column names and values in select order.
public struct ResultRow: Sendable {
    public let columns: [String]
    public let values: [SQLValue]

    public init(columns: [String], values: [SQLValue]) {
        self.columns = columns
        self.values = values
    }

    public subscript(_ column: String) -> SQLValue {
        guard let index = columns.firstIndex(of: column) else { return .null }
        return values[index]
    }
}

extension ResultRow {
    /// The value of `column`. A column the statement does not select is an error (naming the
    /// column, never a value), not a null: a misspelt name fails the first test that reads it.
    public func value(_ column: String) throws(StoreError) -> SQLValue {
        guard let index = columns.firstIndex(of: column) else {
            throw StoreError(operation: "read", reason: "no column \(column) in the result")
        }
        return values[index]
    }

    /// The text of `column` (`nil` for NULL).
    public func text(_ column: String) throws(StoreError) -> String? { try value(column).text }
    /// The whole number in `column` (`nil` for NULL).
    public func int(_ column: String) throws(StoreError) -> Int64? { try value(column).int }
    /// The number in `column` (`nil` for NULL).
    public func double(_ column: String) throws(StoreError) -> Double? { try value(column).double }
    /// A flag stored as a boolean (PostgreSQL) or 0/1 (SQLite) (`nil` for NULL).
    public func bool(_ column: String) throws(StoreError) -> Bool? {
        switch try value(column) {
        case .bool(let flag): flag
        case .int(let number): number != 0
        default: nil
        }
    }
}
