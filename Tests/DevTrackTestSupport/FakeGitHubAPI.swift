import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Synchronization

// GitHub's REST and GraphQL API as the fake answers them, behind the same gate as the real one.
extension FakeGitHub {
    // MARK: The API's gate: token, secondary limit, primary limit

    /// Checks an API request as GitHub does, then answers it with `answer` and the rate-limit headers.
    func api(_ request: Request, _ kind: Kind, _ state: inout State, answer: (State, Account) -> Reply) -> Reply {
        let graphQL = kind == .graphql
        guard let token = Self.token(request), let id = state.tokens[token], let account = state.accounts[id] else {
            let message = Self.token(request) == nil ? "Requires authentication" : "Bad credentials"
            return graphQL
                ? .json(.unauthorized, ["message": message, "documentation_url": "https://docs.github.com/graphql"])
                : .json(.unauthorized, ["message": message, "documentation_url": "https://docs.github.com/rest", "status": "401"])
        }
        let resource = graphQL ? "graphql" : "core"
        let now = Date()
        let key = "\(resource) \(token)"
        var budget = state.budgets[key] ?? Budget(resetAt: now)
        if now >= budget.resetAt {
            let seconds = Double(state.resetAfter.components.seconds) + Double(state.resetAfter.components.attoseconds) / 1e18
            budget = Budget(resetAt: Date(timeIntervalSince1970: (now.timeIntervalSince1970 + seconds).rounded(.up)))
        }
        let requestID = [4, 4, 6, 6, 8].map { Self.randomHex(bytes: $0 / 2).uppercased() }.joined(separator: ":")
        let support = "If you reach out to GitHub Support for help, please include the request ID \(requestID)."
        func headers() -> [(String, String)] {
            [
                ("X-RateLimit-Limit", "\(state.limit)"), ("X-RateLimit-Remaining", "\(max(state.limit - budget.used, 0))"),
                ("X-RateLimit-Reset", "\(Int(budget.resetAt.timeIntervalSince1970))"), ("X-RateLimit-Used", "\(budget.used)"),
                ("X-RateLimit-Resource", resource), ("X-GitHub-Request-Id", requestID),
            ]
        }
        state.budgets[key] = budget
        if state.secondary.count > 0 {
            state.secondary.count -= 1
            let documentation =
                graphQL
                ? "https://docs.github.com/graphql/overview/rate-limits-and-node-limits-for-the-graphql-api#secondary-rate-limits"
                : "https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
            let message = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. \(support)"
            return .json(
                .forbidden, ["message": message, "documentation_url": documentation],
                headers: headers() + [("Retry-After", "\(state.secondary.retryAfter)")])
        }
        guard budget.used < state.limit else {
            let message = "API rate limit exceeded for user ID \(account.id)."
            // GraphQL's primary limit is a 200 with an error, REST's a 403 (both with X-RateLimit-Remaining: 0).
            if graphQL { return .json(.ok, ["errors": [["type": "RATE_LIMITED", "message": message]]], headers: headers()) }
            let documentation = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
            return .json(.forbidden, ["message": "\(message) \(support)", "documentation_url": documentation], headers: headers())
        }
        budget.used += 1
        state.budgets[key] = budget
        var reply = answer(state, account)
        reply.headers += headers()
        return reply
    }

    /// `Authorization: Bearer …` or `token …`.
    static func token(_ request: Request) -> String? {
        guard let value = request.headers[.authorization] else { return nil }
        let parts = value.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, ["bearer", "token"].contains(parts[0].lowercased()) else { return nil }
        return String(parts[1])
    }

    // MARK: REST

    static func simpleUser(_ account: Account, base: String) -> [String: Any] {
        [
            "login": account.login, "id": account.id, "node_id": Data("04:User\(account.id)".utf8).base64EncodedString(),
            "avatar_url": "https://avatars.githubusercontent.com/u/\(account.id)?v=4", "gravatar_id": "",
            "url": "\(base)/users/\(account.login)", "html_url": "\(base)/\(account.login)", "type": "User", "site_admin": false,
        ]
    }

