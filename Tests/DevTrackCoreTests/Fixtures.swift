import Foundation

/// The GitHub payload fixtures in ../shared/fixtures/github-webhooks (folder = X-GitHub-Event).
enum Fixtures {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("shared/fixtures/github-webhooks")

    static func data(_ path: String) throws -> Data {
        try Data(contentsOf: root.appendingPathComponent(path))
    }

    /// Every (event, file) pair.
    static func all() throws -> [(event: String, path: String)] {
        let events = try FileManager.default.contentsOfDirectory(atPath: root.path).filter {
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: root.appendingPathComponent($0).path, isDirectory: &isDirectory) && isDirectory.boolValue
        }
        return try events.sorted().flatMap { event in
            try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(event).path)
                .filter { $0.hasSuffix(".json") }.sorted().map { (event, "\(event)/\($0)") }
        }
    }
}
