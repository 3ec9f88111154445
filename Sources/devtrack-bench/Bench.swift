import ArgumentParser
import DevTrackCore
import Foundation
import Hummingbird
import Kafka
import Logging

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The tools `scripts/bench` drives: the baseline server, signing, and the freshness probe.
/// Figures come from the script (wrk for throughput, this tool for freshness); see README "Benchmarks".
@main
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devtrack-bench", abstract: "Benchmark helpers for scripts/bench.",
        subcommands: [
            BareHMAC.self, NIOBareHMAC.self, WrkScript.self, SteadyLoad.self, Freshness.self, HeartbeatWrkScript.self, CodingFreshness.self,
            CustomWrkScript.self,
            CustomFreshness.self,
            WorkerThroughput.self, DeliveryThroughput.self, ExportMemory.self,
        ])
}

/// The baseline of the ingest target: a bare Hummingbird route that only reads the body and checks the HMAC.
/// With `--kafka-brokers`, it also produces the body (keyed by a hash of the signature, over the topic's
/// partitions) and waits for the ack: the floor of any Kafka-acknowledged ingest.
struct BareHMAC: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bare-hmac", abstract: "Serve POST /webhooks/github: read body, check HMAC, 202.")
    @Option var port: Int
    @Option var secret: String
    @Option(help: "Also produce each body to devtrack.github.events on these brokers.") var kafkaBrokers: String?

    func run() async throws {
        let secrets = [Array(secret.utf8)]
        let logger = Logger(label: "bare-hmac")
        let producer = try kafkaBrokers.map { try KafkaProducer(configuration: KafkaConfiguration(bootstrapServers: $0), logger: logger) }
        let router = Router()
        router.post("/webhooks/github") { request, _ -> Response in
            var body = try await request.body.collect(upTo: 25 * 1024 * 1024)
            let bytes = body.readBytes(length: body.readableBytes) ?? []
            let header = request.headers[.init(GitHubSignature.headerName)!]
            guard GitHubSignature.verify(body: bytes, header: header, secrets: secrets) == .valid else {
                return Response(status: .unauthorized)
            }
            if let producer {
                try await producer.send(
                    KafkaOutgoingMessage(topic: "devtrack.github.events", key: Array((header ?? "").utf8.suffix(8)), value: bytes))
            }
            return Response(status: .accepted)
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
        try await app.runService()
    }
}

/// A wrk script that cycles through `variants` signed copies of a push body, each from a different sender
/// (so deliveries spread over partitions as real traffic from many people does) with its own commit.
struct WrkScript: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "wrk-script", abstract: "Write a wrk Lua script posting signed GitHub deliveries.")
    @Option var secret: String
    @Option(help: "A push body by Codertocat (sender id 21031067).") var template: String
    @Option var variants: Int = 64
    @Option var output: String

    func run() throws {
        let template = String(decoding: try Data(contentsOf: URL(fileURLWithPath: template)), as: UTF8.self)
        var lua = "local requests = {}\n"
        for variant in 0..<variants {
            let body = template.replacingOccurrences(of: "21031067", with: String(21_031_067 + variant))
                .replacingOccurrences(of: Freshness.templateSHA, with: Hex.encode((0..<20).map { _ in UInt8.random(in: 0...255) }))
            let signature = GitHubSignature.sign(body: Array(body.utf8), secret: Array(secret.utf8))
            lua += """
                requests[\(variant + 1)] = wrk.format("POST", nil, {
                  ["Content-Type"] = "application/json", ["X-GitHub-Event"] = "push",
                  ["X-GitHub-Delivery"] = "bench-\(variant)", ["X-Hub-Signature-256"] = "\(signature)" },
                  [==[\(body)]==])

                """
        }
        try writeWrkScript(requests: lua, to: output)
    }
}

