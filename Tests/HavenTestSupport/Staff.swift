import Foundation
public import HavenProtocol
import HavenClient
import HavenServer
import HavenStore
public import Sodium

extension TestServer {
    /// What `haven invite create` does: signs an invite with `organisation` and records it in
    /// this server's database. Returns its id and the link fragment.
    public func invite(
        _ role: StaffRole, organisation: SigningKeyPair, expiresIn: Int64 = 3600, staffFor: Int64 = 90 * 86_400
    ) throws -> (id: [UInt8], link: String) {
        let now = Int64(Date().timeIntervalSince1970)
        let (certificate, seed) = try InviteCertificate.issue(
            role: role, expiresAt: UInt64(now + expiresIn), staffUntil: UInt64(now + staffFor), organisation: organisation)
        let store = try HavenStore(server.configuration.storeLocation)
        defer { store.close() }
        let id = certificate.id.bytes
        let stored = FrameCodec.encodeValue(certificate)
        try store.performAndWait {
            try $0.createInvite(id: id, role: role.rawValue, certificate: stored, note: "test", now: now, expiresAt: now + expiresIn)
        }
        return (id, InviteLink.fragment(id: id, seed: seed))
    }

    /// A connected client that redeemed an invite for `role`.
    public func staffClient(_ role: StaffRole, _ name: String, organisation: SigningKeyPair, loop: ClientLoop) async throws -> TestClient {
        let link = try invite(role, organisation: organisation).link
        let client = try TestClient(name, loop: loop.loop, organisation: organisation.publicKey)
        try await client.connect(self)
        _ = try await client.client.redeemInvite(link, organisation: organisation.publicKey)
        return client
    }
}
