import DevTrackCore
import Foundation
import Kafka
import Metrics

/// Sends messages keyed by user id and returns once Kafka has all of them.
struct UserKeyedPublisher: Sendable {
    let producer: KafkaProducer
    let topic: String

    func publish<Value: Encodable>(_ values: [Value], userID: (Value) -> UUID, encoder: JSONEncoder) async throws {
        guard !values.isEmpty else { return }
        let messages = try values.map { value in
            KafkaOutgoingMessage(topic: topic, key: Array(userID(value).uuidString.lowercased().utf8), value: Array(try encoder.encode(value)))
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for message in messages {
                group.addTask { try await producer.send(message) }
            }
            try await group.waitForAll()
        }
    }
}

/// Sends activity facts to `devtrack.activity`, keyed by user (so one user's facts stay in order on one
/// partition).
public struct FactPublisher: Sendable {
    let publisher: UserKeyedPublisher

    public init(producer: KafkaProducer) {
        publisher = UserKeyedPublisher(producer: producer, topic: Topics.activity)
    }

    public func publish(_ facts: [ActivityFact]) async throws {
        try await publisher.publish(facts, userID: \.userID, encoder: FactCoding.encoder())
    }
}

/// Sends notification intents to `devtrack.notifications`, keyed by user. Emitters publish before they
/// record that they did, so a crash in between re-sends the same intent (same dedupe key) instead of
/// losing it.
public struct IntentPublisher: Sendable {
    let publisher: UserKeyedPublisher

    public init(producer: KafkaProducer) {
        publisher = UserKeyedPublisher(producer: producer, topic: Topics.notifications)
    }

    public func publish(_ intents: [NotificationIntent]) async throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try await publisher.publish(intents, userID: \.userID, encoder: encoder)
        // `devtrack_intents_published_total{type}`: what the workers and the scheduler asked to notify (types are a fixed set).
        for (type, count) in Dictionary(grouping: intents, by: \.type).mapValues(\.count) {
            Counter(label: "devtrack_intents_published_total", dimensions: [("type", type)]).increment(by: count)
        }
    }
}
