import Foundation
@testable import Ingest
import OTLP
import Store
import Testing

/// When the mapping tells the store that a log record's typed attributes follow from its
/// `extra` and the columns it lifted attributes into (`LogAttributesInExtra`).
@Suite struct LogAttributesInExtraMappingTests {
    static func row(_ attributes: [KeyValue], scope: String = "app") -> LogRow {
        let record = LogRecord(timeUnixNano: 1_000, severityNumber: SeverityNumber(rawValue: 9), body: .string("x"), attributes: attributes)
        let request = ExportLogsServiceRequest(resourceLogs: [ResourceLogs(scopeLogs: [
            ScopeLogs(scope: InstrumentationScope(name: scope), logRecords: [record])])])
        return request.writeBatch(arrivalUnixNano: 1).logs[0]
    }

    @Test func liftedAttributesAreNamedByColumnAndKey() {
        let row = Self.row([
            KeyValue(key: "code.function", value: .string("f")), KeyValue(key: "enduser.id", value: .string("u1")),
            KeyValue(key: "n", value: .int(-7)), KeyValue(key: "url.path", value: .string("/x")),
            KeyValue(key: "exception.stacktrace", value: .string("at f()\n")), KeyValue(key: "ok", value: .bool(true)),
            KeyValue(key: "user_email", value: .string("second candidate")),
        ])
        #expect(row.userEmail == "u1" && row.endpoint == "/x" && row.exceptionTraceback == "at f()\n")
        #expect(row.extra == #"{"code.function":"f","n":-7,"ok":true,"user_email":"second candidate"}"#)
        #expect(row.attributesInExtra == LogAttributesInExtra(
            sources: [.extra(0), .column(.userEmail, key: 1), .extra(1), .column(.endpoint, key: 1), .column(.exceptionTraceback, key: 0),
                      .extra(2), .extra(3)],
            extraJSONBPositions: AttributesInTags.jsonbPositions(of: ["code.function", "n", "ok", "user_email"]),
            nestedOrderSurvivesJSONB: true))
    }

    @Test func aLoggerNameIsLiftedOnlyWithoutAScopeName() {
        let attributes = [KeyValue(key: "logger.name", value: .string("from.attributes"))]
        #expect(Self.row(attributes, scope: "").attributesInExtra?.sources == [.column(.loggerName, key: 0)])
        #expect(Self.row(attributes).attributesInExtra?.sources == [.extra(0)])
    }

    @Test(arguments: [
        AnyValue.bytes([0, 1]), .double(1e20), .double(.nan), .double(-0.0), .array([.bytes([1])]),
    ])
    func whatExtraLosesKeepsTheTypedForm(_ value: AnyValue) {
        #expect(Self.row([KeyValue(key: "user.email", value: .string("a")), KeyValue(key: "v", value: value)]).attributesInExtra == nil)
    }

    @Test func aLiftedValueThatIsNotAPlainStringKeepsTheTypedForm() {
        #expect(Self.row([KeyValue(key: "user.email", value: .int(42))]).userEmail == "42")
        #expect(Self.row([KeyValue(key: "user.email", value: .int(42))]).attributesInExtra == nil)
        #expect(Self.row([KeyValue(key: "http.route", value: .string("/a\u{0}b"))]).attributesInExtra == nil)
        #expect(Self.row([KeyValue(key: "k", value: .int(1)), KeyValue(key: "k", value: .int(2))]).attributesInExtra == nil)
    }

    /// Every key the mapping lifts from is one the stored tokens can name.
    @Test func theColumnsListEveryKeyTheMappingLifts() {
        #expect(LogAttributeColumn.userEmail.keys == AttributeSources.user)
        #expect(LogAttributeColumn.department.keys == AttributeSources.department)
        #expect(LogAttributeColumn.sessionID.keys == AttributeSources.session)
        #expect(LogAttributeColumn.endpoint.keys == AttributeSources.endpoint)
    }
}
