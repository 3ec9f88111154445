import DevTrackHTTP
import HTTPTypes
import Testing

/// `HTTPFields.value(of:)` answers exactly as `HTTPFields[name]` does, for every shape of header a client can send.
struct HeaderValueTests {
    @Test(arguments: [
        [("X-GitHub-Event", "push")],
        [("x-github-event", "push"), ("Content-Type", "application/json")],
        [("X-GitHub-Event", "push"), ("X-GitHub-Event", "issues"), ("X-GitHub-Event", "")],
        [("Content-Type", "application/json")],
        [("Cookie", "a=1"), ("Cookie", "b=2")],
        [],
    ])
    func matchesTheFieldsSubscript(_ fields: [(String, String)]) throws {
        var headers = HTTPFields()
        for (name, value) in fields { headers.append(HTTPField(name: try #require(HTTPField.Name(name)), value: value)) }
        for name in [try #require(HTTPField.Name("X-GitHub-Event")), .contentType, .cookie] {
            #expect(headers.value(of: name) == headers[name], "\(name) in \(fields)")
        }
    }

    @Test func joinsRepeatedFieldsInOrder() throws {
        let event = try #require(HTTPField.Name("X-GitHub-Event"))
        let headers: HTTPFields = [event: "push", .contentType: "text/plain", event: "issues"]
        #expect(headers.value(of: event) == "push, issues")
        #expect(headers.value(of: .authorization) == nil)
    }
}
