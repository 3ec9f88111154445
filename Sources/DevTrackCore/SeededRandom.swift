/// A small deterministic generator (SplitMix64): the same seed gives the same numbers on every machine and run,
/// for the demo data of `devtrack dev` and for tests that regenerate a history from its seed.
public struct SeededRandom: Sendable, RandomNumberGenerator {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// In [0, 1).
    public mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
    public mutating func chance(_ probability: Double) -> Bool { unit() < probability }
    public mutating func between(_ low: Double, _ high: Double) -> Double { low + unit() * (high - low) }
    public mutating func int(in range: ClosedRange<Int>) -> Int { range.lowerBound + Int(next() % UInt64(range.count)) }
}
