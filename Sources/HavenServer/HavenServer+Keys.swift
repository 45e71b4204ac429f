import HavenNet
import HavenProtocol
import HavenStore

extension HavenServer {
    /// Stores an epoch key bundle and delivers it to its recipient's connections in the room.
    ///
    /// In an epoch the room log started, members of the log seal its key to members (clients
    /// check each key against the epoch's signed commitment). In an epoch from before the room had
    /// a log, a member may seal the key to themselves only when nobody holds it yet (that creates
    /// the key); otherwise only a key holder may seal it to others.
    func routeKeyBundle(_ bundle: EpochKeyBundle, from session: Session, member: MemberInfo) {
        guard bundle.sealer == member.member else {
            refuse(session, code: "sender_mismatch", message: "bundle sealer is not the logged-in member", room: bundle.room)
            return
        }
        guard let room = rooms[bundle.room], session.rooms[bundle.room] != nil else {
            refuse(session, code: "not_a_member", message: "join the room before sharing its key", room: bundle.room)
            return
        }
        guard bundle.epoch == room.epoch else {
            refuse(session, code: "stale_epoch", message: "the room is at epoch \(room.epoch)", room: room.id)
            return
        }
        let logged = room.log.currentEpoch?.epoch == room.epoch
        let sealing = room.keyHolders.sealing(by: member.member, to: bundle.recipient, logMembers: logged ? room.log.members : nil)
        if case .refused(let code, let message) = sealing {
            refuse(session, code: code, message: message, room: room.id)
            return
        }
        do {
            try bundle.verifySignature()
        } catch {
            refuse(session, code: error.code, message: error.description, room: room.id)
            return
        }
        if sealing == .creates { room.keyHolders.add(member.member) }
        let stored = FrameCodec.encodeValue(bundle)
        let roomText = room.id.value
        let epoch = Int64(bundle.epoch)
        let recipient = bundle.recipient.bytes
        let sealer = member.member.bytes
        let now = configuration.now()
        withStore({
            try $0.storeKeyBundle(room: roomText, epoch: epoch, recipient: recipient, sealer: sealer, bundle: stored, now: now)
        }) { [unowned self] result in
            guard case .success(true) = result else { return }
            room.take(bundle)
            bus?.publish(.keyBundle, key: Array(room.id.value.utf8), frame: stored)
            // Every member sees every bundle (they are sealed): that is how clients know who holds
            // the key. The sealer gets its own back too, as the sign that the server kept it.
            broadcast(encode(.keyBundle(KeyBundleFrame(bundle: bundle))), to: room.sessions.values)
        }
    }
}
