import Foundation
import HavenNet
import HavenProtocol
import HavenStore

extension HavenServer {
    /// How often staff online and private rooms' key holders are checked for expiry.
    static let staffSweepMilliseconds: UInt64 = 60_000

    /// `info` as the server lets it act now: its staff proof is kept only while the organisation
    /// key and its newest roster say it is staff (not expired, not revoked, its invite bound to
    /// this key). Otherwise the member is a member, here and in what others are sent.
    func currentRole(_ info: MemberInfo) -> MemberInfo {
        guard info.staff != nil || info.appointment != nil else { return info }
        if let staffTrust, staffTrust.role(of: info, at: UInt64(configuration.now())) != nil { return info }
        return MemberInfo(member: info.member, displayName: info.displayName, offersCalls: info.offersCalls)
    }

    /// Whether `member`'s place in a private room rests on staff grounds (their own proof, or their
    /// admitter's at the admission's time) that no longer hold.
    func hasLapsedGrounds(_ member: MemberID, in room: LiveRoom) -> Bool {
        guard room.mode == .private, let staffTrust, let grounds = room.log.grounds[member] else { return false }
        return staffTrust.role(of: grounds.proof, at: grounds.at ?? UInt64(configuration.now())) == nil
    }

    /// Moves every private room on to a new epoch where someone whose grounds lapsed holds the
    /// key (or wrote it): the members start it, sealed only to those whose grounds hold, as after
    /// a removal.
    func rotateAwayFromLapsedStaff() {
        for room in rooms.values where room.mode == .private {
            let epoch = room.log.currentEpoch?.epoch
            guard let epoch, room.rotatedAwayFromLapsedStaffAt != epoch else { continue }
            let holders = Set(room.keyHolders.members).union([room.log.currentEpoch?.author].compactMap { $0 })
            guard holders.contains(where: { hasLapsedGrounds($0, in: room) }) else { continue }
            room.rotatedAwayFromLapsedStaffAt = epoch
            let id = room.id.value, now = configuration.now()
            withStore({ try $0.advanceEpoch(room: id, now: now) }) { [unowned self] result in
                guard case .success(let next) = result else { return }
                rotate(room.id, to: UInt64(next), without: nil)
            }
        }
    }

    /// Reads the roster `haven staff` saved, adopts it if newer, and re-checks everyone online.
    func reloadStaffRoster() {
        guard staffTrust != nil else { return }
        withStore({ try $0.staffRoster() }) { [unowned self] result in
            guard case .success(let saved) = result else { return }
            // The roster held already is not decoded and verified again every few seconds.
            let unchanged = saved.map { UInt64($0.sequence) == staffTrust?.roster?.sequence } ?? true
            adoptStaffRoster(unchanged ? nil : saved?.roster)
        }
    }

    /// Adopts a saved roster (JSON) when it verifies and is newer, sends it to every member online,
    /// and takes staff powers from sessions that no longer have them. Without a new roster it
    /// looks again only once a minute, for certificates that expired meanwhile: each look verifies
    /// every staff member's chain online and every private room's key holders, on the loop.
    func adoptStaffRoster(_ bytes: [UInt8]?) {
        var changed = false
        if let bytes, let roster = try? FrameCodec.decodeValue(StaffRoster.self, from: bytes) {
            do {
                changed = try staffTrust?.adopt(roster) == true
                if changed {
                    let frame = Frame.staffRoster(StaffRosterFrame(roster: roster))
                    for session in sessions.values where session.member != nil { send(frame, to: session) }
                }
            } catch {
                ServerLog.warning("the saved staff roster does not verify against organisation.pub: \(error)")
            }
        }
        let now = loop.nowMilliseconds
        guard changed || now &- lastStaffSweep >= Self.staffSweepMilliseconds else { return }
        lastStaffSweep = now
        for session in sessions.values {
            guard let member = session.member, member.staff != nil || member.appointment != nil else { continue }
            let current = currentRole(member)
            guard current != member else { continue }
            session.state = .authenticated(current)
            roleChanged(current, session: session)
            // A counsellor no more offers no calls: members are told, and cannot ring them as one.
            if session.offersCalls {
                setCallPreferences(CallPreferences(acceptCalls: session.acceptsCalls, offerCalls: false), session: session, member: current)
            }
        }
        rotateAwayFromLapsedStaff()
    }
}
