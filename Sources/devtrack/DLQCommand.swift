import ArgumentParser
import DevTrackCore
import Foundation
import Kafka
import Logging

/// `devtrack dlq`: what the workers dead-lettered, and putting it back once the cause is fixed. Every write
/// is idempotent, so a replayed message that was partly applied before (or that several workers of one topic
/// dead-lettered) changes nothing twice.
struct DLQCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dlq", abstract: "List dead letters, or replay them to the topic they came from.", subcommands: [List.self, Replay.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print every dead letter of a topic: partition, offset, key, worker, attempts, when, reason (tab-separated).")
        @OptionGroup var options: CommonOptions
        @Argument(help: "The topic (devtrack.activity) or its dead-letter topic (devtrack.activity.dlq).") var topic: String
        @Flag(help: "One JSON object per line instead.") var json = false

        func run() async throws {
            let configuration = try options.load()
            let letters = try await DeadLetterReader.read(topic: topic, brokers: try configuration.requireKafkaBrokers())
            if !json { printLine(["partition", "offset", "key", "worker", "attempts", "dead_lettered_at", "reason"].joined(separator: "\t")) }
            for letter in letters {
                if json {
                    printLine(String(decoding: try JSONSerialization.data(withJSONObject: letter.summary, options: [.sortedKeys]), as: UTF8.self))
                } else {
                    let fields = ["partition", "offset", "key", "worker", "attempts", "dead_lettered_at", "reason"].map {
                        "\(letter.summary[$0] ?? "")"
                    }
                    printLine(fields.map { $0.replacingOccurrences(of: "\t", with: " ") }.joined(separator: "\t"))
                }
            }
        }
    }

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: """
                Re-produce dead letters to their original topic (all of them, or those named by --offset), without the \
                dead-letter headers. A message several workers dead-lettered is replayed once.
                """)
        @OptionGroup var options: CommonOptions
        @Argument(help: "The topic (devtrack.activity) or its dead-letter topic.") var topic: String
        @Option(name: .customLong("offset"), help: "A dead letter's offset (PARTITION:OFFSET, or OFFSET in partition 0); repeatable.")
        var offsets: [String] = []

        func validate() throws {
            for offset in offsets where DeadLetterReader.coordinates(offset) == nil {
                throw ValidationError("--offset \(offset) is not OFFSET or PARTITION:OFFSET")
            }
        }

        func run() async throws {
            let configuration = try options.load()
            let brokers = try configuration.requireKafkaBrokers()
            let wanted = Set(offsets.compactMap(DeadLetterReader.coordinates))
            var letters = try await DeadLetterReader.read(topic: topic, brokers: brokers)
            if !wanted.isEmpty {
                letters = letters.filter { wanted.contains(DeadLetterReader.Coordinates(partition: $0.message.partition, offset: $0.message.offset)) }
                let found = Set(letters.map { DeadLetterReader.Coordinates(partition: $0.message.partition, offset: $0.message.offset) })
                for missing in wanted.subtracting(found) {
                    printLine("no dead letter at \(missing.partition):\(missing.offset)")
                }
            }
            let producer = try KafkaProducer(configuration: KafkaConfiguration(bootstrapServers: brokers), logger: makeLogger("devtrack.dlq"))
            var replayed = Set<String>()
            var count = 0
            for letter in letters {
                let original = letter.originalTopic
                // The same original message dead-lettered by several workers goes back once.
                let identity =
                    "\(original)/\(letter.header(RawEventHeaders.originalPartition) ?? "?")/"
                    + "\(letter.header(RawEventHeaders.originalOffset) ?? "\(letter.message.offset)")"
                guard replayed.insert(identity).inserted else { continue }
                _ = try await producer.send(
                    KafkaOutgoingMessage(
                        topic: original, key: letter.message.key, value: letter.message.value,
                        headers: letter.message.headers.filter { !RawEventHeaders.deadLetterHeaders.contains($0.name) }))
                count += 1
                printLine("replayed \(letter.message.partition):\(letter.message.offset) → \(original)")
            }
            await producer.shutdown()
            printLine("\(count) message(s) replayed to their topic")
        }
    }
}

