import DevTrackCore
import Foundation

/// `devtrack dev --demo-data`: ~90 days of a developer's life, sent through the real pipeline (signed GitHub
/// webhooks to the demo user's source, heartbeats with a coding key), so the dashboard's first look has
/// something to show. The plan is a pure function of the day it is made: the same seed gives the same
/// commits, ids and heartbeats, so running it twice on one data folder counts nothing twice.
struct DemoPlan: Sendable {
    /// One signed webhook to send.
    struct Delivery: Sendable {
        let event: String
        let id: String
        let body: String
    }

    /// What the plan adds per day (the user's zone is UTC), to compare with what the hub shows.
    struct Day: Sendable, Codable, Equatable {
        var commits = 0
        var prsOpened = 0
        var prsMerged = 0
        var reviews = 0
        var issuesOpened = 0
        var issuesClosed = 0
        var codingSeconds = 0

        var contributions: Int { commits + prsOpened + reviews + issuesOpened }

        enum CodingKeys: String, CodingKey {
            case commits, reviews
            case prsOpened = "prs_opened"
            case prsMerged = "prs_merged"
            case issuesOpened = "issues_opened"
            case issuesClosed = "issues_closed"
            case codingSeconds = "coding_seconds"
        }
    }

    var deliveries: [Delivery] = []
    /// Heartbeats grouped by day and machine, each group at most `maxBatch` long (one request each).
    var heartbeatBatches: [(machine: String, heartbeats: [Heartbeat])] = []
    var days: [LocalDate: Day] = [:]

    static let defaultDays = 90
    static let repositories: [(name: String, language: String, weight: Int)] = [
        ("octo-org/dashboard", "TypeScript", 5), ("octo-org/api", "Go", 4), ("Codertocat/hello-devtrack", "Swift", 3),
        ("Codertocat/dotfiles", "Shell", 1),
    ]
    static let editors = [
        "wakatime/v1.102.1 (linux-6.1.0-amd64) go1.22.5 vscode/1.95.3 vscode-wakatime/24.6.2",
        "wakatime/v1.102.1 (linux-6.1.0-amd64) go1.22.5 neovim/0.10.2 vim-wakatime/11.1.1",
    ]
    static let messages = [
        "Fix off-by-one in the weekly summary", "Add dark theme tokens", "Refactor the sync cursor", "Bump dependencies",
        "Handle empty pages from the API", "Speed up the calendar query", "Document the webhook retries", "Tidy the settings form",
        "Add tests for time zones", "Cache the public profile",
    ]

