import Foundation

/// A browser as curl plays it: a cookie jar kept between requests, redirects seen one by one or followed.
struct Browser {
    let jar: String
    let directory: String

    init(directory: String) {
        self.directory = directory
        jar = "\(directory)/cookies-\(UUID().uuidString.prefix(6)).txt"
    }

    struct Answer {
        let status: Int
        let headers: [String: String]
        let body: String
        var location: String? { headers["location"] }
        var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] }
        var errorCode: String? { (json?["error"] as? [String: Any])?["code"] as? String }
    }

    /// One request with the jar's cookies (and keeping what it sets), redirects not followed.
    func request(
        _ method: String, _ url: String, headers: [String: String] = [:], body: String? = nil, follow: Bool = false
    ) async throws -> Answer {
        let name = UUID().uuidString.prefix(6)
        let (bodyPath, headerPath) = ("\(directory)/curl-\(name).body", "\(directory)/curl-\(name).headers")
        var arguments = ["-s", "-S", "-X", method, "-b", jar, "-c", jar, "-o", bodyPath, "-D", headerPath, "--max-time", "30"]
        if follow { arguments.append("-L") }
        if let body { arguments += ["--data-binary", body] }
        for (header, value) in headers { arguments += ["-H", "\(header): \(value)"] }
        let curl = try RunningProcess(
            name: "curl", executable: "/usr/bin/curl", arguments: arguments + [url], environment: [:], logPath: "\(directory)/curl-\(name).log")
        guard try await curl.waitForExit(timeout: 40) == 0 else { throw HarnessError("curl \(url) failed: \(curl.output)") }
        // With -L the header file holds every answer of the chain: the last block is the final one.
        let blocks = ((try? String(contentsOfFile: headerPath, encoding: .utf8)) ?? "").components(separatedBy: "\r\n\r\n").filter { !$0.isEmpty }
        let lines = (blocks.last ?? "").components(separatedBy: "\r\n")
        let status = lines.first.flatMap { $0.split(separator: " ").dropFirst().first.flatMap { Int($0) } } ?? 0
        var fields: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return Answer(status: status, headers: fields, body: (try? String(contentsOfFile: bodyPath, encoding: .utf8)) ?? "")
    }

    /// A cookie's value in the jar (curl's Netscape format; HttpOnly ones are prefixed `#HttpOnly_`).
    func cookie(_ name: String) -> String? {
        let text = (try? String(contentsOfFile: jar, encoding: .utf8)) ?? ""
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count == 7, !line.hasPrefix("# "), fields[5] == name else { continue }
            return String(fields[6])
        }
        return nil
    }
}
