/// Text that is JSON (a span's tags, a record's attributes, …), kept as the store holds it so
/// that an answer can embed it as JSON rather than as a string.
public struct JSONText: Sendable, Hashable, Codable {
    public var text: String

    public init(_ text: String) { self.text = text }

    public init(from decoder: any Decoder) throws {
        text = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(text)
    }
}

extension ResultRow {
    /// The row as a `Record`, each stored property read from the column its coding key names.
    /// A column the statement does not select, a NULL in a property that is not optional, or a
    /// value of another kind (text where a number is wanted) is an error naming the column, not
    /// a null: a misspelt name or a changed column fails the first test that reads it.
    /// Whole numbers read as `Double` too, and 0/1 as `Bool` (SQLite stores flags so).
    func decode<Record: Decodable>(_ type: Record.Type) throws(StoreError) -> Record {
        do {
            return try Record(from: RowDecoder(row: self))
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(operation: "read", reason: "cannot read a \(Record.self): \(error)")
        }
    }
}

/// Decodes a flat record from one result row (`ResultRow.decode`).
private struct RowDecoder: Decoder {
    let row: ResultRow
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(Columns(row: row))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        throw StoreError(operation: "read", reason: "a row is read as a record, not a list")
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        throw StoreError(operation: "read", reason: "a row is read as a record, not a single value")
    }

    /// The row's columns by name.
    struct Columns<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let row: ResultRow
        var codingPath: [any CodingKey] { [] }
        var allKeys: [Key] { row.columns.compactMap { Key(stringValue: $0) } }

        /// Every key counts as present, so that an optional property's missing column fails in
        /// `decodeNil` (naming it) instead of reading as nil.
        func contains(_ key: Key) -> Bool { true }

        func decodeNil(forKey key: Key) throws -> Bool { try row.value(key.stringValue).isNull }

        func decode(_ type: String.Type, forKey key: Key) throws -> String {
            try column(key) { $0.text }
        }

        func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 {
            try column(key) { $0.int }
        }

        func decode(_ type: Int.Type, forKey key: Key) throws -> Int {
            try integer(key)
        }

        func decode(_ type: Double.Type, forKey key: Key) throws -> Double {
            try column(key) { $0.double }
        }

        func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try column(key) { $0.double.map { Float($0) } } }
        func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try integer(key) }
        func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try integer(key) }
        func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try integer(key) }
        func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try integer(key) }
        func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try integer(key) }
        func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try integer(key) }
        func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try integer(key) }
        func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try integer(key) }

        private func integer<T: FixedWidthInteger>(_ key: Key) throws -> T {
            try column(key) { $0.int.flatMap { T(exactly: $0) } }
        }

        func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool {
            try column(key) { value in
                switch value {
                case .bool(let flag): flag
                case .int(let number): number != 0
                default: nil
                }
            }
        }

        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            guard type == JSONText.self, let json = JSONText(try decode(String.self, forKey: key)) as? T else {
                throw StoreError(operation: "read", reason: "column \(key.stringValue): \(T.self) is not a column type")
            }
            return json
        }

        /// The value of `key`'s column as `read` takes it; an error for NULL or another kind.
        private func column<T>(_ key: Key, _ read: (SQLValue) -> T?) throws -> T {
            let value = try row.value(key.stringValue)
            if let typed = read(value) { return typed }
            let problem = value.isNull ? "is NULL" : "does not hold a \(T.self)"
            throw StoreError(operation: "read", reason: "column \(key.stringValue) \(problem)")
        }

        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
            -> KeyedDecodingContainer<NestedKey> {
            throw StoreError(operation: "read", reason: "column \(key.stringValue): records are flat")
        }

        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
            throw StoreError(operation: "read", reason: "column \(key.stringValue): records are flat")
        }

        func superDecoder() throws -> any Decoder { RowDecoder(row: row) }

        func superDecoder(forKey key: Key) throws -> any Decoder { RowDecoder(row: row) }
    }
}
