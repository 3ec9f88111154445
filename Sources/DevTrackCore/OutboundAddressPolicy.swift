/// Which addresses the hub may send outbound requests to (Discord, users' webhook endpoints): public
/// unicast only. A user-supplied URL must not reach the hub's own network — loopback, private ranges,
/// link-local (where cloud metadata services live, 169.254.169.254), carrier-grade NAT, multicast,
/// documentation and reserved ranges, and IPv6's equivalents, including IPv4 addresses wrapped in IPv6.
/// The deliverer resolves a host, checks every address with this policy, and connects to an address it
/// checked, so a DNS answer that changes in between (rebinding) cannot slip through.
public enum OutboundAddressPolicy {
    /// Why an address is refused, or nil when it is public.
    public static func refusal(ipv4 bytes: [UInt8]) -> String? {
        guard bytes.count == 4 else { return "not an IPv4 address" }
        let (a, b, c) = (bytes[0], bytes[1], bytes[2])
        switch (a, b, c) {
        case (0, _, _): return "'this network' (0.0.0.0/8)"
        case (10, _, _): return "private (10.0.0.0/8)"
        case (100, 64...127, _): return "carrier-grade NAT (100.64.0.0/10)"
        case (127, _, _): return "loopback (127.0.0.0/8)"
        case (169, 254, _): return "link-local (169.254.0.0/16, cloud metadata)"
        case (172, 16...31, _): return "private (172.16.0.0/12)"
        case (192, 0, 0): return "IETF protocol assignments (192.0.0.0/24)"
        case (192, 0, 2), (198, 51, 100), (203, 0, 113): return "documentation (TEST-NET)"
        case (192, 88, 99): return "6to4 relay anycast (192.88.99.0/24)"
        case (192, 168, _): return "private (192.168.0.0/16)"
        case (198, 18...19, _): return "benchmarking (198.18.0.0/15)"
        case (224...239, _, _): return "multicast (224.0.0.0/4)"
        case (240...255, _, _): return "reserved (240.0.0.0/4, broadcast)"
        default: return nil
        }
    }

    /// Why an address is refused, or nil when it is public.
    public static func refusal(ipv6 bytes: [UInt8]) -> String? {
        guard bytes.count == 16 else { return "not an IPv6 address" }
        let prefix = bytes.prefix(12)
        if bytes.dropLast().allSatisfy({ $0 == 0 }) {
            return bytes[15] == 1 ? "loopback (::1)" : bytes[15] == 0 ? "unspecified (::)" : "IPv4-compatible (deprecated)"
        }
        if prefix.elementsEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF]) {
            return refusal(ipv4: Array(bytes.suffix(4))).map { "IPv4-mapped: \($0)" }
        }
        if prefix.elementsEqual([0, 0x64, 0xFF, 0x9B, 0, 0, 0, 0, 0, 0, 0, 0]) {
            return refusal(ipv4: Array(bytes.suffix(4))).map { "NAT64: \($0)" }
        }
        switch (bytes[0], bytes[1]) {
        case (0xFC...0xFD, _): return "unique local (fc00::/7)"
        case (0xFE, 0x80...0xBF): return "link-local (fe80::/10)"
        case (0xFE, 0xC0...0xFF): return "site-local (fec0::/10, deprecated)"
        case (0xFF, _): return "multicast (ff00::/8)"
        case (0x20, 0x01) where bytes[2] == 0x0D && bytes[3] == 0xB8: return "documentation (2001:db8::/32)"
        case (0x20, 0x02): return refusal(ipv4: Array(bytes[2..<6])).map { "6to4: \($0)" }
        case (0x01, 0x00) where bytes[2...7].allSatisfy({ $0 == 0 }): return "discard-only (100::/64)"
        default: return nil
        }
    }
}
