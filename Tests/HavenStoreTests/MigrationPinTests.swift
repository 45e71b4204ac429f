import Foundation
@testable import HavenStore
import Sodium
import Testing

/// A shipped migration's text never changes: a restore compares an older backup's schema with the
/// one these migrations make for its version, and a database migrated step by step must match one
/// made fresh. A change to the schema is a new migration, appended, with its digest added here.
@Suite struct MigrationPinTests {
    static let shipped: [String] = [
        "1cbe718b5e0cee115eca0c14c7504f423337a64b51ed6f5d4770e7c61de8a929",  // 1
        "986a36648fafb44c2a915960c9ecba335be3c7094a81d4bf15273671b1dd242b",  // 2
        "4c2b8c0585199265dbf1ddd8115158b47865ef20dd089bdf05a4d6ac809a4bc2",  // 3
        "cbae19ce6509b2420fddab21109734e419d18fb3939e2737753bc0cca89d1bb1",  // 4
        "e055ba5c1b93a1338f3479032e777d90cc74a53ccc125eb395b6b3567c5f0550",  // 5
        "5666daa5218c9e7010273bd7aa73ca42a20e03a2e370ebdd20c022d086be86fd",  // 6
        "76d767b60a20da71112ff9cb1e9e6d6bbbbe2547c455afd023a64cf278868ebc",  // 7
        "679bc35410031f3124181b7f0a164701d3753141a9a79bf527ff66971443a45d",  // 8
        "d35a5d655e0f9af79253a634c262fd818ef877e5529de8ad39c3a5b6af8d6c5b",  // 9
        "65682e1cb1aebcc222d341fcb5e315138b46b3c0550edf7a92f54be39cb48387",  // 10
        "b24e42e379e2a71ebbe71dcdb3ea46dbff4383c820d188e7c35a42208793e875",  // 11
        "77d8537e942f2b77b736667e52721d648cf78c42c19f17ee355e7c8e98fb804d",  // 12
        "a0a26576812073ad610d0d063fc6dc88315150f7a2b1429374792550a8e1ccd0",  // 13
        "8e4fcc1e0db6821abad99beef73f831f7a88c893234d45b28bbfeb0ceb48c408",  // 14
        "2b3364e431a8e239f5e2270295aa934247a375b5739eba1592544162bec3332a",  // 15
        "e8d06cef98b3021012ffc9780cef2ef07b9071f66ced704519276374138970f7",  // 16
        "aae844d662eae2cafeb59c66f064050789c4257e258e1fbe173ca2500953f8b8",  // 17
    ]

    @Test func everyShippedMigrationIsAsItShipped() {
        let digests = Migrations.all.map { SHA2.sha256(Array($0.utf8)).map { String(format: "%02x", $0) }.joined() }
        #expect(digests.count >= Self.shipped.count, "a shipped migration was removed")
        for (index, digest) in Self.shipped.enumerated() where index < digests.count {
            #expect(digests[index] == digest, "migration \(index + 1) changed since it shipped: add a new migration instead")
        }
        #expect(digests.count == Self.shipped.count, "a new migration: add its digest here once it ships: \(digests.dropFirst(Self.shipped.count))")
    }
}
