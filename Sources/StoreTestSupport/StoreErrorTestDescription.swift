import Store
import Testing

/// A store failure as a test reports it: with its `reason` (the database's own text), which
/// `description` leaves out so that it never reaches a client. "Caught error: store read
/// failed" alone does not say which read or why.
extension StoreError: CustomTestStringConvertible {
    public var testDescription: String { "\(description): \(reason)" }
}
