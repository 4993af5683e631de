import Foundation
import Store
import Testing

@Suite struct TimeOrderedIDTests {
    @Test func idsAreVersion7InTheUsualForm() {
        let uuidV7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
        for _ in 0..<1_000 {
            let id = TimeOrderedID.next()
            #expect(id.wholeMatch(of: uuidV7) != nil, "\(id)")
            #expect(UUID(uuidString: id) != nil, "\(id)")
        }
    }

    @Test func idsStrictlyIncreaseEvenWithinOneMillisecond() {
        // 100,000 ids take a few milliseconds at most: most share their millisecond.
        var previous = TimeOrderedID.next()
        for _ in 0..<100_000 {
            let next = TimeOrderedID.next()
            #expect(next > previous, "\(next) after \(previous)")
            if next <= previous { return }
            previous = next
        }
    }

    @Test func theTimestampLeadsTheId() {
        let before = UInt64(Date.now.timeIntervalSince1970 * 1000)
        let id = TimeOrderedID.next()
        let after = UInt64(Date.now.timeIntervalSince1970 * 1000)
        let hex = id.replacingOccurrences(of: "-", with: "").prefix(12)
        let millisecond = UInt64(hex, radix: 16) ?? 0
        #expect(millisecond >= before && millisecond <= after + 1, "\(id): \(millisecond) not in \(before)...\(after)")
    }

    @Test func idsMadeConcurrentlyAreDistinct() async {
        let ids = await withTaskGroup(of: [String].self) { group in
            for _ in 0..<4 { group.addTask { (0..<5_000).map { _ in TimeOrderedID.next() } } }
            var all: [String] = []
            for await part in group { all += part }
            return all
        }
        #expect(Set(ids).count == 20_000)
    }
}
