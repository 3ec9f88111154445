import DevTrackCore
import Testing

@Suite struct OutboundAddressPolicyTests {
    func v4(_ text: String) -> [UInt8] { text.split(separator: ".").map { UInt8($0)! } }

    /// Full 8-group form only (what the test needs).
    func v6(_ groups: [UInt16]) -> [UInt8] { groups.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] } }

    @Test func publicAddressesPass() {
        for address in [
            "1.1.1.1", "8.8.8.8", "162.159.128.233", "100.63.255.255", "100.128.0.1", "172.15.0.1", "172.32.0.1", "192.169.0.1", "223.255.255.255",
        ] {
            #expect(OutboundAddressPolicy.refusal(ipv4: v4(address)) == nil, "\(address)")
        }
        #expect(OutboundAddressPolicy.refusal(ipv6: v6([0x2606, 0x4700, 0, 0, 0, 0, 0x6810, 0x84e5])) == nil)
        #expect(OutboundAddressPolicy.refusal(ipv6: v6([0, 0, 0, 0, 0, 0xFFFF, 0x0808, 0x0808])) == nil, "IPv4-mapped 8.8.8.8")
    }

    @Test func internalAddressesAreRefusedWithTheReason() {
        let refused: [(String, String)] = [
            ("127.0.0.1", "loopback"), ("10.1.2.3", "private"), ("172.16.0.1", "private"), ("172.31.255.255", "private"),
            ("192.168.1.1", "private"), ("169.254.169.254", "metadata"), ("100.64.0.1", "carrier-grade"), ("0.0.0.0", "this network"),
            ("224.0.0.1", "multicast"), ("255.255.255.255", "broadcast"), ("198.18.0.1", "benchmarking"), ("192.0.2.10", "documentation"),
        ]
        for (address, reason) in refused {
            let refusal = OutboundAddressPolicy.refusal(ipv4: v4(address))
            #expect(refusal?.contains(reason) == true, "\(address): \(refusal ?? "allowed")")
        }
        let refused6: [([UInt16], String)] = [
            ([0, 0, 0, 0, 0, 0, 0, 1], "loopback"), ([0, 0, 0, 0, 0, 0, 0, 0], "unspecified"), ([0xFE80, 0, 0, 0, 0, 0, 0, 1], "link-local"),
            ([0xFD00, 0, 0, 0, 0, 0, 0, 1], "unique local"), ([0xFF02, 0, 0, 0, 0, 0, 0, 1], "multicast"),
            ([0, 0, 0, 0, 0, 0xFFFF, 0x7F00, 0x0001], "IPv4-mapped: loopback"), ([0, 0, 0, 0, 0, 0xFFFF, 0xA9FE, 0xA9FE], "metadata"),
            ([0x64, 0xFF9B, 0, 0, 0, 0, 0x0A00, 0x0001], "NAT64: private"), ([0x2001, 0x0DB8, 0, 0, 0, 0, 0, 1], "documentation"),
            ([0x2002, 0xC0A8, 0x0101, 0, 0, 0, 0, 1], "6to4: private"),
        ]
        for (groups, reason) in refused6 {
            let refusal = OutboundAddressPolicy.refusal(ipv6: v6(groups))
            #expect(refusal?.contains(reason) == true, "\(groups): \(refusal ?? "allowed")")
        }
    }
}