/// Signed push deliveries at a fixed rate, each connection as a user of its own (so they spread over partitions): the
/// load under which the CPU per request of servers is compared. At their top speed (wrk) a slower server also batches
/// differently, so its CPU per request moves with its throughput; at one rate for all, only its own work differs.
struct SteadyLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "steady-load", abstract: "POST signed GitHub deliveries at a fixed rate; print how many were accepted.")
    @Option var port: Int
    @Option(help: "The hub-wide GitHub App secret.") var secret: String
    @Option(help: "A push body by Codertocat (sender id 21031067); its commit sha 6113728… is replaced per delivery.") var template: String
    @Option var rate: Int = 5_000
    @Option var seconds: Int = 10
    @Option(help: "Connections (and threads), each sending as a user of its own.") var connections: Int = 32

    func run() async throws {
        let text = String(decoding: try Data(contentsOf: URL(fileURLWithPath: template)), as: UTF8.self)
        let deliveries = Freshness.Deliveries(port: UInt16(port), secret: Array(secret.utf8))
        let (rate, connections) = (rate, connections)
        let start = ContinuousClock.now
        let end = start + .seconds(seconds)
        let (accepted, failed) = await withTaskGroup(of: (Int, Int).self) { group in
            for lane in 0..<connections {
                let template = Freshness.Deliveries.shaSlots(text.replacingOccurrences(of: "21031067", with: String(21_031_067 + lane)))
                group.addTask {
                    await LoopbackThreads.run {
                        deliveries.steady(template: template, start: start, end: end, rate: rate, lane: lane, lanes: connections)
                    }
                }
            }
            return await group.reduce(into: (0, 0)) { $0 = ($0.0 + $1.0, $0.1 + $1.1) }
        }
        print(
            String(
                format: "steady load: accepted=%d failed=%d rate=%.0f/s load_cpu_us=%d", accepted, failed,
                Double(accepted + failed) / Double(seconds), ownCPUMicroseconds() / max(accepted + failed, 1)))
    }
}

