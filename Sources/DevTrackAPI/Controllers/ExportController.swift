import DevTrackCore
import DevTrackHTTP
import DevTrackStore
import Foundation
import HTTPTypes
import Hummingbird
import Synchronization

/// Data exports (`/api/v1/export`): everything the hub holds about the signed-in user, as NDJSON. Making one counts
/// the rows of each section; its download streams them from PostgreSQL as they are read, so its size is not bounded by
/// memory. A user keeps at most `maxLiveExports` downloadable exports (each for `lifetime`); each api process streams at
/// most `maxConcurrentDownloads` at once, since each holds a PostgreSQL connection for its length.
struct ExportController: Sendable {
    let exports: ExportRepository
    let downloads: DownloadSlots
    static let lifetime: Duration = .seconds(24 * 3600)
    static let maxLiveExports = 3
    static let maxConcurrentDownloads = 2
    /// The first line's `format`: a reader can tell which layout it reads.
    static let format = "devtrack-export/1"

    init(exports: ExportRepository) {
        self.exports = exports
        self.downloads = DownloadSlots(limit: Self.maxConcurrentDownloads)
    }

    func addRoutes(to v1: RouterGroup<APIRequestContext>) {
        v1.post("/export") { request, context in
            let user = try context.user
            switch try await exports.createExport(userID: user.id, lifetime: Self.lifetime, limit: Self.maxLiveExports) {
            case .created(let record):
                return try JSONResponse.make(ExportBody(record), status: .accepted)
            case .limitReached(let nextAt):
                let wait = max(1, Int(nextAt.timeIntervalSinceNow.rounded(.up)))
                throw HubHTTPError(
                    .tooManyRequests, code: "export_limit",
                    """
                    at most \(Self.maxLiveExports) exports may be downloadable at once; the oldest expires at \(Timestamps.format(nextAt)) \
                    (an export can be downloaded for 24 hours), then another can be made
                    """,
                    headers: [.retryAfter: String(wait)])
            case nil:
                throw HubHTTPError.unauthorized("the account no longer exists")
            }
        }
        v1.get("/export/{id}") { request, context in
            let user = try context.user
            return try JSONResponse.make(ExportBody(try await record(context, of: user)))
        }
        v1.get("/export/{id}/download") { request, context in
            let user = try context.user
            let record = try await record(context, of: user)
            guard downloads.take() else {
                throw HubHTTPError(
                    .tooManyRequests, code: "export_busy", "other exports are being downloaded from this server; retry shortly",
                    headers: [.retryAfter: "10"])
            }
            let day = String(Timestamps.format(record.createdAt).prefix(10))
            let (exports, downloads) = (exports, downloads)
            let header = try Self.line(
                ExportHeader(
                    type: "export", format: Self.format, id: record.id.uuidString.lowercased(), createdAt: Timestamps.format(record.createdAt),
                    login: user.login, sections: record.rows.map(\.section)))
            let body = ResponseBody { writer in
                defer { downloads.give() }
                try await writer.write(header)
                let counts = try await exports.writeRows(of: record.id, userID: user.id) { chunk in try await writer.write(chunk) }
                try await writer.write(
                    try Self.line(ExportEnd(type: "end", rows: Dictionary(uniqueKeysWithValues: counts.map { ($0.section, $0.count) }))))
                try await writer.finish(nil)
            }
            return Response(
                status: .ok,
                headers: [
                    .contentType: "application/x-ndjson; charset=utf-8", .cacheControl: "no-store",
                    .contentDisposition: "attachment; filename=\"devtrack-export-\(Self.fileNamePart(user.login))-\(day).ndjson\"",
                ],
                body: body)
        }
    }

    private func record(_ context: APIRequestContext, of user: UserRecord) async throws -> ExportRecord {
        let text = context.parameters.get("id") ?? ""
        guard let id = UUID(uuidString: text), let record = try await exports.export(userID: user.id, id: id) else {
            throw HubHTTPError.notFound("no export \(text) (an export can be downloaded for 24 hours)")
        }
        return record
    }

    /// The login as it can stand in a quoted header value and a file name on any system.
    static func fileNamePart(_ login: String) -> String {
        String(login.unicodeScalars.filter { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "-" || $0 == "_") }.map(Character.init))
    }

    /// One JSON line, keys sorted.
    static func line(_ value: some Encodable) throws -> ByteBuffer {
        var buffer = ByteBuffer(bytes: try JSONResponse.encode(value))
        buffer.writeInteger(UInt8(ascii: "\n"))
        return buffer
    }
}

/// How many downloads this process streams at once.
final class DownloadSlots: Sendable {
    let limit: Int
    private let taken = Mutex(0)

    init(limit: Int) { self.limit = limit }

    func take() -> Bool {
        taken.withLock { count in
            guard count < limit else { return false }
            count += 1
            return true
        }
    }

    func give() { taken.withLock { $0 -= 1 } }
}

struct ExportBody: Encodable {
    let id: String
    let status = "ready"
    let createdAt: String
    let expiresAt: String
    let downloadURL: String
    let rows: [String: Int]

    enum CodingKeys: String, CodingKey {
        case id, status, rows
        case createdAt = "created_at"
        case expiresAt = "expires_at"
        case downloadURL = "download_url"
    }

    init(_ record: ExportRecord) {
        id = record.id.uuidString.lowercased()
        createdAt = Timestamps.format(record.createdAt)
        expiresAt = Timestamps.format(record.expiresAt)
        downloadURL = "/api/v1/export/\(id)/download"
        rows = Dictionary(uniqueKeysWithValues: record.rows.map { ($0.section, $0.count) })
    }
}

struct ExportHeader: Encodable {
    let type: String
    let format: String
    let id: String
    let createdAt: String
    let login: String
    let sections: [String]

    enum CodingKeys: String, CodingKey {
        case type, format, id, login, sections
        case createdAt = "created_at"
    }
}

struct ExportEnd: Encodable {
    let type: String
    let rows: [String: Int]
}
