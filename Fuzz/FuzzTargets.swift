import DevTrackCore
import Foundation

// libFuzzer targets over every parser of outside bytes, in one binary: `FUZZ_TARGET` names the target (see
// `scripts/fuzz`). Each target feeds the bytes to the parser as a request or a peer would send them, and checks
// what must hold whatever the input: no crash or trap (the sanitizer and Swift's own checks), answers within
// their documented ranges, the fast readers agreeing with the general ones.

/// The targets, by name.
let targets: [String: @Sendable ([UInt8]) -> Void] = [
    "github-signature": fuzzGitHubSignature,
    "github-payload": fuzzGitHubPayload,
    "json-peek": fuzzJSONPeek,
    "form-encoding": fuzzFormEncoding,
    "standard-webhooks": fuzzStandardWebhooks,
    "custom-events": fuzzCustomEvents,
    "event-mapping": fuzzEventMapping,
    "heartbeats": fuzzHeartbeats,
    "local-coding-sync": fuzzLocalCodingSync,
    "flat-json": fuzzFlatJSON,
    "peer-answers": fuzzPeerAnswers,
    "activity-fact": fuzzActivityFact,
    "github-answers": fuzzGitHubAnswers,
]

let selected: @Sendable ([UInt8]) -> Void = {
    let name = ProcessInfo.processInfo.environment["FUZZ_TARGET"] ?? ""
    guard let target = targets[name] else {
        FileHandle.standardError.write(Data("FUZZ_TARGET must be one of: \(targets.keys.sorted().joined(separator: ", "))\n".utf8))
        exit(2)
    }
    return target
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    selected(bytes)
    return 0
}

/// libFuzzer's driver, called from the entry point SwiftPM links an executable target to.
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

@_cdecl("devtrack_fuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return runFuzzerDriver(&count, &arguments) { data, size in fuzzOne(data, size) }
}

/// Splits an input into `count` parts at 0xFF bytes (so one input can be several headers and a body).
func parts(_ bytes: [UInt8], _ count: Int) -> [[UInt8]] {
    var result = bytes.split(separator: 0xFF, maxSplits: count - 1, omittingEmptySubsequences: false).map(Array.init)
    while result.count < count { result.append([]) }
    return result
}

func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

let fixedNow = Date(timeIntervalSince1970: 1_800_000_000)

func fuzzGitHubSignature(_ bytes: [UInt8]) {
    let (header, body) = {
        let p = parts(bytes, 2); return (text(p[0]), p[1])
    }()
    let secret = Array("fuzz-secret".utf8)
    _ = GitHubSignature.verify(body: body, header: header, secrets: [secret, Array("other".utf8)])
    precondition(GitHubSignature.verify(body: body, header: GitHubSignature.sign(body: body, secret: secret), secrets: [secret]) == .valid)
}

func fuzzGitHubPayload(_ bytes: [UInt8]) {
    let (event, payload) = {
        let p = parts(bytes, 2); return (text(p[0]), p[1])
    }()
    for name in [event, "push", "pull_request", "pull_request_review", "issues", "issue_comment"] {
        guard let candidates = try? GitHubFactExtractor.candidates(event: name, payload: Data(payload), now: fixedNow) else { continue }
        for candidate in candidates {
            // What is accepted can be stored: checked ids, names and times.
            precondition(InputText.isAcceptable(candidate.id, maxBytes: 250))
            precondition(ActivityTimes.problem(candidate.occurredAt, now: fixedNow) == nil)
        }
    }
}

func fuzzJSONPeek(_ bytes: [UInt8]) {
    _ = try? JSONPeek.integer(at: ["sender", "id"], in: bytes)
    _ = try? JSONPeek.integer(at: ["a"], in: bytes)
}

func fuzzFormEncoding(_ bytes: [UInt8]) {
    _ = FormEncoding.field("payload", in: bytes)
}

func fuzzStandardWebhooks(_ bytes: [UInt8]) {
    let p = parts(bytes, 4)
    let key = Array("0123456789abcdef0123456789abcdef".utf8)
    let verdict = StandardWebhooks.verify(
        id: text(p[0]), timestamp: text(p[1]), signatures: text(p[2]), body: p[3], keys: [key], now: fixedNow)
    if case .stale(let off) = verdict { precondition(off.magnitude > 300) }
    let id = text(p[0])
    if DeliveryIDs.problem(id) == nil, !id.isEmpty {
        let signature = StandardWebhooks.signature(id: id, timestamp: 1_800_000_000, body: p[3], key: key)
        precondition(
            StandardWebhooks.verify(
                id: id, timestamp: "1800000000", signatures: signature, body: p[3], keys: [key], now: fixedNow) == .valid)
    }
}

func fuzzCustomEvents(_ bytes: [UInt8]) {
    guard let events = try? CustomEvent.parse(bytes, now: fixedNow) else { return }
    for event in events {
        precondition(event.value.isFinite && event.value >= 0 && event.value <= CustomEvent.maxValue)
        precondition(ActivityTimes.problem(event.occurredAt, now: fixedNow) == nil)
        for field in [event.repo, event.id].compactMap({ $0 }) { precondition(InputText.isAcceptable(field, maxBytes: CustomEvent.maxTextBytes)) }
    }
}

