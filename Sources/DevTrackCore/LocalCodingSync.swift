import Foundation

/// One day's total as the original DevTrack plugin reports it (`{"date","totalSeconds","fileCount"?,
/// "projectCount"?}`), validated.
public struct ReportedCodingDay: Codable, Sendable, Equatable {
    public let date: LocalDate
    public let totalSeconds: Int
    public let fileCount: Int?
    public let projectCount: Int?

    enum CodingKeys: String, CodingKey {
        case date
        case totalSeconds = "total_seconds"
        case fileCount = "file_count"
        case projectCount = "project_count"
    }

    public init(date: LocalDate, totalSeconds: Int, fileCount: Int?, projectCount: Int?) {
        self.date = date
        self.totalSeconds = totalSeconds
        self.fileCount = fileCount
        self.projectCount = projectCount
    }
}

/// The body of `POST /api/local-coding/sync`, checked day by day: 1–100 sessions, real dates from
/// `maxAgeDays` before today to tomorrow (a zone ahead of UTC), seconds within a day. The first problem is
/// reported with the item it is in.
public enum LocalCodingSync {
    public static let maxSessions = 100
    public static let maxAgeDays = 400

    public static func parse(_ body: Data, now: Date = Date()) -> Result<[ReportedCodingDay], HeartbeatRejection> {
        let today = LocalDate(now, in: .gmt)
        let earliest = today.adding(days: -maxAgeDays)
        let latestDay = today.adding(days: 1)
        guard let request = try? JSONDecoder().decode(Body.self, from: body) else {
            return .failure(HeartbeatRejection("body must be a JSON object {\"sessions\": [...]}"))
        }
        guard let sessions = request.sessions else { return .failure(HeartbeatRejection("sessions must be an array")) }
        guard (1...maxSessions).contains(sessions.count) else {
            return .failure(HeartbeatRejection("sessions must hold 1 to \(maxSessions) days, got \(sessions.count)"))
        }
        var latest: [LocalDate: ReportedCodingDay] = [:]
        for (index, session) in sessions.enumerated() {
            guard let session else { return .failure(HeartbeatRejection("sessions[\(index)] must be an object")) }
            guard let text = session.date, let date = LocalDate(text) else {
                return .failure(HeartbeatRejection("sessions[\(index)].date must be a real date as YYYY-MM-DD"))
            }
            guard date >= earliest, date <= latestDay else {
                return .failure(HeartbeatRejection("sessions[\(index)].date must be between \(earliest) and \(latestDay)"))
            }
            guard let seconds = whole(session.totalSeconds), (0...86_400).contains(seconds) else {
                return .failure(HeartbeatRejection("sessions[\(index)].totalSeconds must be a whole number from 0 to 86400"))
            }
            for (field, value) in [("fileCount", session.fileCount), ("projectCount", session.projectCount)] {
                if case .invalid = value { return .failure(HeartbeatRejection("sessions[\(index)].\(field) must be a whole number ≥ 0")) }
            }
            // A day sent twice in one request: the later entry wins, as with separate requests.
            latest[date] = ReportedCodingDay(
                date: date, totalSeconds: seconds, fileCount: session.fileCount.value, projectCount: session.projectCount.value)
        }
        return .success(latest.values.sorted { $0.date < $1.date })
    }

    static func whole(_ value: Double?) -> Int? {
        guard let value, value.isFinite, value == value.rounded(), abs(value) < 1e9 else { return nil }
        return Int(value)
    }

    struct Body: Decodable {
        let sessions: [Session?]?

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Key.self)
            sessions = try? container.decodeIfPresent([Session?].self, forKey: .sessions)
        }
        enum Key: String, CodingKey { case sessions }
    }

    /// One session, every field read leniently so the error can name it.
    struct Session: Decodable {
        enum Count {
            case absent, valid(Int), invalid
            var value: Int? { if case .valid(let count) = self { count } else { nil } }
        }
        let date: String?
        let totalSeconds: Double?
        let fileCount: Count
        let projectCount: Count

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Key.self)
            date = try? container.decodeIfPresent(String.self, forKey: .date)
            totalSeconds = try? container.decodeIfPresent(Double.self, forKey: .totalSeconds)
            func count(_ key: Key) -> Count {
                guard container.contains(key), (try? container.decodeNil(forKey: key)) != true else { return .absent }
                guard let number = try? container.decode(Double.self, forKey: key), let count = LocalCodingSync.whole(number), count >= 0 else {
                    return .invalid
                }
                return .valid(count)
            }
            fileCount = count(.fileCount)
            projectCount = count(.projectCount)
        }
        enum Key: String, CodingKey { case date, totalSeconds, fileCount, projectCount }
    }
}
