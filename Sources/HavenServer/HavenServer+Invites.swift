import HavenNet
import HavenProtocol
import HavenStore
import Sodium

extension HavenServer {
    /// Answers an invite lookup with its certificate while it is open.
    func lookUpInvite(_ id: WireBytes, session: Session) {
        let now = configuration.now()
        let bytes = id.bytes
        withStore({ try $0.invite(bytes) }) { [unowned self] result in
            guard sessions[session.connection.id] === session else { return }
            guard case .success(let record?) = result else {
                refuse(session, code: "invite_unknown", message: "no such invite")
                return
            }
            let state = record.state(now: now)
            guard state == "open", let certificate = try? FrameCodec.decodeValue(InviteCertificate.self, from: record.certificate) else {
                refuse(session, code: "invite_\(state)", message: "this invite is \(state)")
                return
            }
            send(.invite(InviteFrame(certificate: certificate)), to: session)
        }
    }

    /// Redeems an invite: the certificate must chain to the organisation key, name the logged-in
    /// member, and match the stored invite, which must be open; the store marks it used atomically.
    func redeemInvite(_ certificate: StaffCertificate, session: Session, member: MemberInfo) {
        guard let organisation = configuration.organisationPublicKey else {
            refuse(session, code: "staff_unavailable", message: "this server has no organisation key yet: the operator runs `haven keys init` and restarts `haven serve`")
            return
        }
        guard certificate.member == member.member else {
            refuse(session, code: "sender_mismatch", message: "the certificate names another member")
            return
        }
        let role: StaffRole
        do {
            role = try certificate.verify(organisation: organisation)
        } catch {
            refuse(session, code: error.code, message: error.description)
            return
        }
        let id = certificate.invite.id.bytes
        let expected = FrameCodec.encodeValue(certificate.invite)
        let stored = FrameCodec.encodeValue(certificate)
        let memberBytes = member.member.bytes
        let now = configuration.now()
        withStore({ database -> String? in
            guard let record = try database.invite(id) else { return "unknown" }
            guard record.certificate == expected else { return "unknown" }
            return try database.redeemInvite(id, member: memberBytes, role: role.rawValue, staffCertificate: stored, now: now)
        }) { [unowned self] result in
            guard sessions[session.connection.id] === session else { return }
            switch result {
            case .failure:
                refuse(session, code: "store_failed", message: "the invite could not be redeemed; try again")
            case .success(let state?):
                refuse(session, code: "invite_\(state)", message: "this invite is \(state)")
            case .success(nil):
                counters.invitesRedeemed += 1
                let certified = MemberInfo(member: member.member, displayName: member.displayName, staff: certificate)
                session.state = .authenticated(certified)
                send(.certified(StaffFrame(certificate: certificate)), to: session)
                roleChanged(certified, session: session)
            }
        }
    }
}
