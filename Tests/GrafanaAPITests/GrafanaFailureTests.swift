@testable import GrafanaAPI
import HTTPTypes
import Store
import Testing

/// How a failed read reaches Grafana: 422 past the time limit (retrying will not help), 503
/// with `Retry-After` when the store is busy or down, 400 for a regular expression too slow on
/// one value; never the store's own text.
@Suite struct GrafanaFailureTests {
    @Test func aReadStoppedAtTheTimeLimitIs422NamingTheLimit() {
        let failure = GrafanaFailure.read(StoreError(operation: "read", reason: "canceling statement due to statement timeout",
                                                     kind: .timeLimitExceeded(.seconds(10))))
        #expect(failure == GrafanaFailure(.unprocessableContent,
                                          "query exceeded the 10 s time limit; narrow the time range or the query"))
        #expect(failure.lokiResponse.status == .unprocessableContent)
        #expect(failure.tempoResponse.status == .unprocessableContent)
        #expect(failure.lokiResponse.headers[HTTPField.Name("Retry-After")!] == nil)
    }

    @Test func aBusyOrFailingStoreIs503WithRetryAfter() {
        let busy = GrafanaFailure.read(StoreError(operation: "read", reason: "too many reads running and waiting", kind: .tooManyReads))
        #expect(busy == GrafanaFailure(.serviceUnavailable, "too many queries at once; retry later"))
        let down = GrafanaFailure.read(StoreError(operation: "read", reason: "connection refused: secret detail"))
        #expect(down == GrafanaFailure(.serviceUnavailable, "store is unavailable; retry later"))
        for failure in [busy, down] {
            #expect(failure.lokiResponse.headers[HTTPField.Name("Retry-After")!] == "5")
            #expect(failure.tempoResponse.headers[HTTPField.Name("Retry-After")!] == "5")
        }
    }

    @Test func aRegularExpressionTooSlowOnOneValueIs400() {
        let failure = GrafanaFailure.read(StoreError(operation: "read", reason: SQLiteRegexp.tooSlowMessage))
        #expect(failure.status == .badRequest)
        #expect(failure.message.contains("regular expression"))
    }
}
