import ArgumentParser
import Foundation
import Kafka

/// `devtrack topics apply|check`: the topics of `topics/` on a real cluster, through the Admin API.
struct TopicsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topics", abstract: "Manage Kafka topics.", subcommands: [Apply.self, Check.self])

    /// What the operator asked for: the files of `topics/`, with `kafka.replication_factor` (or `--replication-factor`)
    /// in place of the files' 3 when set (a cluster of one or two brokers cannot hold three replicas).
    static func specifications(_ configuration: HubConfiguration, replicationFactor: Int?) throws -> [KafkaTopicSpecification] {
        var specifications = try TopicFile.load(directory: configuration.home.topicsDirectory)
        if let factor = replicationFactor ?? configuration.kafka.replicationFactor {
            guard (1...32).contains(factor) else { throw ValidationError("the replication factor must be 1 to 32, not \(factor)") }
            for index in specifications.indices { specifications[index].replicationFactor = Int32(factor) }
        }
        return specifications
    }

    /// Each topic's drift from its specification, one line each (empty when the cluster has every topic as specified), and
    /// why configs were not compared when the cluster does not describe them (librdkafka's mock cluster does not).
    static func driftReport(
        _ specifications: [KafkaTopicSpecification], admin: KafkaAdmin
    ) async throws -> (drift: [String], configsUnread: String?) {
        let layouts = try await admin.topicLayouts()
        let present = specifications.map(\.name).filter { layouts[$0] != nil }
        var configs: [String: [String: String]] = [:]
        var unread: String?
        do {
            configs = try await admin.topicConfigs(present)
        } catch {
            unread = "configs not compared: \(error)"
        }
        let drift = specifications.flatMap { specification in
            KafkaTopicDrift.differences(specification, layout: layouts[specification.name], configs: configs[specification.name])
                .map { "\(specification.name): drift: \($0)" }
        }
        return (drift, unread)
    }

    /// Runs `body` with an admin client of the configured brokers, closed after; Kafka's errors come with the mock's hint.
    static func withAdmin<T>(_ configuration: HubConfiguration, _ body: (KafkaAdmin) async throws -> T) async throws -> T {
        let admin = try KafkaAdmin(
            configuration: KafkaConfiguration(bootstrapServers: configuration.requireKafkaBrokers()), logger: makeLogger("devtrack.topics"))
        do {
            let value = try await body(admin)
            await admin.close()
            return value
        } catch let error as KafkaError {
            await admin.close()
            throw mockHint(error)
        } catch {
            await admin.close()
            throw error
        }
    }

    static func mockHint(_ error: KafkaError) -> HubConfiguration.Failure {
        HubConfiguration.Failure(
            description: """
                \(error)
                (librdkafka's mock cluster has no CreateTopics or DescribeConfigs API: `devtrack kafka-mock` and `devtrack dev` create \
                the topics of topics/ themselves)
                """)
    }

    struct Apply: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create missing topics from topics/, grow partition counts, then report what still differs (drift).",
            discussion: "Exits 1 if a topic could not be created or grown; drift in configs or replication is reported, not changed.")
        @OptionGroup var options: CommonOptions
        @Option(help: "Replication factor for new topics (default: kafka.replication_factor, else the files' 3).") var replicationFactor: Int?

        func run() async throws {
            let configuration = try options.load()
            let specifications = try TopicsCommand.specifications(configuration, replicationFactor: replicationFactor)
            let (changes, report) = try await TopicsCommand.withAdmin(configuration) { admin in
                (try await admin.apply(specifications), try await TopicsCommand.driftReport(specifications, admin: admin))
            }
            var failed = false
            for name in changes.keys.sorted() {
                let change = changes[name]!
                if case .failed = change { failed = true }
                print("\(name): \(change)")
            }
            for line in report.drift + [report.configsUnread].compactMap({ $0 }) { print(line) }
            if failed { throw ExitCode.failure }
        }
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Report how the cluster's topics differ from topics/ (missing, partitions, replication, configs); exit 1 if any do.")
        @OptionGroup var options: CommonOptions
        @Option(help: "Expected replication factor (default: kafka.replication_factor, else the files' 3).") var replicationFactor: Int?

        func run() async throws {
            let configuration = try options.load()
            let specifications = try TopicsCommand.specifications(configuration, replicationFactor: replicationFactor)
            let report = try await TopicsCommand.withAdmin(configuration) { try await TopicsCommand.driftReport(specifications, admin: $0) }
            for line in report.drift + [report.configsUnread].compactMap({ $0 }) { print(line) }
            let checked = report.configsUnread == nil ? "" : " (partitions and replication; configs unread)"
            print(report.drift.isEmpty ? "every topic of topics/ is as specified\(checked)" : "\(report.drift.count) difference(s)")
            if !report.drift.isEmpty { throw ExitCode.failure }
        }
    }
}

/// One `topics/*.json` file: a topic's name, partitions, replication, configs, key and value schema.
struct TopicFile: Decodable {
    let name: String
    let partitions: Int32
    let replicationFactor: Int32
    let configs: [String: String]?

    enum CodingKeys: String, CodingKey {
        case name, partitions, configs
        case replicationFactor = "replication_factor"
    }

    var specification: KafkaTopicSpecification {
        KafkaTopicSpecification(name: name, partitions: partitions, replicationFactor: replicationFactor, configs: configs ?? [:])
    }

    static func load(directory: String) throws -> [KafkaTopicSpecification] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".json") }.sorted()
        return try names.map { name in
            do {
                return try JSONDecoder().decode(TopicFile.self, from: Data(contentsOf: URL(fileURLWithPath: "\(directory)/\(name)"))).specification
            } catch {
                throw HubConfiguration.Failure(description: "topic file \(directory)/\(name): \(error)")
            }
        }
    }
}
