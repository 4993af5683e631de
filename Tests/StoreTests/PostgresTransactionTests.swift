@testable import Store
import Testing

/// When a failed commit's transaction is rolled back (`PostgresStore.transaction`).
@Suite struct PostgresTransactionTests {
    struct Refused: Error {}

    @Test func aSessionTheServerEndedIsNotRolledBack() {
        #expect(PostgresStore.endedTheSession(ConnectionClosed()))
    }

    @Test func anyOtherFailureIsRolledBack() {
        #expect(!PostgresStore.endedTheSession(Refused()))
        #expect(!PostgresStore.endedTheSession(StoreError(operation: "write", reason: "x")))
    }
}
