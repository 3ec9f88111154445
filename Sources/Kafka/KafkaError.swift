import CRdKafka

/// A failure reported by librdkafka, with enough context to decide what to do about it
/// (retry, answer 503, send to a dead-letter topic, or stop).
public struct KafkaError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: String, Sendable {
        case configuration, clientCreation, produce, deliveryFailed, timedOut
        case consume, commit, admin, mockCluster, closed
    }

    public let kind: Kind
    /// librdkafka's `rd_kafka_resp_err_t` value (0 when the error did not come from librdkafka).
    public let code: Int32
    public let message: String

    public init(_ kind: Kind, code: Int32 = 0, _ message: String) {
        self.kind = kind
        self.code = code
        self.message = message
    }

    init(_ kind: Kind, err: rd_kafka_resp_err_t, context: String) {
        let text = String(cString: rd_kafka_err2str(err))
        self.init(kind, code: err.rawValue, "\(context): \(text)")
    }

    /// A commit refused because the group is rebalancing or this member lost its partitions. Benign for
    /// idempotent consumers: the uncommitted messages are redelivered to the partitions' next owner.
    public var isRebalanceConflict: Bool {
        kind == .commit
            && [
                RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS, RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION,
                RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID, RD_KAFKA_RESP_ERR__ASSIGNMENT_LOST,
            ].map(\.rawValue).contains(code)
    }

    /// A failure that sending the same message again cannot cure: the broker refuses its size, or the
    /// client was misconfigured. Everything else (timeouts, brokers away, a full queue) passes by itself.
    public var isPermanent: Bool {
        switch kind {
        case .configuration, .clientCreation: true
        case .produce, .deliveryFailed: code == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE.rawValue
        default: false
        }
    }

    public var description: String { "Kafka \(kind.rawValue) error \(code): \(message)" }
}
