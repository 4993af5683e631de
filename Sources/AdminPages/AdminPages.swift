import HTTPTypes
import Hummingbird

/// Sightline's admin pages (`/`, `/traces`, `/logs`, `/errors`, `/alerts`, `/metrics-explorer`, `/llm`, `/services`): plain HTML, CSS and JavaScript
/// embedded in the binary (`web/`), served on the API port. The pages hold no data — their
/// scripts read everything from the JSON API and the log stream, with the API key the user
/// types in — so they are served without a key; every data call needs one when keys are
/// configured (docs/admin-pages.md).
public enum AdminPages {
    /// One embedded file and the path it is served at.
    public struct Asset: Sendable {
        public let path: String
        public let contentType: String
        let bytes: [UInt8]
        /// A strong validator of the content, for `If-None-Match`.
        public let etag: String

        init(_ path: String, _ contentType: String, _ bytes: [UInt8]) {
            self.path = path
            self.contentType = contentType
            self.bytes = bytes
            self.etag = "\"\(Self.fingerprint(bytes))\""
        }

        /// FNV-1a, 64 bits, in hex: enough to tell two versions of a file apart.
        static func fingerprint(_ bytes: [UInt8]) -> String {
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for byte in bytes {
                hash ^= UInt64(byte)
                hash = hash &* 0x100_0000_01b3
            }
            let hex = String(hash, radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }
    }

    static let html = "text/html; charset=utf-8"
    static let css = "text/css; charset=utf-8"
    static let javascript = "text/javascript; charset=utf-8"

    /// The pages, in the order of the navigation bar after the overview. Each `web/<name>.html`
    /// holds the page's `<main>` only; `Page.document` adds the head and the navigation bar,
    /// the same on every page.
    public static let pages: [Page] = [
        Page("/", title: nil, navigation: nil, styles: ["charts.css"], scripts: ["charts.js", "overview.js"], main: PackageResources.index_html),
        Page("/traces", title: "Traces", styles: ["charts.css"], scripts: ["charts.js", "trace-charts.js", "traces.js"], main: PackageResources.traces_html),
        Page("/logs", title: "Logs", scripts: ["logs.js"], main: PackageResources.logs_html),
        Page("/errors", title: "Errors", styles: ["errors.css"], scripts: ["errors.js"], main: PackageResources.errors_html),
        Page("/services", title: "Services", styles: ["services.css"], scripts: ["services.js"], main: PackageResources.services_html),
        Page("/alerts", title: "Alerts", scripts: ["alerts.js"], main: PackageResources.alerts_html),
        Page("/metrics-explorer", title: "Metrics", styles: ["charts.css"], scripts: ["charts.js", "metrics-explorer.js"],
             main: PackageResources.metrics_explorer_html),
        Page("/llm", title: "LLM cost", styles: ["charts.css"], scripts: ["charts.js", "llm.js"], main: PackageResources.llm_html),
    ]

    /// Every page and every other file of `web/`, with its path. A test checks this list against the folder.
    public static let assets: [Asset] = pages.map { Asset($0.path, html, $0.document(among: pages)) } + [
        Asset("/ui/app.css", css, PackageResources.app_css),
        Asset("/ui/common.js", javascript, PackageResources.common_js),
        Asset("/ui/traces.js", javascript, PackageResources.traces_js),
        Asset("/ui/logs.js", javascript, PackageResources.logs_js),
        Asset("/ui/alerts.js", javascript, PackageResources.alerts_js),
        Asset("/ui/overview.js", javascript, PackageResources.overview_js),
        Asset("/ui/errors.js", javascript, PackageResources.errors_js),
        Asset("/ui/errors.css", css, PackageResources.errors_css),
        Asset("/ui/charts.css", css, PackageResources.charts_css),
        Asset("/ui/charts.js", javascript, PackageResources.charts_js),
        Asset("/ui/trace-charts.js", javascript, PackageResources.trace_charts_js),
        Asset("/ui/metrics-explorer.js", javascript, PackageResources.metrics_explorer_js),
        Asset("/ui/llm.js", javascript, PackageResources.llm_js),
        Asset("/ui/services.js", javascript, PackageResources.services_js),
        Asset("/ui/services.css", css, PackageResources.services_css),
    ]

    /// The paths of the pages and their files (not traced into the store: they carry no data).
    public static var paths: Set<String> { Set(assets.map(\.path)) }

    /// Scripts and styles from Sightline only (no inline script or style element, no eval),
    /// data from its own API and log stream (`'self'` covers same-origin `ws:`/`wss:`), no
    /// framing, no plugins, forms posting nowhere else.
    public static let contentSecurityPolicy = [
        "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
        "connect-src 'self'", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
    ].joined(separator: "; ")

    /// Adds a `GET` route for every page and file.
    public static func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        for asset in assets {
            router.get(RouterPath(asset.path)) { request, _ in asset.response(to: request) }
        }
    }
}

extension AdminPages.Asset {
    /// The file, or 304 when the client's copy is current. Clients revalidate every time
    /// (`no-cache`): the names carry no version, and a new binary may change any file.
    func response(to request: Request) -> Response {
        var headers: HTTPFields = [
            .contentType: contentType,
            .cacheControl: "no-cache",
            .eTag: etag,
            .contentSecurityPolicy: AdminPages.contentSecurityPolicy,
            .xContentTypeOptions: "nosniff",
        ]
        headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        if let presented = request.headers[.ifNoneMatch],
           presented.split(separator: ",").contains(where: { tag in
               let trimmed = tag.filter { $0 != " " }
               return trimmed == etag || trimmed == "*"
           }) {
            return Response(status: .notModified, headers: headers)
        }
        headers[.contentLength] = String(bytes.count)
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