    /// `GET /user`, with the token's scopes in `X-OAuth-Scopes`.
    static func profile(_ account: Account, base: String) -> Reply {
        let more: [String: Any] = [
            "name": NSNull(), "company": NSNull(), "blog": "", "location": NSNull(), "email": NSNull(), "bio": NSNull(),
            "public_repos": account.history.repositories.count { !$0.isPrivate }, "followers": 0, "following": 0,
            "created_at": "2011-01-25T18:44:36Z", "updated_at": "2024-06-01T12:00:00Z",
        ]
        let body = simpleUser(account, base: base).merging(more) { first, _ in first }
        return .json(.ok, body, headers: [("X-OAuth-Scopes", account.scopes.joined(separator: ", "))])
    }

    /// `GET /repos/{owner}/{repo}/commits?author&since&until&per_page&page`: newest first, paged with a `Link` header.
    static func commits(_ state: State, repo name: String, request: Request, viewer: Account) -> Reply {
        let documentation = "https://docs.github.com/rest/commits/commits#list-commits"
        let accounts = state.accounts.values.sorted { $0.id < $1.id }
        let named = { (other: String) in other.lowercased() == name.lowercased() }
        let repo =
            accounts.lazy.flatMap(\.history.repositories).first { named($0.nameWithOwner) }
            ?? accounts.lazy.flatMap(\.history.commits).first { named($0.repo) }.map { Repo(nameWithOwner: $0.repo) }
        guard let repo, !repo.isPrivate || viewer.history.repositories.contains(where: { named($0.nameWithOwner) }) else {
            return .json(.notFound, ["message": "Not Found", "documentation_url": documentation, "status": "404"])
        }
        if repo.isEmpty {
            return .json(.conflict, ["message": "Git Repository is empty.", "documentation_url": documentation, "status": "409"])
        }
        let query = request.uri.queryParameters
        var bounds: [String: Date] = [:]
        for bound in ["since", "until"] {
            guard let text = query[bound[...]] else { continue }
            guard let date = parseDate(String(text)) else {
                return .json(.unprocessableContent, ["message": "Validation Failed", "documentation_url": documentation, "status": "422"])
            }
            bounds[bound] = date
        }
        let author = query["author"].map { $0.lowercased() }
        var items: [(Account, Commit)] = []
        for account in accounts where author == nil || account.login.lowercased() == author {
            for commit in account.history.commits where named(commit.repo) {
                if let since = bounds["since"], commit.date < since { continue }
                if let until = bounds["until"], commit.date > until { continue }
                items.append((account, commit))
            }
        }
        items.sort { ($0.1.date, $0.1.sha) > ($1.1.date, $1.1.sha) }
        let perPage = query["per_page"].flatMap { Int($0) }.map { min(max($0, 1), 100) } ?? 30
        let page = max(query["page"].flatMap { Int($0) } ?? 1, 1)
        let lastPage = max((items.count + perPage - 1) / perPage, 1)
        let base = state.baseURL
        let body = items.dropFirst((page - 1) * perPage).prefix(perPage).map { account, commit -> [String: Any] in
            let url = "\(base)/repos/\(repo.nameWithOwner)/commits/\(commit.sha)"
            let signature = ["name": account.login, "email": "\(account.id)+\(account.login)@users.noreply.github.com", "date": format(commit.date)]
            let details: [String: Any] = [
                "author": signature, "committer": signature, "message": "Change \(commit.sha.prefix(7))", "comment_count": 0,
                "url": "\(base)/repos/\(repo.nameWithOwner)/git/commits/\(commit.sha)",
                "verification": ["verified": false, "reason": "unsigned", "signature": NSNull(), "payload": NSNull(), "verified_at": NSNull()],
            ]
            return [
                "sha": commit.sha, "node_id": Data("06:Commit\(repo.nameWithOwner):\(commit.sha)".utf8).base64EncodedString(),
                "commit": details, "url": url, "html_url": "\(base)/\(repo.nameWithOwner)/commit/\(commit.sha)", "comments_url": "\(url)/comments",
                "author": simpleUser(account, base: base), "committer": simpleUser(account, base: base), "parents": [Any](),
            ]
        }
        // The request's own query with another page, in GitHub's order of relations.
        let kept = (request.uri.query ?? "").split(separator: "&").filter { !$0.hasPrefix("page=") }
        func link(_ page: Int, _ relation: String) -> String {
            "<\(base)/repos/\(repo.nameWithOwner)/commits?\((kept + ["page=\(page)"]).joined(separator: "&"))>; rel=\"\(relation)\""
        }
        var links: [String] = []
        if page > 1 { links.append(link(page - 1, "prev")) }
        if page < lastPage { links += [link(page + 1, "next"), link(lastPage, "last")] }
        if page > 1 { links.append(link(1, "first")) }
        return .json(.ok, body, headers: links.isEmpty ? [] : [("Link", links.joined(separator: ", "))])
    }