    /// The plan for the `days` days ending `now` (UTC), for the user `login` (GitHub id `githubID`).
    static func make(days: Int = defaultDays, now: Date, login: String, githubID: Int64, maxBatch: Int, timeout: Double) -> DemoPlan {
        var plan = DemoPlan()
        let today = LocalDate(now, in: .gmt)
        var heartbeats: [Heartbeat] = []
        for offset in (0..<days).reversed() {
            let date = today.adding(days: -offset)
            var random = SeededRandom(seed: date.description.stableHash)
            let start = date.startOfDay(in: .gmt).timeIntervalSince1970
            // Today only up to a few minutes ago: nothing in the future, and the hub's clock is ours.
            let latest = min(start + 86_399, now.timeIntervalSince1970 - 300)
            guard latest > start + 3600 else { continue }
            // Day 0 of the epoch (1970-01-01) was a Thursday: 2 and 3 after it are Saturday and Sunday.
            let weekend = [2, 3].contains(((date.daysSinceEpoch % 7) + 7) % 7)
            let active = offset < 12 || random.chance(weekend ? 0.3 : 0.85)
            guard active else { continue }
            var day = Day()
            func time(_ from: Double, _ to: Double) -> Double {
                min(latest, start + random.between(from, to) * 3600)
            }

            // Commits, in pushes of one to three to one repository.
            var commitsLeft = random.int(in: 1...(weekend ? 3 : 8))
            var push = 0
            while commitsLeft > 0 {
                let count = min(commitsLeft, random.int(in: 1...3))
                commitsLeft -= count
                let repository = random.weighted(repositories)
                let commits = (0..<count).map { index in
                    (
                        sha: Self.sha("\(date)/push\(push)/\(index)"),
                        message: messages[random.int(in: 0...(messages.count - 1))], time: time(8, 20)
                    )
                }.sorted { $0.time < $1.time }
                plan.deliveries.append(
                    Delivery(event: "push", id: "demo-\(date)-push-\(push)", body: Self.push(commits, repository, login: login, githubID: githubID)))
                day.commits += count
                push += 1
            }
            // Pull requests, reviews and issues on weekdays.
            if !weekend && random.chance(0.4) {
                let repository = random.weighted(repositories)
                let id = Int64(date.daysSinceEpoch) * 10 + 1
                let opened = time(9, 14)
                let title = messages[random.int(in: 0...(messages.count - 1))]
                plan.deliveries.append(
                    Delivery(
                        event: "pull_request", id: "demo-\(date)-pr-opened",
                        body: pullRequest(id: id, action: "opened", title: title, opened: opened, merged: nil, repository, login, githubID)))
                day.prsOpened += 1
                if random.chance(0.7), opened + 7200 < latest {
                    plan.deliveries.append(
                        Delivery(
                            event: "pull_request", id: "demo-\(date)-pr-merged",
                            body: pullRequest(
                                id: id, action: "closed", title: title, opened: opened, merged: opened + 7200, repository, login, githubID)))
                    day.prsMerged += 1
                }
            }
            for review in 0..<(weekend ? 0 : random.int(in: 0...2)) {
                let repository = random.weighted(repositories)
                let id = Int64(date.daysSinceEpoch) * 10 + 2 + Int64(review)
                plan.deliveries.append(
                    Delivery(
                        event: "pull_request_review", id: "demo-\(date)-review-\(review)",
                        body: Self.review(id: id, time: time(10, 18), repository, login, githubID)))
                day.reviews += 1
            }
            if !weekend && random.chance(0.15) {
                let id = Int64(date.daysSinceEpoch) * 10 + 5
                let opened = time(9, 12)
                plan.deliveries.append(
                    Delivery(event: "issues", id: "demo-\(date)-issue-opened", body: issue(id: id, action: "opened", opened: opened, login, githubID))
                )
                day.issuesOpened += 1
                if random.chance(0.5), opened + 3600 < latest {
                    plan.deliveries.append(
                        Delivery(
                            event: "issues", id: "demo-\(date)-issue-closed",
                            body: issue(id: id, action: "closed", opened: opened, closed: opened + 3600, login, githubID)))
                    day.issuesClosed += 1
                }
            }

            // Coding: one to three sessions, a heartbeat every 60–150 s (well inside the 15-minute gap rule), at whole
            // seconds so that the expected totals need no rounding.
            var dayBeats: [String: [Heartbeat]] = [:]
            for session in 0..<random.int(in: 1...3) {
                let repository = random.weighted(repositories)
                let machine = session == 0 ? "laptop" : random.chance(0.5) ? "laptop" : "desk"
                let editor = editors[random.chance(0.7) ? 0 : 1]
                var beat = time(Double(8 + session * 4), Double(10 + session * 4))
                let end = min(latest, beat + random.between(20, 110) * 60)
                let project = String(repository.name.split(separator: "/").last ?? "")
                while beat < end {
                    let file = "/home/\(login.lowercased())/\(project)/src/file\(random.int(in: 1...12)).\(extensionOf(repository.language))"
                    dayBeats[machine, default: []].append(
                        Heartbeat(
                            time: beat.rounded(), entity: file, project: project, branch: "main", language: repository.language,
                            editor: editor, machine: machine))
                    beat += random.between(60, 150)
                }
            }
            for machine in dayBeats.keys.sorted() {
                let beats = dayBeats[machine]!.sorted { $0.time < $1.time }
                heartbeats += beats
                for chunk in stride(from: 0, to: beats.count, by: maxBatch) {
                    plan.heartbeatBatches.append((machine, Array(beats[chunk..<min(beats.count, chunk + maxBatch)])))
                }
            }
            plan.days[date] = day
        }
        // Coding seconds as the hub counts them (the same gap rule over all of a day's heartbeats).
        for slice in CodingDurations.slices(heartbeats, timeout: timeout, timeZone: .gmt) {
            plan.days[slice.date, default: Day()].codingSeconds += Int(slice.seconds.rounded())
        }
        return plan
    }

    /// A commit id made of the text's hash: 40 hex digits, the same on every run.
    static func sha(_ text: String) -> String {
        var random = SeededRandom(seed: text.stableHash)
        return (0..<5).map { _ in String(format: "%08x", UInt32(truncatingIfNeeded: random.next())) }.joined()
    }

    /// The wire body of a heartbeat batch (what the WakaTime CLI sends; the editor is in the user agent).
    static func heartbeatBody(_ heartbeats: [Heartbeat]) -> String {
        let items = heartbeats.map { beat in
            #"{"time":\#(beat.time),"entity":"\#(beat.entity)","type":"file","category":"coding","project":"\#(beat.project)","#
                + #""branch":"main","language":"\#(beat.language)","is_write":true,"user_agent":"\#(beat.editor)"}"#
        }
        return "[\(items.joined(separator: ","))]"
    }

    var totals: Day {
        days.values.reduce(into: Day()) { total, day in
            total.commits += day.commits
            total.prsOpened += day.prsOpened
            total.prsMerged += day.prsMerged
            total.reviews += day.reviews
            total.issuesOpened += day.issuesOpened
            total.issuesClosed += day.issuesClosed
            total.codingSeconds += day.codingSeconds
        }
    }

