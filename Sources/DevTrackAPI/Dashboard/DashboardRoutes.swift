import DevTrackHTTP
import Foundation
import HTTPTypes
import Hummingbird

/// The web dashboard (`web/` of the project): `index.html` for every page of the single-page client and the
/// files under `/assets/`, all read into memory once at start (the whole client is ~150 KB). Tags are
/// SHA-256 of the bytes, so every api process of a deployment answers the same `ETag` for the same file,
/// which modification-time tags (Hummingbird's `FileMiddleware`) would not. Every answer carries a strict
/// Content-Security-Policy: scripts, styles, images and connections from this origin only, no inline script.
public struct DashboardRoutes: Sendable {
    /// What `index.html`'s `<meta>` placeholders are filled with, so the client needs no extra request.
    public struct Settings: Sendable {
        /// "github" when an OAuth App is configured, else "link" (one-time links from `devtrack users sign-in-link`).
        public var signIn: String
        /// Where plugins and webhooks send (`ingest.public_url`), for the snippets the settings page shows.
        public var ingestURL: String

        public init(signIn: String, ingestURL: String) {
            self.signIn = signIn
            self.ingestURL = ingestURL
        }
    }

    struct File: Sendable {
        let bytes: ByteBuffer
        let contentType: String
        let tag: String
    }

    /// Client-side routes: the same `index.html` answers each, and the client draws the page.
    static let pages = ["/", "/coding", "/goals", "/notifications", "/settings", "/leaderboard", "/sign-in", "/u/{login}"]

    static let contentSecurityPolicy = [
        "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self'",
        "font-src 'self'", "manifest-src 'self'", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
    ].joined(separator: "; ")

    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!

    let index: File
    /// By path below `/assets/`, e.g. `app.js`, `pages/coding.js`.
    let assets: [String: File]

    /// Reads `directory` (the project's `web/`): `index.html` and every file below `assets/`.
    public init(directory: String, settings: Settings) throws {
        let root = URL(fileURLWithPath: directory)
        var html = try String(contentsOf: root.appendingPathComponent("index.html"), encoding: .utf8)
        html = html.replacingOccurrences(of: "{{SIGN_IN}}", with: Self.attribute(settings.signIn))
        html = html.replacingOccurrences(of: "{{INGEST_URL}}", with: Self.attribute(settings.ingestURL))
        index = Self.file(Array(html.utf8), name: "index.html")
        var assets: [String: File] = [:]
        let assetsRoot = root.appendingPathComponent("assets")
        let walker = FileManager.default.enumerator(at: assetsRoot, includingPropertiesForKeys: [.isRegularFileKey])
        while let url = walker?.nextObject() as? URL {
            guard (try url.resourceValues(forKeys: [.isRegularFileKey])).isRegularFile == true else { continue }
            let relative = String(url.standardizedFileURL.path.dropFirst(assetsRoot.standardizedFileURL.path.count + 1))
            assets[relative] = Self.file(Array(try Data(contentsOf: url)), name: relative)
        }
        self.assets = assets
    }

    public func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        for page in Self.pages {
            Self.getAndHead(router, RouterPath(page)) { request, _ in respond(request, index) }
        }
        Self.getAndHead(router, "/assets/**") { request, context in
            let path = context.parameters.getCatchAll().joined(separator: "/")
            guard let file = assets[path] else { throw HubHTTPError.notFound("no dashboard file /assets/\(path)") }
            return respond(request, file)
        }
    }

    /// `GET`, and `HEAD` with the same status and headers (`Content-Length` too) but no body (RFC 9110 §9.3.2), which link
    /// checkers, uptime monitors and `curl -I` send: Hummingbird's router has no HEAD of its own, so it answered 405.
    static func getAndHead<Context: RequestContext>(
        _ router: Router<Context>, _ path: RouterPath, _ answer: @escaping @Sendable (Request, Context) async throws -> Response
    ) {
        router.get(path, use: answer)
        router.head(path) { request, context in
            do {
                return try await answer(request, context).createHeadResponse()
            } catch let error as HubHTTPError {  // its status and headers, still without a body
                return try error.response(from: request, context: context).createHeadResponse()
            }
        }
    }

    /// `no-cache`: browsers keep the file but ask again, with `If-None-Match`, so a new release shows at once.
    func respond(_ request: Request, _ file: File) -> Response {
        var headers: HTTPFields = [
            .eTag: file.tag, .cacheControl: "no-cache", .contentSecurityPolicy: Self.contentSecurityPolicy,
            .xContentTypeOptions: "nosniff", Self.referrerPolicy: "same-origin",
        ]
        if EntityTag.matches(request.headers[.ifNoneMatch], file.tag) { return Response(status: .notModified, headers: headers) }
        headers[.contentType] = file.contentType
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: file.bytes))
    }

    static func file(_ bytes: [UInt8], name: String) -> File {
        File(bytes: ByteBuffer(bytes: bytes), contentType: contentType(of: name), tag: EntityTag.of(bytes))
    }

    static func contentType(of name: String) -> String {
        switch name.split(separator: ".").last.map({ $0.lowercased() }) {
        case "html": "text/html; charset=utf-8"
        case "js", "mjs": "text/javascript; charset=utf-8"
        case "css": "text/css; charset=utf-8"
        case "svg": "image/svg+xml"
        case "png": "image/png"
        case "json": "application/json; charset=utf-8"
        case "woff2": "font/woff2"
        default: "application/octet-stream"
        }
    }

    /// Text safe inside a double-quoted HTML attribute.
    static func attribute(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "\"", with: "&quot;")
            .replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
