import DevTrackCore
import DevTrackTestSupport
import Foundation
import Testing

struct GitHubFactTests {
    @Test func everyFixtureDecodesWithoutCrashing() throws {
        let fixtures = try Fixtures.all()
        #expect(fixtures.count >= 30)
        for (event, path) in fixtures {
            let candidates = try GitHubFactExtractor.candidates(event: event, payload: Fixtures.data(path))
            if !GitHubFactExtractor.countedEvents.contains(event) {
                #expect(candidates.isEmpty, "\(path) is not a counted event")
            }
            // Ingest's light sender-id reader agrees with a full JSON decode on every real payload.
            let sender = (try JSONSerialization.jsonObject(with: Fixtures.data(path)) as? [String: Any])?["sender"] as? [String: Any]
            let id = try #require((sender?["id"] as? NSNumber)?.int64Value, "\(path) has a sender")
            #expect(try JSONPeek.integer(at: ["sender", "id"], in: Fixtures.data(path)) == id, "\(path)")
        }
    }

    @Test func branchPushYieldsItsDistinctCommitAtTheCommitTime() throws {
        let facts = try GitHubFactExtractor.candidates(event: "push", payload: Fixtures.data("push/branch-updated.json"))
        #expect(facts.count == 1)
        let fact = try #require(facts.first)
        #expect(fact.id == "commit:0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c")
        #expect(fact.kind == .commit)
        #expect(fact.actor == GitHubIdentity(login: "baxterthehacker", id: nil))
        // 2015-05-05T19:40:15-04:00
        #expect(fact.occurredAt == Date(timeIntervalSince1970: 1_430_869_215))
        #expect(fact.repo == "baxterthehacker/public-repo")
    }

    @Test func tagPushesAndDeletionsCarryNoCommits() throws {
        for path in ["push/tag-created-ghes34.json", "push/tag-deleted.json", "push/tag-deleted-org.json"] {
            #expect(try GitHubFactExtractor.candidates(event: "push", payload: Fixtures.data(path)).isEmpty, "\(path)")
        }
    }

    /// Synthetic edits (labelled): the fixtures have no branch deletion, no non-distinct commit and no
    /// commit without an author username.
    @Test func nonDistinctCommitsAndBranchDeletionsAreSkippedAndPusherIsTheFallback() throws {
        var push = try JSONSerialization.jsonObject(with: Fixtures.data("push/branch-created.json")) as! [String: Any]
        var commits = push["commits"] as! [[String: Any]]
        var second = commits[0]
        second["id"] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        second["distinct"] = false
        var third = commits[0]
        third["id"] = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
        third["author"] = ["name": "Someone", "email": "someone@example.com"]
        commits += [second, third]
        push["commits"] = commits
        let facts = try GitHubFactExtractor.candidates(event: "push", payload: JSONSerialization.data(withJSONObject: push))
        #expect(facts.map(\.id) == ["commit:6113728f27ae82c7b1a177c8d03f9e96e0adf246", "commit:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"])
        #expect(facts.last?.actor == GitHubIdentity(login: "Codertocat", id: 21_031_067), "no username: credited to the pusher")

        push["deleted"] = true
        push["ref"] = "refs/heads/feature"
        #expect(try GitHubFactExtractor.candidates(event: "push", payload: JSONSerialization.data(withJSONObject: push)).isEmpty)
    }

    @Test func pullRequestOpenedAndMergedAreCreditedToTheAuthor() throws {
        let opened = try GitHubFactExtractor.candidates(event: "pull_request", payload: Fixtures.data("pull_request/opened.json"))
        #expect(opened.map(\.id) == ["pr_opened:279147437"])
        #expect(opened.first?.actor == GitHubIdentity(login: "Codertocat", id: 21_031_067))
        #expect(opened.first?.occurredAt == Timestamps.parse("2019-05-15T15:20:33Z"))

        #expect(try GitHubFactExtractor.candidates(event: "pull_request", payload: Fixtures.data("pull_request/closed-not-merged.json")).isEmpty)
        for path in ["reopened", "synchronize", "review_requested"] {
            #expect(try GitHubFactExtractor.candidates(event: "pull_request", payload: Fixtures.data("pull_request/\(path).json")).isEmpty)
        }

        // Synthetic edit (labelled): no fixture has a merged close.
        var closed = try JSONSerialization.jsonObject(with: Fixtures.data("pull_request/closed-not-merged.json")) as! [String: Any]
        var pr = closed["pull_request"] as! [String: Any]
        pr["merged"] = true
        pr["merged_at"] = "2019-05-16T01:02:03Z"
        closed["pull_request"] = pr
        closed["sender"] = ["login": "maintainer", "id": 99, "type": "User"]
        let merged = try GitHubFactExtractor.candidates(event: "pull_request", payload: JSONSerialization.data(withJSONObject: closed))
        #expect(merged.map(\.id) == ["pr_merged:279147437"])
        #expect(merged.first?.actor.login == "Codertocat", "merges count for the PR author, not whoever merged")
        #expect(merged.first?.occurredAt == Timestamps.parse("2019-05-16T01:02:03Z"))
    }

