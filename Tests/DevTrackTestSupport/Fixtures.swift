import Foundation

/// Where the repository's folders are, seen from the tests.
public enum RepositoryPaths {
    public static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
}

/// GitHub's real webhook bodies, vendored in Tests/Fixtures/github-webhooks (folder = X-GitHub-Event;
/// see its README for where each file comes from).
public enum Fixtures {
    public static let root = URL(fileURLWithPath: RepositoryPaths.root).appendingPathComponent("Tests/Fixtures/github-webhooks")

    public static func data(_ path: String) throws -> Data {
        try Data(contentsOf: root.appendingPathComponent(path))
    }

    /// Every (event, file) pair.
    public static func all() throws -> [(event: String, path: String)] {
        let events = try FileManager.default.contentsOfDirectory(atPath: root.path).filter {
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: root.appendingPathComponent($0).path, isDirectory: &isDirectory) && isDirectory.boolValue
        }
        return try events.sorted().flatMap { event in
            try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(event).path)
                .filter { $0.hasSuffix(".json") }.sorted().map { (event, "\(event)/\($0)") }
        }
    }

    /// A real push body (`push/branch-created.json`, 8.8 KB, one distinct commit by Codertocat) with its
    /// commit replaced by `sha`, so every copy is new activity.
    public static func push(sha: String) throws -> [UInt8] {
        let text = String(decoding: try data("push/branch-created.json"), as: UTF8.self)
            .replacingOccurrences(of: "6113728f27ae82c7b1a177c8d03f9e96e0adf246", with: sha)
        return Array(text.utf8)
    }
}

/// Payloads of other systems for custom sources' mappings, in Tests/Fixtures/gitlab-webhooks: written after
/// GitLab's documented webhook examples (push, merge request) and a generic CI "pipeline finished" body.
public enum OtherFixtures {
    public static func data(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: RepositoryPaths.root).appendingPathComponent("Tests/Fixtures/gitlab-webhooks/\(name)")))
    }
}

/// Polls `read` until `done` holds for its value, and returns that value; throws `WaitTimedOut` (naming the last
/// value read) when `seconds` pass first, so a wait can never pass on its timeout. `interval` between reads: longer
/// for reads that cost a process each.
public func eventually<T: Sendable>(
    within seconds: Double = 30, every interval: Duration = .milliseconds(100), _ read: () async throws -> T, until done: (T) -> Bool,
    file: StaticString = #fileID, line: UInt = #line
) async throws -> T {
    let deadline = Date().addingTimeInterval(seconds)
    var value = try await read()
    while !done(value) {
        guard Date() < deadline else {
            throw WaitTimedOut(
                description:
                    "waited \(seconds) s at \(file):\(line) for a condition that never held; last value: \(String(describing: value).prefix(2000))")
        }
        try await Task.sleep(for: interval)
        value = try await read()
    }
    return value
}

/// A wait whose condition did not hold in time.
public struct WaitTimedOut: Error, CustomStringConvertible {
    public let description: String
}