/// Reads a dead-letter topic from its start to its end as it is now, without committing anything.
enum DeadLetterReader {
    struct Coordinates: Hashable {
        let partition: Int32
        let offset: Int64
    }

    struct Letter {
        let message: KafkaMessage

        func header(_ name: String) -> String? { message.header(name)?.stringValue }

        var originalTopic: String {
            header(RawEventHeaders.originalTopic) ?? String(message.topic.dropLast(".dlq".count))
        }

        var summary: [String: Any] {
            [
                "partition": Int(message.partition), "offset": message.offset,
                "key": message.key.map { InputText.sanitized(String(decoding: $0, as: UTF8.self), maxBytes: 100) } ?? "",
                "worker": header(RawEventHeaders.deadLetterWorker) ?? "", "attempts": Int(header(RawEventHeaders.deadLetterAttempts) ?? "") ?? 0,
                "dead_lettered_at": header(RawEventHeaders.deadLetteredAt) ?? "", "reason": header(RawEventHeaders.error) ?? "",
                "original": "\(originalTopic)[\(header(RawEventHeaders.originalPartition) ?? "?")]@\(header(RawEventHeaders.originalOffset) ?? "?")",
            ]
        }
    }

    static func coordinates(_ text: String) -> Coordinates? {
        let parts = text.split(separator: ":")
        if parts.count == 1, let offset = Int64(parts[0]), offset >= 0 { return Coordinates(partition: 0, offset: offset) }
        if parts.count == 2, let partition = Int32(parts[0]), let offset = Int64(parts[1]), partition >= 0, offset >= 0 {
            return Coordinates(partition: partition, offset: offset)
        }
        return nil
    }

    static func read(topic: String, brokers: String) async throws -> [Letter] {
        let logger = makeLogger("devtrack.dlq")
        let name = topic.hasSuffix(".dlq") ? topic : Topics.deadLetter(of: topic)
        let admin = try KafkaAdmin(configuration: KafkaConfiguration(bootstrapServers: brokers), logger: logger)
        let counts = try await admin.topicPartitionCounts()
        await admin.close()
        guard let partitions = counts[name] else { throw HubConfiguration.Failure(description: "topic \(name) does not exist") }
        // A group of its own that never commits: reading changes nothing for anyone.
        let consumer = try KafkaConsumer(
            configuration: KafkaConfiguration(
                bootstrapServers: brokers,
                [
                    "group.id": "devtrack-dlq-reader-\(UUID().uuidString.lowercased())", "auto.offset.reset": "earliest",
                ]),
            topics: [name], logger: logger)
        var letters: [Letter] = []
        do {
            var ends: [Int32: Int64] = [:]
            for partition in 0..<partitions {
                ends[partition] = try await consumer.watermarks(KafkaTopicPartition(topic: name, partition: partition)).high
            }
            var next: [Int32: Int64] = [:]
            let deadline = ContinuousClock.now + .seconds(60)
            while ends.contains(where: { $0.value > (next[$0.key] ?? 0) }) {
                guard ContinuousClock.now < deadline else {
                    throw HubConfiguration.Failure(description: "reading \(name) took over 60 s; \(letters.count) dead letters read")
                }
                for message in try await consumer.poll(maxMessages: 500, maxWait: .milliseconds(200)) {
                    letters.append(Letter(message: message))
                    next[message.partition] = message.offset + 1
                }
                // Offsets below a partition's low watermark are gone (retention): start counting from there.
                for (partition, end) in ends where next[partition] == nil && end > 0 {
                    let low = try await consumer.watermarks(KafkaTopicPartition(topic: name, partition: partition)).low
                    if low >= end { next[partition] = end }
                }
            }
        } catch {
            await consumer.close()
            throw error
        }
        await consumer.close()
        return letters.sorted { ($0.message.partition, $0.message.offset) < ($1.message.partition, $1.message.offset) }
    }
}
