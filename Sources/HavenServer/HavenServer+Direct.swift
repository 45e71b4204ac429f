import HavenNet
import HavenProtocol
import HavenStore

extension HavenServer {
    /// Stores a direct message and delivers it to the recipient's sessions: sealed sender and
    /// padded, from a logged-in connection, within the rate limits, and only to an identity that
    /// logged in once, so nobody fills the disk with messages to no one. The sender is known
    /// here, from the connection, only while the message passes through; it is never stored.
    func sendDirectMessage(_ message: DirectMessage, from session: Session, member: MemberInfo, prepared: PreparedMessage) {
        if case .failure(let error) = prepared.check {
            refuse(session, code: error.code, message: error.description, id: message.id)
            return
        }
        // Nobody writes to themselves: it would let a recipient store again, under a new hour, a
        // message that expired, and report it after its time.
        guard message.recipient != member.member else {
            refuse(session, code: "invalid_recipient", message: "a private message goes to someone else", id: message.id)
            return
        }
        // A member who takes private messages only from counsellors still hears from those they
        // wrote to.
        if staffOnlyRecipients.contains(message.recipient), member.staff?.invite.role != .counsellor,
           !hasWritten(message.recipient, to: member.member) {
            refuse(session, code: "not_accepting_messages", message: "this member takes private messages only from counsellors", id: message.id)
            return
        }
        guard allowMessage(session, id: message.id, bytes: message.sealed.bytes.count) else { return }
        let stored = prepared.stored
        let recipient = message.recipient.bytes
        let messageID = message.id.bytes
        let now = configuration.now()
        // A recipient online is known: the store is asked only about one who is not.
        let online = sessionsByMember[message.recipient] != nil
        storeMessage(from: session, { database -> AppendOutcome? in
            guard try online || database.memberExists(recipient) else { return nil }
            return try database.appendDirectMessage(recipient: recipient, messageID: messageID, message: stored, now: now)
        }) { [unowned self] result in
            switch result {
            case .success(nil):
                refuse(session, code: "unknown_recipient", message: "there is no member with this key", id: message.id)
            case .success(let outcome?):
                session.talkingTo.insert(message.recipient)
                acknowledge(.success(outcome), id: message.id, session: session, showingCursor: false) { cursor in
                    deliver(stored, of: message, at: cursor)
                }
            case .failure(let error):
                acknowledge(.failure(error), id: message.id, session: session) { _ in }
            }
        }
    }

    private func deliver(_ stored: [UInt8], of message: DirectMessage, at cursor: Int64) {
        counters.directMessagesStored += 1
        guard let recipients = sessionsByMember[message.recipient] else { return }
        let frame = frames.textFrame(FrameCodec.deliveryFrame(.directMessage, stored: stored, cursor: UInt64(cursor)))
        deliverLive(frame, cursor: cursor, to: recipients.values, on: .direct(message.recipient))
    }

    /// Whether one of `member`'s connections wrote privately to `other`: known in memory only,
    /// for as long as that connection is open.
    func hasWritten(_ member: MemberID, to other: MemberID) -> Bool {
        (sessionsByMember[member] ?? [:]).values.contains { $0.talkingTo.contains(other) }
    }
}