/// Steady load at `rate` deliveries/s from one user, and meanwhile probes from another: each probe is a
/// new commit; its freshness is the time from its 202 to the API showing it in the probe user's summary.
/// Load and probe run on threads of their own over kept loopback connections (`LoopbackConnection`), so the
/// generator takes little of the CPU the hub needs; it prints what it took per delivery (`load_cpu_us`).
struct Freshness: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Measure 202 → visible-in-API latency under steady load.")
    @Option var ingest: String
    @Option var api: String
    @Option(help: "The hub-wide GitHub App secret.") var secret: String
    @Option(help: "API token of the probe user (login benchprobe).") var probeToken: String
    @Option(help: "A push body by the load user; its commit sha 6113728… is replaced per delivery.") var template: String
    @Option var rate: Int = 500
    @Option var seconds: Int = 20
    @Option(help: "Connections (and threads) of the steady load.") var connections: Int = 32
    @Option(help: "Seconds of load before the first probe: the consumers' first batches after a start are not the steady state.")
    var warmUp: Int = 2

    static let templateSHA = "6113728f27ae82c7b1a177c8d03f9e96e0adf246"

    func run() async throws {
        let text = String(decoding: try Data(contentsOf: URL(fileURLWithPath: template)), as: UTF8.self)
        let template = Deliveries.shaSlots(text)
        let probeTemplate = Deliveries.shaSlots(
            text.replacingOccurrences(of: "Codertocat", with: "benchprobe").replacingOccurrences(of: "21031067", with: "990001"))
        guard let ingestPort = URL(string: ingest)?.port, let apiPort = URL(string: api)?.port else {
            throw ValidationError("--ingest and --api need a port")
        }
        let deliveries = Deliveries(port: UInt16(ingestPort), secret: Array(secret.utf8))
        let end = ContinuousClock.now + .seconds(warmUp + seconds)
        let (rate, connections, probeToken, warmUp) = (rate, connections, probeToken, warmUp)

        async let load = withTaskGroup(of: (Int, Int).self) { group in
            let start = ContinuousClock.now
            for lane in 0..<connections {
                group.addTask {
                    await LoopbackThreads.run {
                        deliveries.steady(template: template, start: start, end: end, rate: rate, lane: lane, lanes: connections)
                    }
                }
            }
            return await group.reduce(into: (0, 0)) { $0 = ($0.0 + $1.0, $0.1 + $1.1) }
        }
        let probed = await LoopbackThreads.run { () -> Result<[Probe.Latency], LoopbackConnection.Failure> in
            Thread.sleep(forTimeInterval: Double(warmUp))
            let probe = Probe(deliveries: deliveries, api: LoopbackConnection(port: UInt16(apiPort)), token: probeToken)
            return Result { try probe.latencies(template: probeTemplate, until: end) }
                .mapError { $0 as? LoopbackConnection.Failure ?? .init(description: "\($0)") }
        }
        let (sent, failed) = await load
        let probes = try probed.get()
        let latencies = probes.map(\.milliseconds).sorted()
        func percentile(_ p: Double) -> Double { latencies.isEmpty ? .nan : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] }
        print(
            String(
                format: "freshness: probes=%d p50_ms=%.1f p99_ms=%.1f max_ms=%.1f load_sent=%d load_rate=%.0f/s load_failed=%d load_cpu_us=%d"
                    + " warm_up_s=%d",
                latencies.count, percentile(0.50), percentile(0.99), latencies.last ?? .nan, sent, Double(sent) / Double(warmUp + seconds), failed,
                ownCPUMicroseconds() / max(sent, 1), warmUp))
        // When the tail happened: periodic stalls show as evenly spaced times.
        let slowest = probes.sorted { $0.milliseconds > $1.milliseconds }.prefix(5).sorted { $0.secondsIntoRun < $1.secondsIntoRun }
        let described = slowest.map { String(format: "%.0f ms at %.1f s", $0.milliseconds, $0.secondsIntoRun) }
        print("freshness slowest probes: " + described.joined(separator: ", "))
    }

    /// Signed push deliveries to ingest, each with a new commit sha.
    struct Deliveries: Sendable {
        let port: UInt16
        let secret: [UInt8]

        /// The template's bytes and where its commit sha sits, so each delivery only overwrites those 40 bytes.
        static func shaSlots(_ template: String) -> (bytes: [UInt8], offsets: [Int]) {
            let bytes = Array(template.utf8)
            let sha = Array(Freshness.templateSHA.utf8)
            let offsets = bytes.indices.dropLast(sha.count - 1).filter { bytes[$0..<($0 + sha.count)].elementsEqual(sha) }
            return (bytes, offsets)
        }

        func request(template: (bytes: [UInt8], offsets: [Int])) -> [UInt8] {
            let sha = Array(Hex.encode((0..<20).map { _ in UInt8.random(in: 0...255) }).utf8)
            var body = template.bytes
            for offset in template.offsets { body.replaceSubrange(offset..<(offset + sha.count), with: sha) }
            return LoopbackConnection.request(
                method: "POST", path: "/webhooks/github",
                headers: [
                    ("Content-Type", "application/json"), ("X-GitHub-Event", "push"), ("X-GitHub-Delivery", UUID().uuidString),
                    (GitHubSignature.headerName, GitHubSignature.sign(body: body, secret: secret)),
                ], body: body)
        }

        /// One of `lanes` connections of the steady load: its deliveries are due at `start + (n × lanes + lane) / rate`,
        /// and a late one is sent at once, so a slow answer does not lower the rate. Returns (accepted, failed).
        func steady(
            template: (bytes: [UInt8], offsets: [Int]), start: ContinuousClock.Instant, end: ContinuousClock.Instant, rate: Int, lane: Int, lanes: Int
        ) -> (Int, Int) {
            let connection = LoopbackConnection(port: port)
            var (accepted, failed) = (0, 0)
            var index = lane
            while true {
                let due = start + .seconds(Double(index) / Double(rate))
                guard due < end else { break }
                let wait = ContinuousClock.now.duration(to: due)
                if wait > .zero { Thread.sleep(forTimeInterval: Double(wait.components.attoseconds) / 1e18 + Double(wait.components.seconds)) }
                if (try? connection.send(request(template: template)).status) == 202 { accepted += 1 } else { failed += 1 }
                index += lanes
            }
            return (accepted, failed)
        }
    }

    /// The probe user's commits, posted one at a time, each timed until the API counts it.
    struct Probe {
        let deliveries: Deliveries
        let api: LoopbackConnection
        let token: String

        struct Latency {
            /// When the probe's delivery was accepted, from the first probe's start.
            let secondsIntoRun: Double
            let milliseconds: Double
        }

        func latencies(template: (bytes: [UInt8], offsets: [Int]), until end: ContinuousClock.Instant) throws -> [Latency] {
            let ingest = LoopbackConnection(port: deliveries.port)
            let start = ContinuousClock.now
            var latencies: [Latency] = []
            var seen = try commits()
            while ContinuousClock.now < end {
                guard try ingest.send(deliveries.request(template: template)).status == 202 else { continue }
                let acceptedAt = ContinuousClock.now
                while try commits() <= seen {
                    guard acceptedAt.duration(to: .now) < .seconds(30) else {
                        throw LoopbackConnection.Failure(description: "a probe delivery was not visible in the API within 30 s")
                    }
                    Thread.sleep(forTimeInterval: 0.002)
                }
                let elapsed = ContinuousClock.now - acceptedAt
                let into = start.duration(to: acceptedAt)
                latencies.append(
                    Latency(
                        secondsIntoRun: Double(into.components.seconds) + Double(into.components.attoseconds) / 1e18,
                        milliseconds: Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15))
                seen += 1
                Thread.sleep(forTimeInterval: 0.05)
            }
            return latencies
        }

        private func commits() throws -> Int {
            let request = LoopbackConnection.request(
                method: "GET", path: "/api/v1/metrics/summary?from=2019-05-15&to=2019-05-15", headers: [("Authorization", "Bearer \(token)")])
            let (status, body) = try api.send(request)
            guard status == 200 else { throw LoopbackConnection.Failure(description: "summary answered \(status)") }
            return (try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])?["commits"] as? Int ?? 0
        }
    }
}

