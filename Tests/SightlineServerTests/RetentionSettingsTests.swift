import SightlineServer
import Store
import Testing

/// The retention settings: hours or days, `0` for ever, the defaults of docs/retention.md, and
/// a bad value stopping start-up with a problem naming the setting.
@Suite struct RetentionSettingsTests {
    @Test func defaultsAreTheDocumentedPeriods() throws {
        let policy = try SightlineConfiguration.resolve().retention
        #expect(policy == RetentionPolicy())
        #expect(policy.description == "traces=14d logs=30d llm_calls=90d alert_history=90d request_metrics=30d system_metrics=7d rag_metrics=30d cache_metrics=7d metrics=14d")
        #expect(Setting.retentionSettings.count == RetentionSignal.allCases.count)
    }

    @Test func hoursDaysAndZeroForEver() throws {
        let policy = try SightlineConfiguration.resolve(
            flags: [.traceRetention: "36h", .logRetention: "0"],
            environment: ["SIGHTLINE_LLM_RETENTION": "2d", "SIGHTLINE_ALERT_HISTORY_RETENTION": " 1H ", "SIGHTLINE_CACHE_METRICS_RETENTION": "0"]).retention
        #expect(policy.traces == .seconds(36 * 3_600) && policy.logs == nil && policy.llmCalls == .seconds(2 * 86_400))
        #expect(policy.alertHistory == .seconds(3_600) && policy.cacheMetrics == nil && policy.systemMetrics == .seconds(7 * 86_400))
        // Signals kept for ever have no cutoff; the others' are their period before now.
        let now: Int64 = 1_800_000_000_000_000_000
        let cutoffs = policy.cutoffs(nowUnixNano: now)
        #expect(!cutoffs.contains { $0.signal == .logs || $0.signal == .cacheMetrics })
        #expect(cutoffs.first { $0.signal == .traces }?.cutoff == now - 36 * 3_600 * 1_000_000_000)
        #expect(RetentionPolicy.keepEverything.cutoffs(nowUnixNano: now).isEmpty)
    }

    @Test func aBadPeriodStopsStartUpNamingTheSetting() {
        for bad in ["14", "-1d", "2w", "d", "1.5d", "", "99999999d"] {
            do {
                _ = try SightlineConfiguration.resolve(flags: [.traceRetention: bad], environment: ["SIGHTLINE_LOG_RETENTION": "x"])
                Issue.record("accepted \(bad)")
            } catch {
                #expect(error.problems == [
                    "--trace-retention=\"\(bad)\": expected a period in hours or days (e.g. 36h, 14d), or 0 to keep for ever",
                    "SIGHTLINE_LOG_RETENTION=\"x\": expected a period in hours or days (e.g. 36h, 14d), or 0 to keep for ever",
                ])
            }
        }
    }
}
