import Kafka
import Testing

/// What `topics apply` and `topics check` report about a topic that differs from its specification (pure).
struct KafkaTopicDriftTests {
    let specification = KafkaTopicSpecification(
        name: "devtrack.activity", partitions: 6, replicationFactor: 3, configs: ["retention.ms": "-1", "cleanup.policy": "delete"])

    @Test func aTopicAsSpecifiedHasNoDrift() {
        let configs = ["retention.ms": "-1", "cleanup.policy": "delete", "segment.bytes": "1073741824"]
        #expect(KafkaTopicDrift.differences(specification, layout: .init(partitions: 6, replicationFactor: 3), configs: configs).isEmpty)
    }

    @Test func eachDifferenceIsSaidInWords() {
        let found = KafkaTopicDrift.differences(
            specification, layout: .init(partitions: 8, replicationFactor: 1), configs: ["retention.ms": "604800000"])
        #expect(
            found == [
                "8 partitions, more than the specification's 6 (Kafka cannot shrink a topic)",
                "replication factor 1, the specification asks for 3",
                "cleanup.policy is not set, the specification says 'delete'",
                "retention.ms is '604800000', the specification says '-1'",
            ])
        #expect(KafkaTopicDrift.differences(specification, layout: nil, configs: nil) == ["missing"])
        #expect(
            KafkaTopicDrift.differences(specification, layout: .init(partitions: 4, replicationFactor: 3), configs: nil)
                == ["4 partitions, the specification asks for 6"], "configs unknown: not compared")
    }
}