    @Test func reviewsIssuesAndCommentsBecomeFacts() throws {
        let review = try GitHubFactExtractor.candidates(event: "pull_request_review", payload: Fixtures.data("pull_request_review/submitted.json"))
        #expect(review.map(\.id) == ["review:237895671"])
        #expect(review.first?.occurredAt == Timestamps.parse("2019-05-15T15:20:38Z"))

        let issue = try GitHubFactExtractor.candidates(event: "issues", payload: Fixtures.data("issues/opened.json"))
        #expect(issue.map(\.id) == ["issue_opened:444500041"])
        #expect(try GitHubFactExtractor.candidates(event: "issues", payload: Fixtures.data("issues/reopened.json")).isEmpty)

        let comment = try GitHubFactExtractor.candidates(event: "issue_comment", payload: Fixtures.data("issue_comment/created.json"))
        #expect(comment.map(\.id) == ["comment:492700400"])
        #expect(comment.first?.occurredAt == Timestamps.parse("2019-05-15T15:20:21Z"))
    }

    @Test func brokenPayloadsAreDescribedNotCrashed() throws {
        #expect(throws: PayloadError.self) { try GitHubFactExtractor.candidates(event: "push", payload: Data("not json".utf8)) }
        do {
            _ = try GitHubFactExtractor.candidates(event: "pull_request", payload: Data(#"{"action":"opened"}"#.utf8))
            Issue.record("expected a PayloadError")
        } catch {
            #expect("\(error)".contains("pull_request"))
        }
        #expect(try GitHubFactExtractor.candidates(event: "star", payload: Data("garbage".utf8)).isEmpty, "uncounted events are not parsed")
    }

    @Test func ownSourceCreditsOnlyItsOwnerAndHubCreditsByIdentity() throws {
        let owner = UserIdentity(userID: UUID(), login: "Codertocat", githubID: 21_031_067)
        let other = UserIdentity(userID: UUID(), login: "baxterthehacker", githubID: 6_752_317)
        let directory = UserDirectory([owner, other])
        let candidates =
            try GitHubFactExtractor.candidates(event: "push", payload: Fixtures.data("push/branch-updated.json"))
            + GitHubFactExtractor.candidates(event: "pull_request", payload: Fixtures.data("pull_request/opened.json"))

        let hub = FactCrediting.credit(candidates, policy: .byIdentity, directory: directory, source: "github-app")
        #expect(hub.map(\.userID) == [other.userID, owner.userID])

        let own = FactCrediting.credit(candidates, policy: .sourceOwner([owner]), directory: directory, source: "github:x")
        #expect(own.map(\.id) == ["pr_opened:279147437"], "baxterthehacker's commit is not credited through Codertocat's source")

        let nobody = FactCrediting.credit(candidates, policy: .byIdentity, directory: UserDirectory([]), source: "github-app")
        #expect(nobody.isEmpty, "people without an account are dropped")
    }

    @Test func loginsMatchCaseInsensitively() {
        let user = UserIdentity(userID: UUID(), login: "Codertocat", githubID: nil)
        #expect(UserDirectory([user]).user(for: GitHubIdentity(login: "codertocat", id: nil)) == user)
    }

    @Test func factsRoundTripThroughTheirJSONForm() throws {
        let fact = ActivityFact(
            id: "commit:abc", userID: UUID(), kind: .commit, occurredAt: Date(timeIntervalSince1970: 1_700_000_000.5),
            repo: "o/r", language: nil, source: "github-app")
        let data = try FactCoding.encoder().encode(fact)
        let json = String(decoding: data, as: UTF8.self)
        #expect(json.contains(#""occurred_at":"2023-11-14T22:13:20.500Z""#))
        #expect(json.contains(#""user_id":""#))
        #expect(try FactCoding.decoder().decode(ActivityFact.self, from: data) == fact)
    }
}

/// A user's own GitHub source can sign anything: what cannot be stored makes the delivery a dead letter.
struct HostileGitHubPayloadTests {
    func push(repo: String = "octo/hello", id: String = "abc123", timestamp: String = "2026-11-30T10:00:00Z") -> Data {
        let object: [String: Any] = [
            "ref": "refs/heads/main", "repository": ["full_name": repo, "language": "Swift"],
            "sender": ["login": "octocat", "id": 1],
            "commits": [["id": id, "timestamp": timestamp, "distinct": true, "author": ["username": "octocat"]]],
        ]
        return try! JSONSerialization.data(withJSONObject: object)
    }

    func reason(_ payload: Data) -> String? {
        do {
            _ = try GitHubFactExtractor.candidates(event: "push", payload: payload, now: Timestamps.parse("2026-12-01T00:00:00Z")!)
            return nil
        } catch {
            return error.description
        }
    }

    @Test func controlCharactersOverlongIdsAndFarTimesAreRefused() {
        #expect(reason(push()) == nil)
        #expect(reason(push(repo: "octo/\u{0}")) == "repository.full_name contains the control character U+0000, which is not accepted")
        #expect(reason(push(id: String(repeating: "a", count: 300)))?.hasPrefix("a fact id is 307 bytes long") == true)
        #expect(reason(push(timestamp: "2400-01-01T00:00:00Z"))?.contains("is more than a day ahead of the hub's clock") == true)
        #expect(reason(push(timestamp: "bad\u{0}time")) == "commits[].timestamp is not an ISO-8601 timestamp: bad\u{FFFD}time")
    }
}
