import Foundation
import Testing

@testable import AdminPages

/// The service map's page and files are served and every page links it (the map itself is
/// tested in a real browser: conformance/test_admin_services_page.py).
@Suite struct ServicesPageTests {
    @Test(arguments: [
        ("/services", "<title>Services · Sightline</title>"),
        ("/ui/services.js", "/services/graph"),
        ("/ui/services.css", ".service-map"),
    ])
    func servesTheServicesFile(path: String, excerpt: String) throws {
        let asset = try #require(AdminPages.assets.first { $0.path == path })
        #expect(String(decoding: asset.bytes, as: UTF8.self).contains(excerpt))
    }
}
