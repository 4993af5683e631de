import Foundation
import Testing

@testable import AdminPages

/// The chart pages and their files are served (the charts themselves are tested in a real
/// browser: conformance/test_admin_charts.py).
@Suite struct ChartPagesTests {
    @Test(arguments: [
        ("/metrics-explorer", "<title>Metrics · Sightline</title>"),
        ("/llm", "<title>LLM cost · Sightline</title>"),
        ("/ui/charts.css", ".chart-svg"),
        ("/ui/charts.js", "const SightlineCharts"),
        ("/ui/trace-charts.js", "const SightlineTraceCharts"),
        ("/ui/metrics-explorer.js", "\"use strict\""),
        ("/ui/llm.js", "\"use strict\""),
    ])
    func servesTheChartFile(path: String, excerpt: String) throws {
        let asset = try #require(AdminPages.assets.first { $0.path == path })
        #expect(String(decoding: asset.bytes, as: UTF8.self).contains(excerpt))
    }
}