/// A wrk script posting bulk requests of 25 heartbeats (the CLI's batch) with a coding key, cycling through
/// `variants` bodies with distinct timestamps.
struct HeartbeatWrkScript: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "heartbeat-wrk-script", abstract: "Write a wrk Lua script posting heartbeat bulks.")
    @Option var key: String
    @Option var variants: Int = 64
    @Option var output: String

    func run() throws {
        let start = Date().timeIntervalSince1970 - 86_400
        var lua = "local requests = {}\n"
        let auth = "Basic " + Data(key.utf8).base64EncodedString()
        for variant in 0..<variants {
            let beats = (0..<25).map { index in
                let time = start + Double(variant * 25 + index) * 7
                return
                    #"{"time":\#(time),"entity":"/home/dev/src/hub/Sources/File\#(index % 7).swift","type":"file","category":"coding","#
                    + #""project":"hub","branch":"main","language":"Swift","is_write":\#(index % 3 == 0),"lines":120,"lineno":\#(index),"#
                    + #""cursorpos":\#(index * 4),"user_agent":"wakatime/13.1.0 (Linux-6.1) Python3.11 vscode/1.80.0 vscode-wakatime/24.0.0"}"#
            }
            lua += """
                requests[\(variant + 1)] = wrk.format("POST", nil, {
                  ["Content-Type"] = "application/json", ["Authorization"] = "\(auth)", ["X-Machine-Name"] = "bench" },
                  [==[[\(beats.joined(separator: ","))]]==])

                """
        }
        try writeWrkScript(requests: lua, to: output)
    }
}

