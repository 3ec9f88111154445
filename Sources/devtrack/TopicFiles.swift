import Foundation
import Kafka

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
