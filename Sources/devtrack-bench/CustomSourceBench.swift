import ArgumentParser
import DevTrackCore
import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A wrk script posting signed deliveries to a custom source: bodies of about 2 KB (an array of native
/// events), each with its own `webhook-id` and a Standard Webhooks signature made now (valid for the five
/// minutes a run takes).
struct CustomWrkScript: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "custom-wrk-script", abstract: "Write a wrk Lua script posting signed custom-source deliveries.")
    @Option(help: "The source's whsec_… secret.") var secret: String
    @Option var variants: Int = 64
    @Option var output: String

    /// An array of native events, about 2 KB.
    static func body(variant: Int, at date: Date) -> String {
        let events = (0..<10).map { index in
            #"{"type": "deploy", "occurred_at": "\#(Timestamps.format(date))", "value": 1, "repo": "acme/service-\#(index)", "#
                + #""id": "bench-\#(variant)-\#(index)-\#(UUID().uuidString.lowercased())", "note": "\#(String(repeating: "x", count: 80))"}"#
        }
        return "[" + events.joined(separator: ",") + "]"
    }

    func run() throws {
        guard let key = StandardWebhooks.key(of: secret) else { throw ValidationError("--secret must be a whsec_… secret") }
        var lua = "local requests = {}\n"
        let now = Date()
        for variant in 0..<variants {
            let body = Self.body(variant: variant, at: now)
            let headers = StandardWebhooks.headers(
                id: "bench-\(variant)", timestamp: Int(now.timeIntervalSince1970), body: Array(body.utf8), keys: [key])
            let fields = headers.map { #"["\#($0.0)"] = "\#($0.1)""# }.joined(separator: ", ")
            lua += """
                requests[\(variant + 1)] = wrk.format("POST", nil, { ["Content-Type"] = "application/json", \(fields) },
                  [==[\(body)]==])

                """
        }
        try writeWrkScript(requests: lua, to: output)
        print("signed deliveries of \(Self.body(variant: 0, at: now).utf8.count) bytes, ten events each")
    }
}

/// Freshness of custom events: the time from a signed delivery's 202 to `GET /api/v1/metrics/custom`
/// counting it, one probe after another.
struct CustomFreshness: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "custom-freshness", abstract: "Measure custom delivery 202 → visible in /api/v1/metrics/custom.")
    @Option(help: "The source's URL.") var url: String
    @Option(help: "The source's whsec_… secret.") var secret: String
    @Option var api: String
    @Option(help: "API token of the source's owner.") var token: String
    @Option var probes: Int = 50

    func run() async throws {
        guard let key = StandardWebhooks.key(of: secret) else { throw ValidationError("--secret must be a whsec_… secret") }
        let session = URLSession(configuration: .ephemeral)
        func counted() async throws -> Int {
            var request = URLRequest(url: URL(string: "\(api)/api/v1/metrics/custom")!)
            request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
            let (data, _) = try await session.data(for: request)
            let totals = (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["totals"] as? [[String: Any]] ?? []
            return totals.first { $0["kind"] as? String == "probe" }?["count"] as? Int ?? 0
        }
        var latencies: [Double] = []
        var seen = try await counted()
        for probe in 0..<probes {
            let body = Array(
                #"{"type": "probe", "occurred_at": "\#(Timestamps.format(Date()))", "id": "probe-\#(probe)-\#(UUID().uuidString)"}"#.utf8)
            var request = URLRequest(url: URL(string: url)!)
            request.httpMethod = "POST"
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            for (name, value) in StandardWebhooks.headers(
                id: UUID().uuidString, timestamp: Int(Date().timeIntervalSince1970), body: body, keys: [key])
            {
                request.setValue(value, forHTTPHeaderField: name)
            }
            request.httpBody = Data(body)
            let (_, response) = try await session.data(for: request)
            guard (response as? HTTPURLResponse)?.statusCode == 202 else { continue }
            let accepted = ContinuousClock.now
            while try await counted() <= seen { try await Task.sleep(for: .milliseconds(2)) }
            let elapsed = ContinuousClock.now - accepted
            latencies.append(Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
            seen += 1
            try await Task.sleep(for: .milliseconds(50))
        }
        latencies.sort()
        func percentile(_ p: Double) -> Double { latencies.isEmpty ? .nan : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] }
        print(
            String(
                format: "custom freshness: probes=%d p50_ms=%.1f p99_ms=%.1f max_ms=%.1f",
                latencies.count, percentile(0.50), percentile(0.99), latencies.last ?? .nan))
    }
}
