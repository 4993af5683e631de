@testable import Store
import Testing

/// Rows read into records by column name (`ResultRow.decode`): a column the statement does not
/// select, or holding what the property cannot take, is an error naming it, never a null.
@Suite struct RowDecoderTests {
    struct Record: StoredRecord, Equatable {
        var name: String
        var count: Int64
        var share: Double?
        var flag: Bool
        var tags: JSONText?
        var note: String?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case name, count, share, flag, tags, note
        }
    }

    static let columns = ["name", "count", "share", "flag", "tags", "note", "extra"]

    func row(_ values: [SQLValue], columns: [String] = Self.columns) -> ResultRow { ResultRow(columns: columns, values: values) }

    func failure(_ row: ResultRow) -> String? {
        do {
            _ = try row.decode(Record.self)
            return nil
        } catch {
            return error.reason
        }
    }

    @Test func everyPropertyIsReadFromItsColumn() throws {
        let record = try row([.text("a"), .int(3), .double(0.5), .bool(true), .text(#"{"k":1}"#), .null, .text("ignored")])
            .decode(Record.self)
        #expect(record == Record(name: "a", count: 3, share: 0.5, flag: true, tags: JSONText(#"{"k":1}"#), note: nil))
    }

    @Test func flagsAndNumbersReadAsTheStoresHoldThem() throws {
        // SQLite: flags as 0/1, a whole REAL sum as an integer.
        let record = try row([.text("a"), .double(3), .int(2), .int(0), .null, .text("n"), .null]).decode(Record.self)
        #expect(record == Record(name: "a", count: 3, share: 2, flag: false, tags: nil, note: "n"))
    }

    @Test func aMissingColumnIsAnErrorNamingIt() {
        let columns = Self.columns.map { $0 == "note" ? "nite" : $0 }
        let reason = failure(row([.text("a"), .int(3), .null, .bool(true), .null, .null, .null], columns: columns))
        #expect(reason?.contains("no column note") == true, "\(reason ?? "decoded")")
    }

    @Test func aNullInAPropertyThatIsNotOptionalIsAnError() {
        let reason = failure(row([.text("a"), .null, .null, .bool(true), .null, .null, .null]))
        #expect(reason?.contains("column count is NULL") == true, "\(reason ?? "decoded")")
    }

    @Test func aValueOfAnotherKindIsAnError() {
        #expect(failure(row([.int(1), .int(3), .null, .bool(true), .null, .null, .null]))?.contains("column name") == true)
        #expect(failure(row([.text("a"), .text("3"), .null, .bool(true), .null, .null, .null]))?.contains("column count") == true)
        #expect(failure(row([.text("a"), .double(2.5), .null, .bool(true), .null, .null, .null]))?.contains("column count") == true)
        #expect(failure(row([.text("a"), .int(3), .null, .text("yes"), .null, .null, .null]))?.contains("column flag") == true)
    }

    @Test func theSelectListFollowsTheCodingKeys() {
        #expect(Record.selectList() == "name, count, share, flag, tags, note")
        #expect(Record.selectList(alias: "r", replacing: ["count": "r.count::bigint AS count"])
                == "r.name, r.count::bigint AS count, r.share, r.flag, r.tags, r.note")
    }
}
