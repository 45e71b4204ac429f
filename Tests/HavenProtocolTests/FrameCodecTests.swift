import Foundation
import HavenProtocol
import Sodium
import Testing

@Suite struct FrameCodecTests {
    let fixtures: Fixtures
    init() throws { fixtures = try Fixtures() }

    func everyFrame() throws -> [Frame] {
        let challenge = AuthChallenge(server: "haven.example")
        let alice = MemberID(fixtures.alice)
        let envelope = try fixtures.envelope()
        let bundle = try EpochKeyBundle.seal(fixtures.key, to: MemberID(fixtures.bob), by: fixtures.alice)
        let direct = try DirectMessage.seal(MessageBody(text: "hi"), from: fixtures.alice, to: MemberID(fixtures.bob))
        let organisation = try SigningKeyPair.generate()
        let (invite, seed) = try InviteCertificate.issue(role: .counsellor, expiresAt: 1_900_000_000, staffUntil: 1_900_000_000, organisation: organisation)
        let staff = try StaffCertificate.redeem(invite, seed: seed, member: alice)
        return [
            .getInvite(InviteRequest(id: invite.id)),
            .invite(InviteFrame(certificate: invite)),
            .redeemInvite(StaffFrame(certificate: staff)),
            .certified(StaffFrame(certificate: staff)),
            .challenge(challenge),
            .auth(challenge.respond(identity: fixtures.alice, displayName: "Quiet Otter")),
            .welcome(Welcome(member: alice)),
            .listRooms(NoFields()),
            .rooms(RoomList(rooms: [RoomInfo(room: fixtures.room, name: "Night owls", kind: "support", online: 4)])),
            .join(JoinRequest(room: fixtures.room, after: 12)),
            .joined(Joined(
                room: fixtures.room, epoch: 3, members: [MemberInfo(member: alice, displayName: "Quiet Otter")], keyHolders: [alice])),
            .leave(RoomRef(room: fixtures.room)),
            .memberJoined(MemberJoined(room: fixtures.room, member: MemberInfo(member: alice, displayName: "Quiet Otter"), holdsKey: false)),
            .memberLeft(MemberLeft(room: fixtures.room, member: alice)),
            .synced(Synced(room: fixtures.room, cursor: 17)),
            .synced(Synced(room: nil, cursor: 4)),
            .send(EnvelopeFrame(envelope: envelope)),
            .ack(Ack(id: envelope.id, cursor: 17)),
            .message(EnvelopeFrame(envelope: envelope, cursor: 17)),
            .keyBundle(KeyBundleFrame(bundle: bundle)),
            .direct(DirectFrame(message: direct, cursor: 4)),
            .syncDirect(DirectSyncRequest(after: 3)),
            .error(ErrorFrame(.frankingMismatch, id: envelope.id)),
            .callSignal(try CallFrame.seal(
                CallSignal(call: WireBytes([UInt8](repeating: 7, count: 16)), kind: .hangup), from: fixtures.alice, to: MemberID(fixtures.bob))),
            .callPreferences(CallPreferences(acceptCalls: false, offerCalls: false)),
            .callAvailability(CallAvailability(member: alice, offersCalls: true)),
            .callEnded(CallEnded(call: WireBytes([UInt8](repeating: 7, count: 16)), reason: "no_answer")),
        ]
    }

    @Test func everyFrameTypeRoundTrips() throws {
        let frames = try everyFrame()
        #expect(Set(frames.map(\.type)).count == 26)
        for frame in frames {
            #expect(try FrameCodec.decode(FrameCodec.encode(frame)) == frame, "\(frame.type)")
        }
    }

    @Test func framesCarryVersionAndTypeBesideTheFields() throws {
        let text = String(decoding: FrameCodec.encode(.join(JoinRequest(room: fixtures.room))), as: UTF8.self)
        #expect(text == #"{"room":"night-owls","type":"join","v":1}"#)
    }

