// What this browser believes about staff, as StaffTrust does in Swift: the organisation key the
// page pinned, the newest staff roster the organisation signed, and which key each invite
// certified first. A badge, a call offer or a moderator's action counts only while the chain
// verifies, the member is not revoked, the invite certified no other key, and it has not expired.
export class StaffTrust {
  /** `organisationKey` is the pinned key (bytes) or null, in which case nobody is staff. */
  constructor(protocol, organisationKey, storage) {
    Object.assign(this, { protocol, organisationKey, storage, roster: null, firstCertified: new Map() });
    const saved = JSON.parse(storage.getItem("haven.roster") ?? "null");
    if (saved && protocol.verifyRoster(saved, organisationKey)) this.roster = saved;
  }

  /** Adopts a roster signed by the organisation and newer than the one held; returns whether it changed. */
  adopt(roster) {
    if (!this.protocol.verifyRoster(roster, this.organisationKey)) return false;
    if (this.roster && roster.sequence <= this.roster.sequence) return false;
    this.roster = roster;
    this.storage.setItem("haven.roster", JSON.stringify(roster));
    return true;
  }

  /** True when the roster binds `info`'s own certificate's invite to this very key: a proof that
   *  did not come from the server's member lists (one signed into a private message) counts only
   *  then, so a second key from a used invite cannot claim the invite's place here first. */
  boundByRoster(info) {
    const grant = info.staff && this.roster?.staff.find((entry) => entry.invite === info.staff.invite.id);
    return Boolean(grant && grant.member === info.member && info.staff.member === info.member);
  }

  /** Remembers the first key each verified invite certified. */
  notice(info) {
    for (const staff of [info.staff, info.appointedBy]) {
      if (!staff || this.firstCertified.has(staff.invite.id)) continue;
      if (this.protocol.certificateRole(staff, this.organisationKey)) this.firstCertified.set(staff.invite.id, staff.member);
    }
  }

  /** `info`'s role at `time` (unix seconds): by their certificate, or by appointment; else null. */
  role(info, time = Math.floor(Date.now() / 1000)) {
    if (info.staff && info.staff.member === info.member) {
      const role = this.certificateRole(info.staff, time);
      if (role) return role;
    }
    const { appointment, appointedBy } = info;
    if (!appointment || !appointedBy || appointment.kind !== "appoint" || appointment.target !== info.member) return null;
    if (appointment.moderator !== appointedBy.member || !this.protocol.verifyAction(appointment)) return null;
    return this.certificateRole(appointedBy, time) === "counsellor" && !this.revoked(info.member, time) ? "moderator" : null;
  }

  certificateRole(staff, time) {
    const role = this.protocol.certificateRole(staff, this.organisationKey);
    if (!role || this.revoked(staff.member, time)) return null;
    const grant = this.roster?.staff.find((entry) => entry.invite === staff.invite.id);
    if (grant) return grant.member === staff.member && grant.role === role && time < grant.until ? role : null;
    const first = this.firstCertified.get(staff.invite.id);
    if (first && first !== staff.member) return null;
    return time < staff.invite.staffUntil ? role : null;
  }

  revoked(member, time) {
    const revocation = this.roster?.revoked.find((entry) => entry.member === member);
    return Boolean(revocation) && revocation.since <= time;
  }
}
