import DevTrackHTTP
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import DevTrackAPI

/// `DashboardRoutes`: the web dashboard's pages (`index.html`, its placeholders filled) and `/assets/` files, with
/// SHA-256 `ETag`s, 304s, `Cache-Control: no-cache` and the security headers; nothing outside `web/assets` is
/// ever served. Built from a small client in a temporary folder (so the tests do not depend on the real one),
/// and once from the project's own `web/`. No database: the routes read only the files.
@Suite(.timeLimit(.minutes(2)))
struct DashboardRouterTests {
    /// What every answer carries, word for word.
    static let contentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; "
        + "manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    static let pages = ["/", "/coding", "/goals", "/notifications", "/settings", "/leaderboard", "/sign-in", "/u/octocat", "/u/Some-One"]
    static let settings = DashboardRoutes.Settings(signIn: "link", ingestURL: "http://127.0.0.1:8080")
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!

    /// A client of a few files, and files beside `assets/` that must never be served.
    struct Fixture {
        static let index = """
            <!doctype html>
            <meta name="devtrack-sign-in" content="{{SIGN_IN}}">
            <meta name="devtrack-ingest-url" content="{{INGEST_URL}}">
            <title>fixture</title>

            """
        static let files: [String: String] = [
            "index.html": index,
            "assets/app.js": "export const answer = 42;\n",
            "assets/app.css": "body { margin: 0; }\n",
            "assets/icon.svg": #"<svg xmlns="http://www.w3.org/2000/svg"/>"# + "\n",
            "assets/pages/coding.js": "export default \"coding\";\n",
            "assets/data.json": #"{"a": 1}"# + "\n",
            "assets/notes.txt": "not a type the dashboard knows\n",
            "Package.swift": "// beside web/assets: never served\n",
            "secret.txt": "beside web/assets: never served\n",
            "assets-private/key.txt": "a sibling folder whose name starts like assets: never served\n",
        ]
        let root: URL

        init() throws {
            root = FileManager.default.temporaryDirectory.appendingPathComponent("dashboard-\(UUID().uuidString)")
            for (path, text) in Self.files {
                let url = root.appendingPathComponent(path)
                try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try Data(text.utf8).write(to: url)
            }
        }

        func remove() { try? FileManager.default.removeItem(at: root) }
    }

    /// The dashboard's routes as `devtrack api` adds them (JSON errors first, 405s last), on `directory`.
    static func withDashboard(
        _ directory: String, settings: DashboardRoutes.Settings = settings, _ body: @Sendable (DashboardClient) async throws -> Void
    ) async throws {
        let router = Router(context: APIRequestContext.self)
        router.middlewares.add(JSONErrorMiddleware())
        try DashboardRoutes(directory: directory, settings: settings).addRoutes(to: router)
        router.addMethodNotAllowed()
        try await Application(router: router).test(.router) { client in try await body(DashboardClient(client: client)) }
    }

    typealias FixtureBody = @Sendable (DashboardClient, Fixture) async throws -> Void

