import DevTrackCore
import DevTrackTestSupport
import Foundation
import Testing

/// GitHub sends deliveries of up to 25 MB; the broker takes 1 MB per message. Each size is accepted and
/// every commit counted once: small bodies go compressed through Kafka, large ones wait in PostgreSQL.
@Suite(.timeLimit(.minutes(6)))
struct LargeDeliveriesEndToEndTests {
    /// A push of `commits` distinct commits whose messages make the body about `bytes` long.
    func push(commits: Int, bytes: Int, tag: String) -> [UInt8] {
        let message = String(repeating: "A long commit message line that GitHub sends in full. ", count: max(1, bytes / commits / 56))
        let now = Timestamps.format(Date().addingTimeInterval(-300))
        let list = (0..<commits).map { index -> [String: Any] in
            [
                "id": Hex.sha256(Array("\(tag)-\(index)".utf8)).prefix(40).description, "timestamp": now, "distinct": true,
                "message": "\(index): \(message)", "author": ["username": "Codertocat", "name": "Codertocat", "email": "c@example.com"],
            ]
        }
        let object: [String: Any] = [
            "ref": "refs/heads/main", "repository": ["full_name": "octo/big", "language": "Swift"],
            "sender": ["login": "Codertocat", "id": 21031067], "commits": list,
        ]
        return Array(try! JSONSerialization.data(withJSONObject: object))
    }

    @Test func deliveriesFromAFewKilobytesToTwentyFiveMegabytesAreAcceptedAndEveryCommitCountedOnce() async throws {
        try await withHub { hub in
            let user = try await hub.createUser(login: "Codertocat", githubID: 21031067)
            let cases = [(commits: 300, bytes: 800_000), (commits: 300, bytes: 5_000_000), (commits: 2000, bytes: 24_000_000)]
            var expected = 0
            for (index, size) in cases.enumerated() {
                let body = push(commits: size.commits, bytes: size.bytes, tag: "case-\(index)")
                #expect(body.count < 25 * 1024 * 1024)
                let response = try await hub.postGitHub("push", body, delivery: UUID().uuidString)
                print("large delivery: \(body.count) bytes → \(response.status)")
                #expect(response.status == 202, "\(body.count) bytes: \(response.status) \(response.text)")
                expected += size.commits
                // Sent again (GitHub's redeliver button): nothing more.
                if index == 1 { #expect(try await hub.postGitHub("push", body, delivery: UUID().uuidString).status == 202) }
            }
            let today = LocalDate(Date(), in: .gmt)
            let range = (from: today.adding(days: -1).description, to: today.adding(days: 1).description)
            let counted = try await eventually(
                within: 120, { try await hub.summary(token: user.token, from: range.from, to: range.to) },
                until: { $0["commits"] == expected })
            #expect(counted["commits"] == expected, "\(counted)")
            #expect(try await hub.topicValues(Topics.deadLetter(of: Topics.githubEvents)).isEmpty)

            // A custom delivery just under its 1 MB limit that does not compress (random bytes as base64).
            let created = try await hub.api("POST", "/api/v1/sources", #"{"kind": "custom", "name": "CI"}"#, token: user.token)
            let sourceID = try #require(created.json?["id"] as? String)
            let secret = try #require(created.json?["secret"] as? String)
            let noise = Data((0..<760_000).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
            let body = Array(#"{"type": "deploy", "occurred_at": "\#(Timestamps.format(Date()))", "id": "big-1", "meta": "\#(noise)"}"#.utf8)
            #expect(body.count > 1_000_000 && body.count < 1 << 20)
            var headers = ["Content-Type": "application/json"]
            for (name, value) in StandardWebhooks.headers(
                id: "big", timestamp: Int(Date().timeIntervalSince1970), body: body, keys: [StandardWebhooks.key(of: secret)!])
            {
                headers[name] = value
            }
            let custom = try await hub.request("POST", "\(hub.ingestURL)/webhooks/custom/\(sourceID)", headers: headers, body: body)
            #expect(custom.status == 202, "\(custom.text)")
            let metrics = try await eventually(
                within: 60, { try await hub.get("/api/v1/metrics/custom", token: user.token) },
                until: { response in
                    ((response.json?["totals"] as? [[String: Any]]) ?? []).contains { $0["kind"] as? String == "deploy" && $0["count"] as? Int == 1 }
                })
            #expect(((metrics.json?["totals"] as? [[String: Any]]) ?? []).first?["count"] as? Int == 1, "\(metrics.text)")
        }
    }
}
