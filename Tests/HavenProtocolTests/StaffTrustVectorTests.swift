import Foundation
import HavenProtocol
import Sodium
import Testing

/// Tests/HavenProtocolTests/Vectors/staff-trust.json, made by Tests/CrossCheck/make_staff_vectors.py
/// from an independent Python reference, which the widget's staff-trust.js checks too: StaffTrust
/// judges every case alike.
@Suite struct StaffTrustVectorTests {
    struct Case: Decodable {
        var name: String
        var rosters: [StaffRoster]
        var adopted: [Bool]
        var noticed: [MemberInfo]
        var info: MemberInfo
        var time: UInt64
        var role: StaffRole?
    }
    struct Vectors: Decodable {
        var organisation: WireBytes
        var cases: [Case]
    }

    @Test func everyCaseIsJudgedAsTheReferenceJudgesIt() throws {
        let url = try #require(Bundle.module.url(forResource: "staff-trust", withExtension: "json", subdirectory: "Vectors"))
        let vectors = try JSONDecoder().decode(Vectors.self, from: Data(contentsOf: url))
        #expect(vectors.cases.count >= 15)
        for item in vectors.cases {
            var trust = StaffTrust(organisation: try SigningPublicKey(bytes: vectors.organisation.bytes))
            let adopted = item.rosters.map { roster in (try? trust.adopt(roster)) ?? false }
            #expect(adopted == item.adopted, "\(item.name): rosters adopted")
            for info in item.noticed { trust.notice(info) }
            #expect(trust.role(of: item.info, at: item.time) == item.role, "\(item.name)")
        }
    }
}
