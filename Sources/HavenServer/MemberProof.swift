import HavenProtocol
import HavenStore

/// A member's staff proof as the store holds it: their staff certificate, or the appointment
/// that made them a moderator with the appointing counsellor's certificate. Clients verify it
/// against the organisation key; the server only passes it on.
struct MemberProof: Sendable {
    var staff: [UInt8]?
    var appointment: (action: [UInt8], appointerCertificate: [UInt8])?

    /// Reads the proof of `member` (on the store's thread).
    init(member: [UInt8], in database: StoreDatabase) throws {
        staff = try database.staffCertificate(member: member)
        appointment = try database.appointment(member: member)
    }

    /// The member's `MemberInfo` with the proof attached.
    func info(member: MemberID, displayName: String) -> MemberInfo {
        MemberInfo(
            member: member, displayName: displayName, staff: staff.flatMap { try? FrameCodec.decodeValue(StaffCertificate.self, from: $0) },
            appointment: appointment.flatMap { try? FrameCodec.decodeValue(ModerationAction.self, from: $0.action) },
            appointedBy: appointment.flatMap { try? FrameCodec.decodeValue(StaffCertificate.self, from: $0.appointerCertificate) })
    }
}
