import DevTrackHTTP
import Foundation
import Hummingbird

/// `GET /api/v1/openapi.yaml` and `/api/v1/openapi.json`: the HTTP contract of both servers
/// (`docs/openapi.yaml`, and its JSON twin written by `scripts/openapi-json`), read once at start.
public struct OpenAPIDocumentRoutes: Sendable {
    let yaml: ByteBuffer
    let json: ByteBuffer

    public init(directory: String) throws {
        func read(_ name: String) throws -> ByteBuffer {
            ByteBuffer(bytes: try Data(contentsOf: URL(fileURLWithPath: "\(directory)/\(name)")))
        }
        yaml = try read("openapi.yaml")
        json = try read("openapi.json")
    }

    public func addRoutes(to router: Router<some RequestContext>) {
        let yaml = self.yaml
        let json = self.json
        router.get("/api/v1/openapi.yaml") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/yaml", .cacheControl: "public, max-age=300"], body: .init(byteBuffer: yaml))
        }
        router.get("/api/v1/openapi.json") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "public, max-age=300"], body: .init(byteBuffer: json))
        }
    }
}