    private static func extensionOf(_ language: String) -> String {
        ["TypeScript": "ts", "Go": "go", "Swift": "swift", "Shell": "sh"][language] ?? "txt"
    }

    private static func stamp(_ seconds: Double) -> String { Timestamps.format(Date(timeIntervalSince1970: seconds)) }

    private static func repositoryJSON(_ repository: (name: String, language: String, weight: Int)) -> String {
        #"{"full_name":"\#(repository.name)","language":"\#(repository.language)","private":false,"#
            + #""html_url":"https://github.com/\#(repository.name)"}"#
    }

    private static func sender(_ login: String, _ githubID: Int64) -> String {
        #"{"login":"\#(login)","id":\#(githubID),"type":"User"}"#
    }

    private static func push(
        _ commits: [(sha: String, message: String, time: Double)], _ repository: (name: String, language: String, weight: Int), login: String,
        githubID: Int64
    ) -> String {
        let items = commits.map { commit in
            #"{"id":"\#(commit.sha)","distinct":true,"message":"\#(commit.message)","timestamp":"\#(stamp(commit.time))","#
                + #""url":"https://github.com/\#(repository.name)/commit/\#(commit.sha)","#
                + #""author":{"name":"\#(login)","email":"\#(login)@users.noreply.github.com","username":"\#(login)"}}"#
        }
        return #"{"ref":"refs/heads/main","before":"0000000000000000000000000000000000000000","after":"\#(commits.last!.sha)","#
            + #""created":false,"deleted":false,"forced":false,"commits":[\#(items.joined(separator: ","))],"#
            + #""pusher":{"name":"\#(login)","email":"\#(login)@users.noreply.github.com"},"#
            + #""repository":\#(repositoryJSON(repository)),"sender":\#(sender(login, githubID))}"#
    }

    private static func pullRequest(
        id: Int64, action: String, title: String, opened: Double, merged: Double?, _ repository: (name: String, language: String, weight: Int),
        _ login: String, _ githubID: Int64
    ) -> String {
        let number = id % 10_000
        let mergedFields =
            merged.map { #""merged":true,"merged_at":"\#(stamp($0))","closed_at":"\#(stamp($0))""# } ?? #""merged":false,"merged_at":null"#
        return #"{"action":"\#(action)","number":\#(number),"pull_request":{"id":\#(id),"number":\#(number),"title":"\#(title)","#
            + #""html_url":"https://github.com/\#(repository.name)/pull/\#(number)","user":\#(sender(login, githubID)),"#
            + #""created_at":"\#(stamp(opened))",\#(mergedFields)},"repository":\#(repositoryJSON(repository)),"sender":\#(sender(login, githubID))}"#
    }

    private static func review(
        id: Int64, time: Double, _ repository: (name: String, language: String, weight: Int), _ login: String, _ githubID: Int64
    ) -> String {
        let number = id % 10_000
        return #"{"action":"submitted","review":{"id":\#(id),"user":{"login":"\#(login)","id":\#(githubID),"type":"User"},"#
            + #""submitted_at":"\#(stamp(time))","state":"approved","html_url":"https://github.com/\#(repository.name)/pull/\#(number)"},"#
            + #""pull_request":{"title":"Review: \#(messages[Int(id % Int64(messages.count))])"},"#
            + #""repository":\#(repositoryJSON(repository)),"sender":\#(sender(login, githubID))}"#
    }

    private static func issue(id: Int64, action: String, opened: Double, closed: Double? = nil, _ login: String, _ githubID: Int64) -> String {
        let number = id % 10_000
        let closedField = closed.map { #""closed_at":"\#(stamp($0))""# } ?? #""closed_at":null"#
        return #"{"action":"\#(action)","issue":{"id":\#(id),"number":\#(number),"title":"Calendar shows the wrong week","#
            + #""html_url":"https://github.com/octo-org/dashboard/issues/\#(number)","user":\#(sender(login, githubID)),"#
            + #""created_at":"\#(stamp(opened))",\#(closedField)},"#
            + #""repository":\#(repositoryJSON(repositories[0])),"sender":\#(sender(login, githubID))}"#
    }
}

extension SeededRandom {
    /// One of the demo's repositories, by weight.
    fileprivate mutating func weighted(
        _ items: [(name: String, language: String, weight: Int)]
    ) -> (name: String, language: String, weight: Int) {
        var pick = int(in: 0...(items.reduce(0) { $0 + $1.weight } - 1))
        for item in items {
            pick -= item.weight
            if pick < 0 { return item }
        }
        return items[0]
    }
}

extension String {
    /// FNV-1a of the UTF-8 bytes: Swift's `hashValue` is seeded per process, and the plan must not be.
    fileprivate var stableHash: UInt64 {
        utf8.reduce(0xcbf2_9ce4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
    }
}