    /// The fixture's dashboard (the folder is removed afterwards).
    static func withFixture(settings: DashboardRoutes.Settings = settings, _ body: FixtureBody) async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        try await withDashboard(fixture.root.path, settings: settings) { client in try await body(client, fixture) }
    }

    struct DashboardClient: Sendable {
        let client: any TestClientProtocol

        func get(_ path: String, ifNoneMatch: String? = nil) async throws -> APIResponse {
            try await send(.get, path, ifNoneMatch: ifNoneMatch)
        }

        func send(_ method: HTTPRequest.Method, _ path: String, ifNoneMatch: String? = nil) async throws -> APIResponse {
            var headers: HTTPFields = [:]
            if let ifNoneMatch { headers[.ifNoneMatch] = ifNoneMatch }
            let response = try await client.execute(uri: path, method: method, headers: headers, body: nil)
            return APIResponse(status: response.status, headers: response.headers, body: Data(buffer: response.body))
        }
    }

    /// The headers every dashboard answer has, 200 and 304 alike.
    static func expectDashboardHeaders(_ response: APIResponse, _ comment: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(response.headers[.contentSecurityPolicy] == contentSecurityPolicy, "\(comment): \(response.headers)", sourceLocation: sourceLocation)
        #expect(response.headers[.xContentTypeOptions] == "nosniff", "\(comment)", sourceLocation: sourceLocation)
        #expect(response.headers[referrerPolicy] == "same-origin", "\(comment)", sourceLocation: sourceLocation)
        #expect(response.headers[.cacheControl] == "no-cache", "\(comment)", sourceLocation: sourceLocation)
        let tag = response.headers[.eTag] ?? ""
        #expect(tag.wholeMatch(of: /"[0-9a-f]{24}"/) != nil, "\(comment): a quoted SHA-256 prefix, not \(tag)", sourceLocation: sourceLocation)
    }

    @Test func everyPageIsIndexHTMLWithTheSecurityHeadersAndOneETag() async throws {
        try await Self.withFixture { dashboard, _ in
            var tags: Set<String> = []
            for page in Self.pages {
                let response = try await dashboard.get(page)
                #expect(response.status == .ok, "\(page) → \(response)")
                #expect(response.headers[.contentType] == "text/html; charset=utf-8", "\(page)")
                Self.expectDashboardHeaders(response, page)
                #expect(response.text.hasPrefix("<!doctype html>") && response.text.contains("<title>fixture</title>"), "\(page) → \(response)")
                tags.insert(response.headers[.eTag] ?? "")
            }
            #expect(tags.count == 1, "the same index.html, the same tag: \(tags)")
            // A query string is the client's business (the sign-in page's `?error=`), not another page.
            let withQuery = try await dashboard.get("/sign-in?error=sign_in_link_invalid")
            #expect(withQuery.status == .ok && withQuery.headers[.eTag] == tags.first, "\(withQuery)")
        }
    }

    @Test func theETagIsTheSHA256OfTheBytes() async throws {
        try await Self.withFixture { dashboard, _ in
            // printf 'export const answer = 42;\n' | sha256sum | cut -c1-24
            let script = try await dashboard.get("/assets/app.js")
            #expect(script.headers[.eTag] == #""a2098bd92b10bf8b816d24b7""#, "\(script.headers)")
            #expect(script.text == "export const answer = 42;\n")
            // The same bytes from another folder (another api process of the deployment) answer the same tag.
            let other = try Fixture()
            defer { other.remove() }
            let index = try await dashboard.get("/").headers[.eTag]
            try await Self.withDashboard(other.root.path) { second in
                let (script2, index2) = (try await second.get("/assets/app.js"), try await second.get("/"))
                #expect(script2.headers[.eTag] == script.headers[.eTag] && index2.headers[.eTag] == index)
            }
            // Other settings are other bytes of index.html, so another tag.
            try await Self.withDashboard(other.root.path, settings: .init(signIn: "github", ingestURL: "http://127.0.0.1:8080")) { github in
                let other = try await github.get("/")
                #expect(other.headers[.eTag] != index)
            }
        }
    }

    @Test func ifNoneMatchWithTheTagIsA304WithoutABody() async throws {
        try await Self.withFixture { dashboard, _ in
            for path in ["/", "/goals", "/u/octocat", "/assets/app.js", "/assets/pages/coding.js", "/assets/icon.svg"] {
                let first = try await dashboard.get(path)
                let tag = try #require(first.headers[.eTag], "\(path)")
                for header in [tag, "W/\(tag)", #""0123456789abcdef01234567", \#(tag)"#, "*", " \(tag) "] {
                    let again = try await dashboard.get(path, ifNoneMatch: header)
                    #expect(again.status == .notModified, "\(path) with If-None-Match: \(header) → \(again)")
                    #expect(again.body.isEmpty, "\(path): no body on a 304")
                    #expect(again.headers[.eTag] == tag, "\(path): the 304 names the tag")
                    #expect(again.headers[.contentType] == nil, "\(path): no content type without a body")
                    Self.expectDashboardHeaders(again, "\(path) 304")
                }
                for header in [#""0123456789abcdef01234567""#, String(tag.dropFirst().dropLast()), "", #"W/"x""#] {
                    let changed = try await dashboard.get(path, ifNoneMatch: header)
                    #expect(changed.status == .ok && changed.body == first.body, "\(path) with If-None-Match: \(header) → \(changed)")
                }
            }
        }
    }

    @Test func assetsHaveTheirContentTypes() async throws {
        try await Self.withFixture { dashboard, _ in
            for (path, type) in [
                ("app.js", "text/javascript; charset=utf-8"), ("pages/coding.js", "text/javascript; charset=utf-8"),
                ("app.css", "text/css; charset=utf-8"), ("icon.svg", "image/svg+xml"), ("data.json", "application/json; charset=utf-8"),
                ("notes.txt", "application/octet-stream"),
            ] {
                let response = try await dashboard.get("/assets/\(path)")
                #expect(response.status == .ok, "\(path) → \(response)")
                #expect(response.headers[.contentType] == type, "\(path) → \(response.headers)")
                #expect(response.text == Fixture.files["assets/\(path)"], "\(path): the file's bytes")
                Self.expectDashboardHeaders(response, path)
            }
        }
        for (name, type) in [
            ("a.html", "text/html; charset=utf-8"), ("a.mjs", "text/javascript; charset=utf-8"), ("A.JS", "text/javascript; charset=utf-8"),
            ("a.min.css", "text/css; charset=utf-8"), ("a.png", "image/png"), ("a.woff2", "font/woff2"), ("a.SVG", "image/svg+xml"),
            ("a", "application/octet-stream"), ("a.js.map", "application/octet-stream"), (".hidden", "application/octet-stream"),
        ] {
            #expect(DashboardRoutes.contentType(of: name) == type, "\(name)")
        }
    }

    @Test func anUnknownAssetOrPageIsAJSON404() async throws {
        try await Self.withFixture { dashboard, _ in
            for path in [
                "/assets/nothing.js", "/assets/App.js", "/assets/app.js.map", "/assets/pages", "/assets/pages/", "/assets/pages/nothing.js",
                "/assets/coding.js", "/assets/", "/assets", "/index.html", "/assets/index.html", "/nothing", "/u", "/u/", "/u/octocat/more",
                "/coding/more",
            ] {
                let response = try await dashboard.get(path)
                expectError(response, .notFound, "not_found", "GET \(path)")
                #expect(response.headers[.eTag] == nil, "\(path): no tag on an error")
            }
            // The router skips empty segments: a trailing slash is the same page or file.
            #expect(try await dashboard.get("/settings/").headers[.contentType] == "text/html; charset=utf-8")
            #expect(try await dashboard.get("/assets/app.js/").text == Fixture.files["assets/app.js"])
        }
    }

    @Test func noPathLeavesWebAssets() async throws {
        try await Self.withFixture { dashboard, fixture in
            let outside = ["Package.swift", "secret.txt", "index.html", "assets-private/key.txt"]
            var attempts: [String] = []
            for file in outside {
                let encoded = file.replacingOccurrences(of: "/", with: "%2F")
                attempts += [
                    "/assets/../\(file)", "/assets/./../\(file)", "/assets/pages/../../\(file)", "/assets/%2e%2e/\(file)", "/assets/%2E%2E/\(file)",
                    "/assets/..%2F\(encoded)", "/assets/..%2f\(encoded)", "/assets/%2e%2e%2f\(encoded)", "/assets/..%5C\(encoded)",
                    "/assets/..\\\(file)", "/assets/....//\(file)", "/assets/%252e%252e/\(file)", "/assets//../\(file)",
                    "/assets/\(fixture.root.path)/\(file)", "/assets/%2F\(fixture.root.path.dropFirst())/\(file)", "/assets/..;/\(file)",
                    "/assets/%c0%ae%c0%ae/\(file)", "/assets/app.js/../../\(file)",
                ]
            }
            attempts += ["/assets/../assets/app.js", "/assets/pages/../app.js", "/assets/./app.js", "/assets/pages%2Fcoding.js", "/assets/%61pp.js"]
            for path in attempts {
                let response = try await dashboard.get(path)
                expectError(response, .notFound, "not_found", "GET \(path)")
                for file in outside {
                    #expect(!response.text.contains(Fixture.files[file] ?? "-"), "\(path) served \(file): \(response)")
                }
            }
            // Empty segments are skipped by the router: still a file of web/assets, nothing else.
            #expect(try await dashboard.get("/assets//app.js").text == Fixture.files["assets/app.js"])
        }
    }

    @Test func headAnswersWhatGetAnswersWithoutTheBody() async throws {
        try await Self.withFixture { dashboard, _ in
            for path in ["/", "/u/octocat", "/assets/app.js", "/assets/pages/coding.js", "/assets/icon.svg"] {
                let full = try await dashboard.get(path)
                let head = try await dashboard.send(.head, path)
                #expect(head.status == .ok && head.body.isEmpty, "HEAD \(path) → \(head)")
                for name in [HTTPField.Name.contentType, .contentLength, .eTag, .cacheControl, .contentSecurityPolicy] {
                    #expect(head.headers[name] != nil && head.headers[name] == full.headers[name], "HEAD \(path): \(name)")
                }
                #expect(head.headers[.contentLength] == String(full.body.count), "HEAD \(path): the GET body's length")
                let tag = try #require(full.headers[.eTag])
                #expect(try await dashboard.send(.head, path, ifNoneMatch: tag).status == .notModified, "HEAD \(path) with its tag")
            }
            let missing = try await dashboard.send(.head, "/assets/nothing.js")
            #expect(missing.status == .notFound && missing.body.isEmpty, "\(missing)")
        }
    }

    @Test func anotherMethodIsRefused() async throws {
        try await Self.withFixture { dashboard, _ in
            for (method, path) in [(HTTPRequest.Method.post, "/"), (.put, "/settings"), (.delete, "/u/octocat"), (.post, "/sign-in")] {
                let response = try await dashboard.send(method, path)
                expectError(response, .methodNotAllowed, "method_not_allowed", "\(method) \(path)")
                #expect(response.headers[.allow] == "GET, HEAD", "\(method) \(path) → \(response.headers)")
            }
            // Under /assets/ the catch-all is not a segment MethodNotAllowedMiddleware can match: another method is a 404.
            let posted = try await dashboard.send(.post, "/assets/app.js")
            #expect(posted.status == .notFound || posted.status == .methodNotAllowed, "\(posted)")
            #expect(posted.status != .ok && !posted.text.contains("answer"), "\(posted)")
        }
    }

    @Test func thePlaceholdersAreFilledAndEscaped() async throws {
        let hostile = DashboardRoutes.Settings(
            signIn: #"github" onload="alert(1)"#, ingestURL: #"https://ingest.example/"><script>alert('x')</script>&amp;"#)
        try await Self.withFixture(settings: hostile) { dashboard, _ in
            let page = try await dashboard.get("/").text
            #expect(!page.contains("{{"), "every placeholder filled: \(page)")
            #expect(page.contains(#"<meta name="devtrack-sign-in" content="github&quot; onload=&quot;alert(1)">"#), "\(page)")
            #expect(
                page.contains(
                    #"<meta name="devtrack-ingest-url" content="https://ingest.example/&quot;&gt;"#
                        + #"&lt;script&gt;alert('x')&lt;/script&gt;&amp;amp;">"#),
                "\(page)")
            #expect(!page.contains("<script"), "no element comes from a setting: \(page)")
        }
        try await Self.withFixture { dashboard, _ in
            let page = try await dashboard.get("/settings").text
            #expect(page.contains(#"<meta name="devtrack-sign-in" content="link">"#), "\(page)")
            #expect(page.contains(#"<meta name="devtrack-ingest-url" content="http://127.0.0.1:8080">"#), "\(page)")
        }
        for (text, attribute) in [
            (#"say "hi" <b>&</b>"#, "say &quot;hi&quot; &lt;b&gt;&amp;&lt;/b&gt;"), ("&quot;", "&amp;quot;"), ("&lt;&amp;", "&amp;lt;&amp;amp;"),
            ("it's", "it's"), ("", ""), ("https://hub.example:8080/a?b=1&c=2", "https://hub.example:8080/a?b=1&amp;c=2"),
            ("\"><img src=x onerror=alert(1)>", "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"), ("é → 🚀", "é → 🚀"),
        ] {
            #expect(DashboardRoutes.attribute(text) == attribute, "\(text)")
        }
    }

    @Test func theFolderIsReadThroughDotSegmentsAndSymbolicLinks() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        // A deployment's `current -> releases/N` link, and a home given with `.`/`..` segments or a trailing slash.
        let link = fixture.root.deletingLastPathComponent().appendingPathComponent("\(fixture.root.lastPathComponent)-current")
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: fixture.root)
        defer { try? FileManager.default.removeItem(at: link) }
        for directory in [link.path, "\(fixture.root.path)/", "\(fixture.root.path)/./assets/..", "\(link.path)/"] {
            try await Self.withDashboard(directory) { dashboard in
                for path in ["app.js", "pages/coding.js", "icon.svg"] {
                    let response = try await dashboard.get("/assets/\(path)")
                    #expect(response.status == .ok && response.text == Fixture.files["assets/\(path)"], "\(directory): \(path) → \(response)")
                }
                #expect(try await dashboard.get("/").status == .ok, "\(directory)")
            }
        }
    }

    @Test func aFolderWithoutIndexHTMLIsAnErrorAtStart() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        try FileManager.default.removeItem(at: fixture.root.appendingPathComponent("index.html"))
        #expect(throws: (any Error).self) { try DashboardRoutes(directory: fixture.root.path, settings: Self.settings) }
        #expect(throws: (any Error).self) {
            try DashboardRoutes(directory: fixture.root.appendingPathComponent("nothing").path, settings: Self.settings)
        }
    }

    /// The project's own folder (this file is `Tests/DevTrackAPITests/…`).
    static let project = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The files below `web/assets`, as paths below it (`app.js`, `pages/coding.js`).
    static func realAssets() throws -> [String] {
        let assets = project.appendingPathComponent("web/assets")
        var files: [String] = []
        let walker = try #require(FileManager.default.enumerator(at: assets, includingPropertiesForKeys: [.isRegularFileKey]))
        while let url = walker.nextObject() as? URL {
            guard try url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile == true else { continue }
            files.append(String(url.standardizedFileURL.path.dropFirst(assets.standardizedFileURL.path.count + 1)))
        }
        return files.sorted()
    }

    /// docs/openapi.json (the contract) names every page route and, as path parameters, every file of the client:
    /// the files of `web/assets/` in `/assets/{file}`, those of `web/assets/pages/` in `/assets/pages/{file}`.
    @Test func theContractNamesEveryPageAndEveryFileOfTheRealClient() async throws {
        let data = try Data(contentsOf: Self.project.appendingPathComponent("docs/openapi.json"))
        let paths = try #require((try JSONSerialization.jsonObject(with: data) as? [String: Any])?["paths"] as? [String: [String: Any]])
        func tags(_ path: String) -> [String] { ((paths[path]?["get"] as? [String: Any])?["tags"] as? [String]) ?? [] }
        func files(_ path: String) -> [String] {
            let parameters = (paths[path]?["get"] as? [String: Any])?["parameters"] as? [[String: Any]] ?? []
            let file = parameters.first { $0["name"] as? String == "file" }
            return ((file?["schema"] as? [String: Any])?["enum"] as? [String] ?? []).sorted()
        }
        let documentedPages = paths.keys.filter { tags($0).contains("dashboard") && !$0.hasPrefix("/assets/") }
        #expect(Set(documentedPages) == Set(DashboardRoutes.pages), "\(documentedPages.sorted())")
        let assets = try Self.realAssets()
        #expect(files("/assets/{file}") == assets.filter { !$0.contains("/") }, "web/assets/ vs the contract")
        #expect(
            files("/assets/pages/{file}") == assets.filter { $0.hasPrefix("pages/") }.map { String($0.dropFirst("pages/".count)) },
            "web/assets/pages/ vs the contract")
        #expect(
            assets.allSatisfy { !$0.contains("/") || $0.hasPrefix("pages/") && $0.split(separator: "/").count == 2 }, "no other folders: \(assets)")
    }

    /// The project's own client (`web/`): every file under `web/assets` is served, as its bytes, with a type a
    /// browser runs or shows (never `application/octet-stream`, which the CSP's `nosniff` would refuse to run),
    /// and what index.html names is there.
    @Test func theRealClientIsServedWithKnownTypes() async throws {
        let web = Self.project.appendingPathComponent("web")
        let assets = web.appendingPathComponent("assets")
        let assetFiles = try Self.realAssets()
        #expect(assetFiles.contains("app.js") && assetFiles.contains("app.css"), "\(assetFiles)")
        let known = [
            "text/javascript; charset=utf-8", "text/css; charset=utf-8", "image/svg+xml", "image/png", "application/json; charset=utf-8",
            "font/woff2",
        ]
        try await Self.withDashboard(web.path) { dashboard in
            for file in assetFiles {
                let response = try await dashboard.get("/assets/\(file)")
                #expect(response.status == .ok, "\(file) → \(response)")
                #expect(known.contains(response.headers[.contentType] ?? ""), "\(file) is served as \(response.headers[.contentType] ?? "nothing")")
                #expect(response.body == (try Data(contentsOf: assets.appendingPathComponent(file))), "\(file): its bytes")
                Self.expectDashboardHeaders(response, file)
            }
            let index = try await dashboard.get("/")
            #expect(index.status == .ok && index.headers[.contentType] == "text/html; charset=utf-8", "\(index)")
            #expect(!index.text.contains("{{"), "every placeholder is filled: \(index.text)")
            #expect(index.text.contains(#"content="link""#) && index.text.contains(#"content="http://127.0.0.1:8080""#), "\(index.text)")
            // No inline script (the CSP would block it): every script is a file of /assets/, and it is served.
            let references = index.text.matches(of: /(?:src|href)="(\/assets\/[^"]+)"/).map { String($0.output.1) }
            #expect(!references.isEmpty)
            for reference in references {
                #expect(try await dashboard.get(reference).status == .ok, "index.html names \(reference)")
            }
            #expect(index.text.matches(of: /<script(?![^>]*\bsrc=)[^>]*>/).isEmpty, "an inline script: \(index.text)")
        }
    }
}