func fuzzEventMapping(_ bytes: [UInt8]) {
    let p = parts(bytes, 2)
    if let mapping = try? JSONDecoder().decode(EventMapping.self, from: Data(p[0])), (try? mapping.validate()) != nil {
        _ = try? mapping.events(in: p[1], receivedAt: fixedNow)
    }
    for preset in EventMapping.presets.values {
        guard let events = try? preset.events(in: bytes, receivedAt: fixedNow) else { continue }
        for event in events {
            precondition(event.value.isFinite && event.value >= 0)
            for field in [event.repo, event.id].compactMap({ $0 }) { precondition(InputText.isAcceptable(field, maxBytes: CustomEvent.maxTextBytes)) }
        }
    }
}

func fuzzHeartbeats(_ bytes: [UInt8]) {
    let decoder = JSONDecoder()
    let items =
        (try? decoder.decode([HeartbeatInput].self, from: Data(bytes))) ?? (try? decoder.decode(HeartbeatInput.self, from: Data(bytes))).map { [$0] }
        ?? []
    var editors: [String: String] = [:]
    for item in items {
        guard
            case .success(let heartbeat) = item.validated(
                now: fixedNow, maxAge: 30 * 86_400, defaultUserAgent: "wakatime/13.1.0", machine: "fuzz", editors: &editors)
        else { continue }
        for field in [heartbeat.project, heartbeat.branch, heartbeat.language, heartbeat.editor, heartbeat.category] {
            precondition(InputText.isAcceptable(field, maxBytes: HeartbeatInput.maxNameBytes))
        }
        precondition(InputText.isAcceptable(heartbeat.entity, maxBytes: HeartbeatInput.maxFieldLength))
    }
}

func fuzzLocalCodingSync(_ bytes: [UInt8]) {
    guard case .success(let days) = LocalCodingSync.parse(Data(bytes), now: fixedNow) else { return }
    for day in days { precondition((0...86_400).contains(day.totalSeconds)) }
}

func fuzzFlatJSON(_ bytes: [UInt8]) {
    guard let objects = FlatJSONObject.objects(bytes) else { return }
    // The fast reader accepts only what JSONSerialization accepts too.
    precondition((try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])) != nil, "flat reader accepted invalid JSON")
    _ = objects.count
}

func fuzzPeerAnswers(_ bytes: [UInt8]) {
    let p = parts(bytes, 4)
    let status = Int(p[0].first ?? 0) * 2 + 100
    let headers = [("Retry-After", text(p[1])), ("X-RateLimit-Remaining", "0"), ("X-RateLimit-Reset-After", text(p[2]))]
    switch DiscordAnswer.classify(status: status, headers: headers, body: p[3]) {
    case .delivered(let pause): if let pause { precondition(pause.isFinite && pause >= 0 && pause <= 3600) }
    case .rateLimited(let seconds, _): precondition(seconds.isFinite && seconds >= 0 && seconds <= 3600)
    default: break
    }
    _ = WebhookAnswer.classify(status: status, headers: headers)
    if let seconds = PeerSeconds.parse(text(p[1])) { _ = PeerSeconds.milliseconds(seconds) }
}

func fuzzActivityFact(_ bytes: [UInt8]) {
    _ = try? FactCoding.decodeFact(bytes, fallback: FactCoding.decoder())
}

/// GitHub's API answers as the sync reads them: the four GraphQL shapes, the REST commits listing, `Link`
/// headers and the sync's saved progress. Whatever GitHub (or something posing as it) answers, the facts made
/// have the webhooks' id forms and storable times, and a next page is a URL the header held.
func fuzzGitHubAnswers(_ bytes: [UInt8]) {
    let p = parts(bytes, 3)
    let user = UUID(uuid: (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16))
    var facts: [ActivityFact] = []
    if let page = try? ContributionAnswers.pullRequests(p[0]) { facts += SyncFacts.pullRequests(page.nodes, userID: user, now: fixedNow) }
    if let page = try? ContributionAnswers.reviews(p[0]) { facts += SyncFacts.reviews(page.nodes, userID: user, now: fixedNow) }
    if let page = try? ContributionAnswers.issues(p[0]) { facts += SyncFacts.issues(page.nodes, userID: user, now: fixedNow) }
    _ = try? ContributionAnswers.commitRepositories(p[0])
    if let items = try? JSONDecoder().decode([GitHubCommitItem].self, from: Data(p[0])) {
        facts += SyncFacts.commits(items, repository: .init(nameWithOwner: "octo/hub", language: nil, commits: 1), userID: user, now: fixedNow)
    }
    for fact in facts {
        let (kind, id) = (fact.id.prefix { $0 != ":" }, fact.id.drop { $0 != ":" }.dropFirst())
        if kind == "commit" {
            precondition(id.count == 40 && id.allSatisfy(\.isHexDigit), "a commit fact is named by its SHA")
        } else {
            precondition(["pr_opened", "pr_merged", "review", "issue_opened"].contains(kind) && Int64(id).map { $0 > 0 } == true)
        }
        precondition(ActivityTimes.problem(fact.occurredAt, now: fixedNow) == nil && fact.userID == user)
        precondition(InputText.problem(fact.repo ?? "", maxBytes: 255) == nil)
    }
    let link = text(p[1])
    if let next = GitHubLinks.next(link) { precondition(link.contains(next)) }
    if let progress = SyncProgress.from(json: text(p[2])) {
        var progress = progress
        for _ in 0..<(progress.repositories.count + 6) { progress.finishPage(next: nil) }
        precondition(progress.step == .done, "every run ends")
        _ = progress.commitsPath(login: "octocat")
    }
}
