extension AdminPages {
    /// An admin page: its own `<main>` (a file of `web/`) in the frame every page shares: the
    /// head with `app.css` and `common.js` before the page's own styles and scripts, and the
    /// navigation bar.
    public struct Page: Sendable {
        public let path: String
        /// "Errors" gives "Errors · Sightline"; nil (the overview) gives "Sightline".
        let title: String?
        /// The page's link in the navigation bar; nil for none (the overview is the brand link).
        let navigation: String?
        let styles: [String]
        let scripts: [String]
        let main: [UInt8]

        init(_ path: String, title: String?, navigation: String? = "", styles: [String] = [], scripts: [String], main: [UInt8]) {
            self.path = path
            self.title = title
            self.navigation = navigation == "" ? title : navigation
            self.styles = styles
            self.scripts = scripts
            self.main = main
        }

        /// The whole HTML document. The values are the constants above, never request data.
        func document(among pages: [Page]) -> [UInt8] {
            var head = [
                "<!doctype html>", #"<html lang="en">"#, "<head>", #"<meta charset="utf-8">"#,
                #"<meta name="viewport" content="width=device-width, initial-scale=1">"#,
                "<title>\(title.map { "\($0) · " } ?? "")Sightline</title>", #"<link rel="icon" href="data:,">"#,
            ]
            head += (["app.css"] + styles).map { #"<link rel="stylesheet" href="/ui/\#($0)">"# }
            head += (["common.js"] + scripts).map { #"<script src="/ui/\#($0)" defer></script>"# }
            let links = pages.compactMap { page in
                page.navigation.map { #"<a href="\#(page.path)"\#(page.path == path ? #" aria-current="page""# : "")>\#($0)</a>"# }
            }.joined()
            head += [
                "</head>", "<body>", #"<header class="top">"#, #"  <a class="brand" href="/">Sightline</a>"#,
                #"  <nav aria-label="Pages">\#(links)</nav>"#, "</header>",
            ]
            return Array((head.joined(separator: "\n") + "\n").utf8) + main + Array("</body>\n</html>\n".utf8)
        }
    }
}
