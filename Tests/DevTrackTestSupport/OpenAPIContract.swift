import Foundation

/// The operations docs/openapi.json (the contract, the YAML's twin) declares for one server, as `METHOD /path` with
/// the document's path templates, so that router tests can compare them with the routes a router registered.
public enum OpenAPIContract {
    /// `server` is the port variable of the server's URL: `api_port` or `ingest_port`. A path without servers of its
    /// own is on the document's top-level ones (both).
    public static func operations(onServer server: String) throws -> Set<String> {
        let url = URL(fileURLWithPath: RepositoryPaths.root).appendingPathComponent("docs/openapi.json")
        let document = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] ?? [:]
        let methods: Set<String> = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]
        var operations: Set<String> = []
        for case let (path, item as [String: Any]) in document["paths"] as? [String: Any] ?? [:] {
            let servers = (item["servers"] ?? document["servers"]) as? [[String: Any]] ?? []
            guard servers.contains(where: { ($0["url"] as? String)?.contains("{\(server)}") == true }) else { continue }
            for method in item.keys where methods.contains(method) { operations.insert("\(method.uppercased()) \(path)") }
        }
        return operations
    }
}
