import Foundation

/// Where `schema/`, `topics/` and `config/` live: `DEVTRACK_HOME`, else the first folder holding
/// `schema/` among the current directory, the executable's folder, and their parents.
struct ProjectHome: Sendable {
    let path: String
    var schemaDirectory: String { "\(path)/schema" }
    var topicsDirectory: String { "\(path)/topics" }
    /// Holds the OpenAPI document the API serves.
    var docsDirectory: String { "\(path)/docs" }
    /// The web dashboard's files, which the API serves.
    var webDirectory: String { "\(path)/web" }

    static func locate(environment: [String: String]) throws -> ProjectHome {
        if let home = environment["DEVTRACK_HOME"].nonEmpty { return ProjectHome(path: home) }
        let starts = [
            FileManager.default.currentDirectoryPath,
            URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().path,
        ]
        for start in starts {
            var url = URL(fileURLWithPath: start)
            for _ in 0..<8 {
                if FileManager.default.fileExists(atPath: url.appendingPathComponent("schema").path),
                    FileManager.default.fileExists(atPath: url.appendingPathComponent("topics").path)
                {
                    return ProjectHome(path: url.path)
                }
                url.deleteLastPathComponent()
            }
        }
        throw HubConfiguration.Failure(description: "cannot find the project folder (with schema/ and topics/): set DEVTRACK_HOME")
    }
}

extension Optional where Wrapped == String {
    var nonEmpty: String? {
        guard let self, !self.isEmpty else { return nil }
        return self
    }
}
