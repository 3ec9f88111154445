import Foundation
import Testing

@testable import DevTrackAPI

/// The public rate limit's pure parts: the count rule, and who a request counts against.
@Suite struct RateLimitRuleTests {
    @Test func aWindowAdmitsUpToTheLimitCountingWhatOtherProcessesReported() {
        var count = WindowCount(windowStart: 0)
        count.sharedTotal = 7
        #expect((0..<5).map { _ in count.admit(limit: 10) } == [true, true, true, false, false])
        #expect(count.pending == 3, "only what was admitted is reported")
    }

    @Test func theProxysLastAddressCountsAndIPv6CountsByItsSlash64() {
        #expect(ClientAddress.of(peer: "10.0.0.1", header: nil) == "10.0.0.1")
        #expect(ClientAddress.of(peer: "10.0.0.1", header: "198.51.100.7") == "198.51.100.7")
        #expect(ClientAddress.of(peer: "10.0.0.1", header: "1.2.3.4, 198.51.100.7") == "198.51.100.7")
        for garbage in ["", "unknown", "198.51.100.7, not-an-ip", "999.1.1.1", String(repeating: "1", count: 100)] {
            #expect(ClientAddress.of(peer: "10.0.0.1", header: garbage) == "10.0.0.1", "\(garbage)")
        }
        #expect(ClientAddress.bucket(of: "198.51.100.7") == "198.51.100.7")
        #expect(ClientAddress.bucket(of: "2001:db8:1:2::1") == "2001:db8:1:2::/64")
        #expect(ClientAddress.bucket(of: "2001:0db8:0001:0002:ffff:0:0:9") == "2001:db8:1:2::/64")
        #expect(ClientAddress.bucket(of: "::1") == "0:0:0:0::/64")
        #expect(ClientAddress.bucket(of: "unknown") == "unknown")
    }
}