/// Steady heartbeat load (bulks of 25 from the load key) while a probe key adds one heartbeat 10 s after its
/// previous one; each probe's freshness is the time from its 201 until `/api/v1/coding/summary` shows the
/// probe user's total grown by those 10 s.
struct CodingFreshness: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coding-freshness", abstract: "Measure heartbeat 201 → visible-in-API latency under load.")
    @Option var ingest: String
    @Option var api: String
    @Option var loadKey: String
    @Option var probeKey: String
    @Option var probeToken: String
    @Option(help: "Heartbeats per second of background load.") var rate: Int = 500
    @Option var seconds: Int = 20

    func run() async throws {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = 64
        let session = URLSession(configuration: configuration)
        let end = ContinuousClock.now + .seconds(seconds)
        let base = (Date().timeIntervalSince1970 - 3 * 3600).rounded()

        @Sendable func post(_ beats: [(time: Double, entity: String)], key: String) async throws -> Bool {
            var request = URLRequest(url: URL(string: "\(ingest)/api/v1/heartbeats")!)
            request.httpMethod = "POST"
            request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization")
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = Data(
                ("["
                    + beats.map { #"{"time":\#($0.time),"entity":"\#($0.entity)","project":"bench","language":"Swift"}"# }
                    .joined(separator: ",") + "]").utf8)
            let (_, response) = try await session.data(for: request)
            return (response as? HTTPURLResponse)?.statusCode == 201
        }
        func probeSeconds() async throws -> Int {
            let today = LocalDate(Date(timeIntervalSince1970: base), in: .gmt)
            var request = URLRequest(url: URL(string: "\(api)/api/v1/coding/summary?from=\(today.adding(days: -1))&to=\(today.adding(days: 1))")!)
            request.setValue("Bearer \(probeToken)", forHTTPHeaderField: "Authorization")
            let (data, _) = try await session.data(for: request)
            return (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["total_seconds"] as? Int ?? -1
        }

        // Background load: `rate / 25` bulks a second, timestamps marching on from `base`.
        let loadKey = self.loadKey
        let bulksPerSecond = max(1, rate / 25)
        let load = Task {
            var sent = 0
            var next = ContinuousClock.now
            var tick = 0
            try await withThrowingTaskGroup(of: Bool.self) { group in
                while ContinuousClock.now < end {
                    let beats = (0..<25).map { (time: base + 7200 + Double(tick * 25 + $0) * 0.05, entity: "load\($0 % 5).swift") }
                    tick += 1
                    group.addTask { (try? await post(beats, key: loadKey)) ?? false }
                    next += .seconds(1) / bulksPerSecond
                    try await Task.sleep(until: next)
                }
                for try await accepted in group where accepted { sent += 25 }
            }
            return sent
        }

        var latencies: [Double] = []
        guard try await post([(base, "probe.swift")], key: probeKey) else { throw ValidationError("the probe key was refused") }
        var expected = try await probeSeconds()
        var probe = 1
        while ContinuousClock.now < end {
            guard try await post([(base + Double(probe) * 10, "probe.swift")], key: probeKey) else { continue }
            let acceptedAt = ContinuousClock.now
            expected += 10
            while try await probeSeconds() < expected { try await Task.sleep(for: .milliseconds(2)) }
            let elapsed = ContinuousClock.now - acceptedAt
            latencies.append(Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
            probe += 1
            try await Task.sleep(for: .milliseconds(50))
        }
        let sent = try await load.value
        latencies.sort()
        func percentile(_ p: Double) -> Double { latencies.isEmpty ? .nan : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] }
        print(
            String(
                format: "coding freshness: probes=%d p50_ms=%.1f p99_ms=%.1f max_ms=%.1f load_heartbeats=%d load_rate=%.0f/s",
                latencies.count, percentile(0.5), percentile(0.99), latencies.last ?? .nan, sent, Double(sent) / Double(seconds)))
    }
}

/// Completes a wrk script whose `requests` table is filled: cycle through it, and print one
/// `RESULT requests req/s p50_ms p99_ms non_2xx socket_errors` line that scripts/bench reads.
func writeWrkScript(requests: String, to path: String) throws {
    let lua =
        requests + """
            local counter = 0
            request = function()
              counter = counter + 1
              return requests[(counter % #requests) + 1]
            end
            done = function(summary, latency, requests)
              io.write(string.format("RESULT %d %.0f %.2f %.2f %d %d\\n", summary.requests,
                summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
                summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
            end

            """
    try Data(lua.utf8).write(to: URL(fileURLWithPath: path))
}

/// CPU time (user + system) this process has used so far, in µs: the load generator shares the machine with
/// the hub, so its own cost is printed next to the hub's.
func ownCPUMicroseconds() -> Int {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    let seconds = usage.ru_utime.tv_sec + usage.ru_stime.tv_sec
    return seconds * 1_000_000 + Int(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec)
}