    @Test func deliveryFramesBuiltAroundStoredBytesMatchTheEncoder() throws {
        let envelope = try fixtures.envelope()
        let stored = FrameCodec.encodeValue(envelope)
        #expect(FrameCodec.deliveryFrame(.roomMessage, stored: stored, cursor: 9_007_199_254_740_991)
                == FrameCodec.encode(.message(EnvelopeFrame(envelope: envelope, cursor: 9_007_199_254_740_991))))
        let direct = try DirectMessage.seal(MessageBody(text: "hi"), from: fixtures.alice, to: MemberID(fixtures.bob))
        let built = FrameCodec.deliveryFrame(.directMessage, stored: FrameCodec.encodeValue(direct), cursor: 0)
        #expect(built == FrameCodec.encode(.direct(DirectFrame(message: direct, cursor: 0))))
        #expect(try FrameCodec.decode(built) == .direct(DirectFrame(message: direct, cursor: 0)))
    }

    @Test func oversizedFrameIsRefusedBeforeParsing() {
        let bytes = [UInt8](repeating: 0x20, count: ProtocolLimits.maxFrameBytes + 1)
        #expect(throws: ProtocolError.frameTooLarge(size: bytes.count, limit: ProtocolLimits.maxFrameBytes)) {
            try FrameCodec.decode(bytes)
        }
    }

    @Test func errorsNameTheFieldButNotItsValue() throws {
        let frame = #"{"v":1,"type":"send","envelope":{"sender":"secret-looking!"}}"#
        let error = #expect(throws: ProtocolError.self) { try FrameCodec.decode(Array(frame.utf8)) }
        #expect(error?.description.contains("secret-looking") == false)
        #expect(error?.code == "invalid_base64" || error?.code == "missing_field")
    }

    @Test func nestedFieldErrorsGiveTheirPath() {
        let frame = #"{"v":1,"type":"keyBundle","bundle":{"room":"a","epoch":1}}"#
        #expect(throws: ProtocolError.missingField("bundle.recipient")) { try FrameCodec.decode(Array(frame.utf8)) }
    }

    @Test(arguments: ["", " ", "\u{7}name", String(repeating: "é", count: 33)])
    func badDisplayNamesAreRefused(_ name: String) {
        #expect(throws: ProtocolError.self) { try DisplayName.validate(name) }
    }

    /// A right-to-left override can make "Sam\u{202E}rollesnuoc" read as a counsellor; a zero-width
    /// character hides in a copied name; a check mark passes for the verified badge.
    @Test(arguments: ["Sam \u{202E}rollesnuoc", "Sam\u{200B}", "Sam\u{2066}", "Sam ✓", "Sam ✔", "Sam ✅", "Sam √", "Sam \u{1F5F8}"])
    func namesThatCouldPassForSomeoneElseAreRefused(_ name: String) {
        #expect(throws: ProtocolError.invalidField(
            "displayName", reason: "must not contain invisible formatting characters or check marks, which could pass for a verified badge")) {
            try DisplayName.validate(name)
        }
    }

    @Test(arguments: ["Counsellor Ana", "Sam (counselor)", "STAFF", "the mods", "Admin-Jo", "Verified Helper", "official_support"])
    func namesThatClaimARoleAreRefused(_ name: String) {
        #expect(throws: ProtocolError.invalidField(
            "displayName", reason: "must not contain a word for a role (counsellor, moderator, staff...): the verified badge shows who is staff")) {
            try DisplayName.validateMember(name)
        }
        #expect(throws: ProtocolError.self) { try AuthChallenge(server: "haven").respond(identity: fixtures.alice, displayName: name).validate() }
    }

    /// Vectors/names.json, which the widget's names.js judges alike: look-alike letters, digits,
    /// compatibility forms, marks and fillers do not smuggle a role or a blank name through, and
    /// names in any script (with the joiners Persian and emoji need) pass.
    @Test func theSharedNameCasesAreJudgedAlike() throws {
        struct Names: Decodable { var refused: [String]; var accepted: [String] }
        let url = try #require(Bundle.module.url(forResource: "names", withExtension: "json", subdirectory: "Vectors"))
        let names = try JSONDecoder().decode(Names.self, from: Data(contentsOf: url))
        for name in names.refused { #expect(throws: ProtocolError.self, "\(name.unicodeScalars.map { String($0.value, radix: 16) })") { try DisplayName.validateMember(name) } }
        for name in names.accepted { #expect(throws: Never.self, "\(name)") { try DisplayName.validateMember(name) } }
    }

    @Test func loginSignatureIsBoundToTheChallengeAndServer() throws {
        let challenge = AuthChallenge(server: "haven.example")
        let response = challenge.respond(identity: fixtures.alice, displayName: "Quiet Otter")
        try challenge.verify(response)
        #expect(throws: ProtocolError.signatureInvalid(what: "login")) {
            try AuthChallenge(server: "haven.example").verify(response)
        }
        #expect(throws: ProtocolError.signatureInvalid(what: "login")) {
            try AuthChallenge(nonce: challenge.nonce, server: "evil.example").verify(response)
        }
        var impersonation = response
        impersonation.member = MemberID(fixtures.bob)
        #expect(throws: ProtocolError.signatureInvalid(what: "login")) { try challenge.verify(impersonation) }
    }
}