    // MARK: GraphQL

    /// The hub's operations, by name.
    enum Operation: String {
        case commitRepositories = "CommitRepositories"
        case pullRequests = "PullRequestContributions"
        case reviews = "ReviewContributions"
        case issues = "IssueContributions"
    }

    /// Answers one of the hub's queries with exactly the fields it asks for, from the window's contributions.
    static func graphQL(_ body: [UInt8], history: History) -> Reply {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any], let query = object["query"] as? String else {
            return .json(.badRequest, ["message": "Problems parsing JSON", "documentation_url": "https://docs.github.com/graphql"])
        }
        let variables = object["variables"] as? [String: Any] ?? [:]
        guard let name = query.firstMatch(of: /query\s+(\w+)/)?.1, let operation = Operation(rawValue: String(name)) else {
            return .json(.ok, ["errors": [["message": "unknown operation (the fake answers only the hub's queries)"]]])
        }
        for variable in ["from", "to"] where (variables[variable] as? String).flatMap(parseDate) == nil {
            return .json(.ok, ["errors": [["message": "Variable $\(variable) of type DateTime! was provided invalid value"]]])
        }
        let from = parseDate(variables["from"] as! String)!
        let to = parseDate(variables["to"] as! String)!
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        // GitHub does not document where the year ends; a calendar year, leap day included, is accepted.
        guard to <= calendar.date(byAdding: .year, value: 1, to: from)! else {
            return error(
                "The total time spanned by 'from' and 'to' must not exceed 1 year", path: ["viewer", "contributionsCollection"], query: query)
        }
        let within = { (date: Date) in date >= from && date <= to }
        let repositories = Dictionary(history.repositories.map { ($0.nameWithOwner, $0) }) { first, _ in first }
        func repository(_ name: String) -> [String: Any] {
            let repo = repositories[name] ?? Repo(nameWithOwner: name)
            return ["nameWithOwner": name, "isPrivate": repo.isPrivate, "primaryLanguage": repo.language.map { ["name": $0] as Any } ?? NSNull()]
        }
        let field: String
        let nodes: [[String: Any]]
        switch operation {
        case .commitRepositories:
            let counts = Dictionary(grouping: history.commits.filter { within($0.date) }, by: \.repo).mapValues(\.count)
            let ranked = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(100)
            let list: [[String: Any]] = ranked.map { ["repository": repository($0.key), "contributions": ["totalCount": $0.value]] }
            return .json(.ok, ["data": ["viewer": ["contributionsCollection": ["commitContributionsByRepository": list]]]])
        case .pullRequests:
            field = "pullRequestContributions"
            nodes = history.pullRequests.filter { within($0.createdAt) }.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }.map {
                let pullRequest: [String: Any] = [
                    "fullDatabaseId": String($0.id), "title": "Pull request \($0.id)", "url": "https://github.com/\($0.repo)/pull/\($0.id)",
                    "createdAt": format($0.createdAt), "merged": $0.mergedAt != nil,
                    "mergedAt": $0.mergedAt.map { format($0) as Any } ?? NSNull(), "repository": repository($0.repo),
                ]
                return ["pullRequest": pullRequest]
            }
        case .reviews:
            field = "pullRequestReviewContributions"
            nodes = history.reviews.filter { within($0.submittedAt) }.sorted { ($0.submittedAt, $0.id) < ($1.submittedAt, $1.id) }.map {
                let review: [String: Any] = [
                    "fullDatabaseId": String($0.id), "url": "https://github.com/\($0.repo)/pull/1#pullrequestreview-\($0.id)",
                    "submittedAt": format($0.submittedAt), "createdAt": format($0.submittedAt), "pullRequest": ["title": "Reviewed change"],
                ]
                return ["pullRequestReview": review, "repository": repository($0.repo)]
            }
        case .issues:
            field = "issueContributions"
            nodes = history.issues.filter { within($0.createdAt) }.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }.map {
                let issue: [String: Any] = [
                    "fullDatabaseId": String($0.id), "title": "Issue \($0.id)", "url": "https://github.com/\($0.repo)/issues/\($0.id)",
                    "createdAt": format($0.createdAt), "repository": repository($0.repo),
                ]
                return ["issue": issue]
            }
        }
        // Pages of 100 (what the hub's queries ask); a cursor is the position after its page, base64 like GitHub's.
        var start = 0
        if let after = variables["after"] as? String {
            guard let decoded = Data(base64Encoded: after).map({ String(decoding: $0, as: UTF8.self) }), decoded.hasPrefix("cursor:v2:"),
                let offset = Int(decoded.dropFirst(10)), offset >= 0
            else {
                return error("`\(after)` does not appear to be a valid cursor.", path: ["viewer", "contributionsCollection", field], query: query)
            }
            start = offset
        }
        let page = Array(nodes.dropFirst(start).prefix(100))
        let end = start + page.count
        let pageInfo: [String: Any] = [
            "hasNextPage": end < nodes.count, "endCursor": page.isEmpty ? NSNull() : Data("cursor:v2:\(end)".utf8).base64EncodedString() as Any,
        ]
        return .json(.ok, ["data": ["viewer": ["contributionsCollection": [field: ["pageInfo": pageInfo, "nodes": page]]]]])
    }

    /// A GraphQL error on `path` (its last field located in `query`), with `data: null` as the non-null `viewer` gives.
    static func error(_ message: String, path: [String], query: String) -> Reply {
        var location: [String: Int] = [:]
        if let found = query.range(of: path.last!) {
            let before = query[..<found.lowerBound]
            let lineStart = before.lastIndex(of: "\n").map { query.index(after: $0) } ?? query.startIndex
            location = ["line": before.count { $0 == "\n" } + 1, "column": query.distance(from: lineStart, to: found.lowerBound) + 1]
        }
        return .json(.ok, ["data": NSNull(), "errors": [["message": message, "path": path, "locations": location.isEmpty ? [] : [location]]]])
    }

    // MARK: Formats

    /// GitHub's timestamps: `2024-03-10T18:29:59Z`.
    static func format(_ date: Date) -> String { date.formatted(.iso8601) }

    /// ISO 8601, with or without fractional seconds.
    static func parseDate(_ text: String) -> Date? {
        (try? Date.ISO8601FormatStyle().parse(text)) ?? (try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text))
    }

    static func randomHex(bytes: Int) -> String {
        (0..<bytes).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
    }

    static func newToken() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        return "gho_" + String((0..<36).map { _ in alphabet.randomElement()! })
    }

    static func formEscaped(_ value: String) -> String {
        var allowed = CharacterSet.alphanumerics.intersection(CharacterSet(charactersIn: Unicode.Scalar(0)...Unicode.Scalar(127)))
        allowed.insert(charactersIn: "-._~ ")
        return value.addingPercentEncoding(withAllowedCharacters: allowed)!.replacingOccurrences(of: " ", with: "+")
    }
}
