import HavenNet
import HavenProtocol
import HavenStore

extension HavenServer {
    func sendDirectMessage(_ message: DirectMessage, from session: Session, member: MemberInfo) {
        guard message.sender == member.member else {
            refuse(session, code: "sender_mismatch", message: "message sender is not the logged-in member", id: message.id)
            return
        }
        guard allowMessage(session, id: message.id) else { return }
        let stored = FrameCodec.encodeValue(message)
        let sender = member.member.bytes
        let recipient = message.recipient.bytes
        let messageID = message.id.bytes
        let now = configuration.now()
        withStore({
            try $0.appendDirectMessage(sender: sender, recipient: recipient, messageID: messageID, message: stored, now: now)
        }) { [unowned self] result in
            acknowledge(result, id: message.id, session: session) { cursor in
                counters.directMessagesStored += 1
                guard let recipients = sessionsByMember[message.recipient],
                      let frame = network?.frames.textFrame(
                          FrameCodec.deliveryFrame(.directMessage, stored: stored, cursor: UInt64(cursor)))
                else { return }
                for recipient in recipients.values {
                    guard var subscription = recipient.direct else { continue }
                    recipient.deliver(frame, cursor: cursor, to: &subscription, limit: configuration.network.maxQueuedBytes)
                    recipient.direct = subscription
                    counters.deliveries += 1
                }
            }
        }
    }
}
