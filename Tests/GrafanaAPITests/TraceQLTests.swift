@testable import GrafanaAPI
@testable import Store
import Testing

@Suite struct TraceQLTests {
    @Test func emptySpansetMatchesEverything() throws {
        #expect(try TraceQLQuery.parse("{}") == TraceQLQuery(filter: nil))
        #expect(try TraceQLQuery.parse("  {   }  ") == TraceQLQuery(filter: nil))
    }

    @Test func theIssueExample() throws {
        let query = try TraceQLQuery.parse(#"{ resource.service.name = "x" && span.http.route = "/y" && name = "op" && duration > 100ms && status = error }"#)
        let expected: TraceQLExpression = .and(.and(.and(.and(
            .comparison(.resource("service.name"), .equal, .string("x")),
            .comparison(.span("http.route"), .equal, .string("/y"))),
            .comparison(.name, .equal, .string("op"))),
            .comparison(.duration, .greater, .duration(100_000_000))),
            .comparison(.status, .equal, .status(2)))
        #expect(query.filter == expected)
    }

    @Test func operatorsAndPrecedence() throws {
        let query = try TraceQLQuery.parse(#"{ .a = "1" || .b != "2" && span.c =~ "x.*" }"#)
        #expect(query.filter == .or(
            .comparison(.unscoped("a"), .equal, .string("1")),
            .and(.comparison(.unscoped("b"), .notEqual, .string("2")), .comparison(.span("c"), .matches, .string("x.*")))))
        let grouped = try TraceQLQuery.parse(#"{ (.a = "1" || .b = "2") && kind = server }"#)
        #expect(grouped.filter == .and(
            .or(.comparison(.unscoped("a"), .equal, .string("1")), .comparison(.unscoped("b"), .equal, .string("2"))),
            .comparison(.kind, .equal, .kind(2))))
        for (text, op) in [(">=", TraceQLOperator.greaterOrEqual), ("<=", .lessOrEqual), ("<", .less), ("!~", .notMatches)] {
            let value = op == .notMatches ? "\"a\"" : "5"
            let parsed = try TraceQLQuery.parse("{ span.n \(text) \(value) }")
            guard case .comparison(_, let got, _) = parsed.filter else { Issue.record("not a comparison"); continue }
            #expect(got == op)
        }
    }

    @Test func valuesOfEveryKind() throws {
        #expect(try TraceQLQuery.parse("{ span.retries = 3 }").filter == .comparison(.span("retries"), .equal, .number(3)))
        #expect(try TraceQLQuery.parse("{ span.ratio < -0.5 }").filter == .comparison(.span("ratio"), .less, .number(-0.5)))
        #expect(try TraceQLQuery.parse("{ span.cached = true }").filter == .comparison(.span("cached"), .equal, .bool(true)))
        #expect(try TraceQLQuery.parse("{ status != ok }").filter == .comparison(.status, .notEqual, .status(1)))
        #expect(try TraceQLQuery.parse("{ traceDuration >= 1m30s }").filter == .comparison(.traceDuration, .greaterOrEqual, .duration(90_000_000_000)))
        #expect(try TraceQLQuery.parse("{ span.http.user-agent = `raw \\d` }").filter == .comparison(.span("http.user-agent"), .equal, .string("raw \\d")))
        #expect(try TraceQLQuery.parse(#"{ rootServiceName = "a\"b" }"#).filter == .comparison(.rootServiceName, .equal, .string("a\"b")))
    }

    @Test(arguments: [
        ("", 1, "expected \"{\""),
        ("{", 2, "expected an attribute"),
        ("{ name = \"x\"", 13, "expected \"}\""),
        ("{ foo = \"x\" }", 3, "unknown attribute \"foo\""),
        ("{ name \"x\" }", 8, "expected a comparison"),
        ("{ name = }", 10, "expected a value"),
        ("{ name = \"x }", 10, "unterminated string"),
        ("{ duration > \"slow\" }", 12, "duration is a duration"),
        ("{ status = done }", 12, "unexpected done"),
        ("{ name > \"a\" }", 8, "strings take"),
        ("{ span.a =~ \"(\" }", 13, "invalid regular expression"),
        ("{ span.a =~ 5 }", 10, "=~ and !~ take a string"),
        ("{ } | compare({ }) by (name)", 20, "unsupported: by() after compare()"),
        ("{ name = \"a\" } | count() > x", 28, "expected a number or duration"),
        ("{ nestedSetLeft = 1 }", 3, "unsupported: nestedSetLeft"),
        ("{ span.a % 2 = 1 }", 10, "unsupported: % in a field expression"),
        ("{ span.a + 1 =~ \"x\" }", 14, "expected a comparison (=, !=, >, <, >=, <=) after arithmetic"),
        ("{ name + 1 > 2 }", 3, "invalid arithmetic: name is not a number"),
        ("{ span.a = nil && span.b > nil }", 26, "nil takes = or !="),
        ("({ } | rate()) && { }", 8, "unsupported: a metrics function inside parentheses"),
        ("{ } | rate() | count_over_time()", 16, "unsupported: count_over_time after a metrics function"),
        ("{ nestedSetParent > 3 }", 3, "unsupported: nestedSetParent compared"),
        ("{ name = \"a\" } x", 16, "expected end of query"),
        ("{ name = \"a\" && }", 17, "expected an attribute"),
        ("{ duration > 5parsecs }", 14, "invalid number or duration"),
        ("{ name = \"a\" @ }", 14, "unexpected character"),
    ])
    func errorsSayWhere(_ text: String, _ column: Int, _ fragment: String) {
        do {
            _ = try TraceQLQuery.parse(text)
            Issue.record("\(text) parsed")
        } catch {
            #expect(error.column == column, "\(text): \(error)")
            #expect(error.description.contains(fragment), "\(text): \(error)")
            #expect(error.description.hasPrefix("parse error at line 1, col \(error.column): "))
        }
    }

    @Test func deepNestingIsRefused() {
        let deep = "{ " + String(repeating: "(", count: 500) + "name = \"a\"" + String(repeating: ")", count: 500) + " }"
        #expect(throws: QueryParseError.self) { try TraceQLQuery.parse(deep) }
    }

    @Test func tagsBecomeAFilter() throws {
        let filter = try TraceQLQuery.fromTags(#"service.name=shop http.route="/cart items" error=true"#)
        #expect(filter == .and(.and(
            .comparison(.resource("service.name"), .equal, .string("shop")),
            .comparison(.unscoped("http.route"), .equal, .string("/cart items"))),
            .comparison(.status, .equal, .status(2))))
        #expect(try TraceQLQuery.fromTags("") == nil)
        #expect(throws: QueryParseError.self) { try TraceQLQuery.fromTags("novalue") }
        #expect(throws: QueryParseError.self) { try TraceQLQuery.fromTags("a=\"open") }
        #expect(throws: QueryParseError.self) { try TraceQLQuery.fromTags("status=maybe") }
    }

    @Test func compilesToBoundParameters() throws {
        let query = try TraceQLQuery.parse(#"{ resource.service.name = "x'; DROP TABLE t; --" && span.http.route =~ "/a.*" && .k = 5 && resource.env = "p" }"#)
        for dialect in [SQLDialect.sqlite, .postgres] {
            var builder = SQLBuilder(dialect)
            let sql = query.filter!.spanCondition.sql(&builder)
            #expect(!sql.contains("DROP"))
            #expect(!sql.contains("/a.*"))
            #expect(builder.binds.contains(.text("x'; DROP TABLE t; --")))
            #expect(builder.binds.contains(.text("^(?:/a.*)$")))
            let placeholders = dialect == .sqlite ? sql.filter { $0 == "?" }.count : (1...builder.binds.count).filter { sql.contains("$\($0)") }.count
            #expect(placeholders == builder.binds.count, "\(dialect): \(sql)")
        }
    }

    @Test func fuzzedInputNeverCrashes() {
        var generator = SystemRandomNumberGenerator()
        let pieces = ["{", "}", "(", ")", "name", "status", "=", "!=", "=~", ">", "&&", "||", "\"a\"", "\"", "100ms", "5", "-",
                      "span.a", "resource.b", ".c", "error", "true", " ", "`", "\\", "|", "[", "1e", "µs", "\u{0}", "é"]
        for _ in 0..<3000 {
            let text = (0..<Int.random(in: 0...14, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined()
            if let query = try? TraceQLQuery.parse(text), let filter = query.filter {
                var builder = SQLBuilder(.sqlite)
                _ = filter.spanCondition.sql(&builder)
            }
        }
        let valid = #"{ resource.service.name = "x" && span.http.route = "/y" && duration > 100ms }"#
        for length in 0...valid.count {
            _ = try? TraceQLQuery.parse(String(valid.prefix(length)))
        }
    }
}
