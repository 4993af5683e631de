import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@testable import AdminPages

/// The admin pages' routes serve the embedded files with their headers (the pages themselves
/// are tested in a real browser: conformance/test_admin_pages.py).
@Suite struct AdminPagesTests {
    static func application() -> some ApplicationProtocol {
        let router = Router()
        AdminPages.addRoutes(to: router)
        return Application(router: router)
    }

    @Test(arguments: [
        ("/", "text/html; charset=utf-8", "<title>Sightline</title>"),
        ("/traces", "text/html; charset=utf-8", "<title>Traces · Sightline</title>"),
        ("/logs", "text/html; charset=utf-8", "<title>Logs · Sightline</title>"),
        ("/alerts", "text/html; charset=utf-8", "<title>Alerts · Sightline</title>"),
        ("/errors", "text/html; charset=utf-8", "<title>Errors · Sightline</title>"),
        ("/ui/errors.js", "text/javascript; charset=utf-8", "\"use strict\""),
        ("/ui/errors.css", "text/css; charset=utf-8", "sparkline"),
        ("/ui/app.css", "text/css; charset=utf-8", "--"),
        ("/ui/common.js", "text/javascript; charset=utf-8", "\"use strict\""),
        ("/ui/traces.js", "text/javascript; charset=utf-8", "\"use strict\""),
        ("/ui/logs.js", "text/javascript; charset=utf-8", "\"use strict\""),
        ("/ui/alerts.js", "text/javascript; charset=utf-8", "\"use strict\""),
        ("/ui/overview.js", "text/javascript; charset=utf-8", "\"use strict\""),
    ])
    func servesTheEmbeddedFile(path: String, contentType: String, excerpt: String) async throws {
        try await Self.application().test(.router) { client in
            try await client.execute(uri: path, method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == contentType)
                #expect(response.headers[.cacheControl] == "no-cache")
                #expect(response.headers[.xContentTypeOptions] == "nosniff")
                let policy = try #require(response.headers[.contentSecurityPolicy])
                #expect(policy.contains("default-src 'none'"))
                #expect(policy.contains("script-src 'self'"))
                #expect(!policy.contains("unsafe-inline") && !policy.contains("unsafe-eval"))
                let body = String(buffer: response.body)
                #expect(body.contains(excerpt))
                #expect(response.headers[.contentLength] == String(response.body.readableBytes))
            }
        }
    }

    @Test func pagesLoadOnlyTheirOwnFilesAndNoInlineScript() async throws {
        for page in AdminPages.assets where page.contentType.hasPrefix("text/html") {
            let html = String(decoding: page.bytes, as: UTF8.self)
            #expect(!html.contains("<script>"), "\(page.path) has an inline script")
            #expect(!html.contains(" style="), "\(page.path) has an inline style")
            #expect(!html.contains("http://") && !html.contains("https://"), "\(page.path) loads something from elsewhere")
            for reference in Self.references(in: html) {
                #expect(AdminPages.paths.contains(reference), "\(page.path) refers to \(reference), which is not served")
            }
        }
    }

    /// Data reaches the page as text only (docs/admin-pages.md): no script parses HTML or evaluates code.
    @Test func scriptsNeverParseHTMLOrEvaluateCode() {
        for script in AdminPages.assets where script.contentType.hasPrefix("text/javascript") {
            let code = String(decoding: script.bytes, as: UTF8.self)
            for sink in ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "DOMParser"] {
                #expect(!code.contains(sink), "\(script.path) uses \(sink)")
            }
        }
    }

    @Test func answersNotModifiedToACurrentCopy() async throws {
        let asset = try #require(AdminPages.assets.first { $0.path == "/ui/app.css" })
        try await Self.application().test(.router) { client in
            try await client.execute(uri: asset.path, method: .get, headers: [.ifNoneMatch: asset.etag]) { response in
                #expect(response.status == .notModified)
                #expect(response.body.readableBytes == 0)
            }
            try await client.execute(uri: asset.path, method: .get, headers: [.ifNoneMatch: "\"stale\""]) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.eTag] == asset.etag)
            }
        }
    }

    @Test func everyFileOfTheWebFolderIsServed() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Sources/AdminPages/web").standardized
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { !$0.hasPrefix(".") }
        #expect(files.count == AdminPages.assets.count)
        for file in files {
            let bytes = try [UInt8](Data(contentsOf: folder.appendingPathComponent(file)))
            #expect(AdminPages.assets.contains { $0.bytes == bytes } || AdminPages.pages.contains { $0.main == bytes },
                    "web/\(file) is not served")
        }
    }

    /// Every page has the same head and navigation bar, with its own title, styles and scripts,
    /// and marks its own link as the current page.
    @Test func everyPageHasTheSharedFrame() throws {
        for page in AdminPages.pages {
            let html = String(decoding: try #require(AdminPages.assets.first { $0.path == page.path }).bytes, as: UTF8.self)
            #expect(html.hasPrefix("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">"), "\(page.path)")
            #expect(html.hasSuffix("</main>\n</body>\n</html>\n"), "\(page.path)")
            #expect(html.components(separatedBy: "<nav aria-label=\"Pages\">").count == 2, "\(page.path)")
            #expect(html.components(separatedBy: "<main>").count == 2, "\(page.path)")
            for other in AdminPages.pages where other.path != "/" {
                #expect(html.contains("<a href=\"\(other.path)\""), "\(page.path) links \(other.path)")
            }
            #expect(html.contains("aria-current=\"page\"") == (page.path != "/"), "\(page.path)")
            if page.path != "/" { #expect(html.contains("<a href=\"\(page.path)\" aria-current=\"page\">"), "\(page.path)") }
            #expect(html.contains(#"<link rel="stylesheet" href="/ui/app.css">"#) && html.contains(#"<script src="/ui/common.js" defer></script>"#))
        }
    }

    /// The `src` and `href` values of a page that point at Sightline itself.
    static func references(in html: String) -> [String] {
        var found: [String] = []
        for attribute in ["src=\"", "href=\""] {
            var rest = html[...]
            while let start = rest.range(of: attribute) {
                rest = rest[start.upperBound...]
                guard let end = rest.firstIndex(of: "\"") else { break }
                let value = String(rest[..<end])
                if value.hasPrefix("/") { found.append(String(value.split(separator: "?").first ?? "")) }
                rest = rest[end...]
            }
        }
        return found
    }
}
