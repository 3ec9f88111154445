import DevTrackCore
import DevTrackTestSupport
import Foundation
import Testing

/// `StreakFreezesController`: `POST|GET /streak/freezes`.
@Suite(.timeLimit(.minutes(2)))
struct StreakFreezesRouterTests {
    static let routes = [APIRoute(.post, "/api/v1/streak/freezes"), APIRoute(.get, "/api/v1/streak/freezes")]

    @Test func everyRouteRequiresAValidBearerToken() async throws {
        try await APIRouterTest.run { api in try await expectEveryRouteRequiresAToken(Self.routes, api) }
    }

    @Test func aFreezeNeedsARealDateWithinThirtyDaysOfToday() async throws {
        try await APIRouterTest.run { api in
            let today = APIRouterTest.today
            for body in [
                "{}", #"{"date": null}"#, #"{"date": ""}"#, #"{"date": "yesterday"}"#, #"{"date": "2024-02-30"}"#, #"{"date": "2024-1-1"}"#,
                #"{"date": "0000-01-01"}"#, #"{"date": "2001-01-01"}"#, #"{"date": "9999-12-31"}"#, #"{"date": "\#(today.adding(days: -31))"}"#,
                #"{"date": "\#(today.adding(days: 31))"}"#, #"{"date": "\#(today)T00:00:00Z"}"#,
            ] {
                expectBadRequest(try await api.call(.post, "/api/v1/streak/freezes", body), "invalid_date", naming: "date", body)
            }
            for body in [#"{"date": 20240101}"#, #"{"date": ["2024-01-01"]}"#] {
                expectBadRequest(try await api.call(.post, "/api/v1/streak/freezes", body), "invalid_body", naming: "date", body)
            }
            try await expectMalformedBodiesRefused(.post, "/api/v1/streak/freezes", api)
            try await expectBodyTooLarge(.post, "/api/v1/streak/freezes", api)
            let list = try await api.call(.get, "/api/v1/streak/freezes")
            #expect(list.status == .ok && list.value("freezes", as: [String].self) == [], "nothing refused was stored: \(list)")
        }
    }

    @Test func freezesAreCountedAgainstTheMonthlyAllowance() async throws {
        try await APIRouterTest.run { api in
            let today = APIRouterTest.today
            let (year, month, _) = today.components
            // Days of this month are all within 30 days of today.
            let days = (1...3).map { LocalDate(year: year, month: month, day: $0)! }
            let first = try await api.call(.post, "/api/v1/streak/freezes", #"{"date": "\#(days[0])"}"#)
            #expect(first.status == .created, "\(first)")
            #expect(first.keys() == ["date", "remaining_this_month"], "\(first)")
            #expect(first.value("date", as: String.self) == days[0].description && first.value("remaining_this_month", as: Int.self) == 1)
            let again = try await api.call(.post, "/api/v1/streak/freezes", #"{"date": "\#(days[0])"}"#)
            #expect(again.status == .ok && again.value("remaining_this_month", as: Int.self) == 1, "already frozen: \(again)")
            let second = try await api.call(.post, "/api/v1/streak/freezes", #"{"date": "\#(days[1])"}"#)
            #expect(second.status == .created && second.value("remaining_this_month", as: Int.self) == 0, "\(second)")
            let third = try await api.call(.post, "/api/v1/streak/freezes", #"{"date": "\#(days[2])"}"#)
            expectError(third, .conflict, "freeze_allowance_exhausted", naming: "\(days[2].description.prefix(7))", "a third freeze in a month")
            #expect(try await api.call(.post, "/api/v1/streak/freezes", #"{"date": "\#(days[1])"}"#).status == .ok, "a frozen day stays frozen")

            let list = try await api.call(.get, "/api/v1/streak/freezes")
            #expect(list.status == .ok && list.keys() == ["freezes"], "\(list)")
            #expect(list.value("freezes", as: [String].self) == [days[0].description, days[1].description], "\(list)")
            let other = try await api.newUser("other")
            #expect(try await api.call(.get, "/api/v1/streak/freezes", token: other.token).value("freezes", as: [String].self) == [])
            let theirs = try await api.call(.post, "/api/v1/streak/freezes", #"{"date": "\#(days[2])"}"#, token: other.token)
            #expect(theirs.status == .created, "another user's allowance is their own: \(theirs)")
            // Thirty days either side of today are the limits.
            for day in [today.adding(days: -30), today.adding(days: 30)] {
                let response = try await api.call(.post, "/api/v1/streak/freezes", #"{"date": "\#(day)"}"#, token: other.token)
                #expect(response.status == .created || response.status == .conflict, "\(day) → \(response)")
                #expect(response.errorCode != "invalid_date", "\(day) → \(response)")
            }
        }
    }
}
