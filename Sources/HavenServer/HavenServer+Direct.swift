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
        // A recipient online here is known: the store is asked only about one who is not.
        let online = sessionsByMember[message.recipient] != nil
        // With other nodes, where the message sits in the recipient's stream goes with it, so a
        // node that missed the one before reads the stream instead (read under the write lock
        // every node takes, so it is the message committed just before).
        let clustered = bus != nil
        let append = MessageAppend.direct(recipient: message.recipient.bytes, messageID: message.id.bytes, message: stored, recipientKnown: online)
        storeMessage(from: session, append) { [unowned self] result in
            switch result {
            case .success(nil):
                refuse(session, code: "unknown_recipient", message: "there is no member with this key", id: message.id)
            case .success(let appended?):
                session.talkingTo.insert(message.recipient)
                acknowledge(.success(appended), id: message.id, session: session, showingCursor: false, counting: \.directMessagesStored) { cursor, previous in
                    let frame = FrameCodec.deliveryFrame(.directMessage, stored: stored, cursor: UInt64(cursor))
                    bus?.publish(.direct, key: message.recipient.bytes, cursor: cursor, previous: previous, frame: frame)
                    let recipients = sessionsByMember[message.recipient]?.values.map { $0 } ?? []
                    deliverInOrder(frame, on: .direct(message.recipient), at: cursor, after: clustered ? previous : nil, to: recipients)
                }
            case .failure(let error):
                acknowledge(.failure(error), id: message.id, session: session, counting: \.directMessagesStored) { _, _ in }
            }
        }
    }

    /// Whether one of `member`'s connections wrote privately to `other`: known in memory only,
    /// for as long as that connection is open.
    func hasWritten(_ member: MemberID, to other: MemberID) -> Bool {
        (sessionsByMember[member] ?? [:]).values.contains { $0.talkingTo.contains(other) }
    }
}
