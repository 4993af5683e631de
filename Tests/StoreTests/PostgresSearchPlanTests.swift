@testable import Store
import Testing

/// The choice between walking the time index and collecting the GIN index's matches for a
/// full-text search on PostgreSQL, from the share of matches among the newest records.
@Suite struct PostgresSearchPlanTests {
    let limit = 10_000

    @Test func aSmallWindowIsWalked() {
        // The probe read the whole window: 300 records, none matching.
        #expect(PostgresSearchPlan.choose(probed: 300, matched: 0, wanted: 100, countLimit: limit)
                == PostgresSearchPlan(walkPage: true, walkCount: true))
    }

    @Test func noMatchAmongTheNewestCollects() {
        #expect(PostgresSearchPlan.choose(probed: 1_000, matched: 0, wanted: 100, countLimit: limit)
                == PostgresSearchPlan(walkPage: false, walkCount: false))
    }

    @Test func aWordInHalfOfTheRecordsIsWalkedForPageAndCount() {
        // 100 / 0.5 = 200 records for the page, 10,001 / 0.5 = 20,002 for the count.
        #expect(PostgresSearchPlan.choose(probed: 1_000, matched: 500, wanted: 100, countLimit: limit)
                == PostgresSearchPlan(walkPage: true, walkCount: true, share: 0.5))
    }

    @Test func twoWordsInThreePercentWalkThePageAndCollectTheCount() {
        // "pool exhausted": 100 / 0.03 = 3,333 records for the page; 333,367 for the count.
        #expect(PostgresSearchPlan.choose(probed: 1_000, matched: 30, wanted: 100, countLimit: limit)
                == PostgresSearchPlan(walkPage: true, walkCount: false, share: 0.03))
    }

    @Test func aRareWordCollects() {
        // 100 / 0.002 = 50,000 records for the page: more than the 20,000 a walk may read.
        #expect(PostgresSearchPlan.choose(probed: 1_000, matched: 2, wanted: 100, countLimit: limit)
                == PostgresSearchPlan(walkPage: false, walkCount: false, share: 0.002))
    }

    @Test func aPageFarOnCollects() {
        // Offset 9,900: 10,000 / 0.3 = 33,333 records to walk.
        #expect(PostgresSearchPlan.choose(probed: 1_000, matched: 300, wanted: 10_000, countLimit: limit).walkPage == false)
        #expect(PostgresSearchPlan.choose(probed: 1_000, matched: 300, wanted: 100, countLimit: limit).walkPage == true)
    }

    @Test func theCountLimitSetsTheCountsWalk() {
        // 10% match: a count to 10,001 reads 100,010 records (collect); to 1,001, 10,010 (walk).
        #expect(PostgresSearchPlan.choose(probed: 1_000, matched: 100, wanted: 100, countLimit: 10_000).walkCount == false)
        #expect(PostgresSearchPlan.choose(probed: 1_000, matched: 100, wanted: 100, countLimit: 1_000).walkCount == true)
    }

    @Test func walksAreBoundedByTheirPrediction() {
        let half = PostgresSearchPlan.choose(probed: 1_000, matched: 500, wanted: 100, countLimit: limit)
        #expect(half.pageWalkLimit(wanted: 100) == 800) // 4 × 100 / 0.5
        #expect(half.countWalkLimit(countLimit: limit) == 40_004) // 2 × 10,001 / 0.5
        let sparse = PostgresSearchPlan.choose(probed: 1_000, matched: 10, wanted: 100, countLimit: limit)
        #expect(sparse.pageWalkLimit(wanted: 100) == 40_000)
        #expect(sparse.pageWalkLimit(wanted: 1_000) == 80_000, "at most four times the page's walk threshold")
        #expect(sparse.countWalkLimit(countLimit: limit) == 120_000, "at most twice the count's walk threshold")
        // The probe read the whole window: no bound.
        let small = PostgresSearchPlan.choose(probed: 300, matched: 30, wanted: 100, countLimit: limit)
        #expect(small.pageWalkLimit(wanted: 100) == nil)
        #expect(small.countWalkLimit(countLimit: limit) == nil)
    }

    @Test func theConditionsTakeTheStoredVector() {
        #expect(PostgresSearchPlan.condition("$3", walking: true) == "ts_match_vq(l.message_search, plainto_tsquery('english', $3))")
        #expect(PostgresSearchPlan.condition("$3", walking: false) == "l.message_search @@ plainto_tsquery('english', $3)")
    }
}
