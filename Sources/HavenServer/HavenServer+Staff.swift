import Foundation
import HavenNet
import HavenProtocol
import HavenStore

extension HavenServer {
    /// `info` as the server lets it act now: its staff proof is kept only while the organisation
    /// key and its newest roster say it is staff (not expired, not revoked, its invite bound to
    /// this key). Otherwise the member is a member, here and in what others are sent.
    func currentRole(_ info: MemberInfo) -> MemberInfo {
        guard info.staff != nil || info.appointment != nil else { return info }
        if let staffTrust, staffTrust.role(of: info, at: UInt64(configuration.now())) != nil { return info }
        return MemberInfo(member: info.member, displayName: info.displayName, offersCalls: info.offersCalls)
    }

    /// Reads the roster `haven staff` saved, adopts it if newer, and re-checks everyone online.
    func reloadStaffRoster() {
        guard staffTrust != nil else { return }
        withStore({ try $0.staffRoster() }) { [unowned self] result in
            guard case .success(let saved?) = result else { return }
            adoptStaffRoster(saved.roster)
        }
    }

    /// Adopts a saved roster (JSON) when it verifies and is newer, sends it to every member online,
    /// and takes staff powers from sessions that no longer have them (also at expiry).
    func adoptStaffRoster(_ bytes: [UInt8]?) {
        if let bytes, let roster = try? FrameCodec.decodeValue(StaffRoster.self, from: bytes) {
            do {
                if try staffTrust?.adopt(roster) == true {
                    let frame = Frame.staffRoster(StaffRosterFrame(roster: roster))
                    for session in sessions.values where session.member != nil { send(frame, to: session) }
                }
            } catch {
                ServerLog.warning("the saved staff roster does not verify against organisation.pub: \(error)")
            }
        }
        for session in sessions.values {
            guard let member = session.member, member.staff != nil || member.appointment != nil else { continue }
            let current = currentRole(member)
            guard current != member else { continue }
            session.state = .authenticated(current)
            // A counsellor no more offers no calls: members are told, and cannot ring them as one.
            if session.offersCalls {
                setCallPreferences(CallPreferences(acceptCalls: session.acceptsCalls, offerCalls: false), session: session, member: current)
            }
        }
    }
}
