// Who the people on screen are, as this browser knows them: their names, and their roles as it
// verified them (StaffTrust: a chain to the pinned organisation key, the roster, expiry). Every
// name and badge drawn through here is brought up to date when a name or role is learnt later.
import { t } from "./strings.js";

const roleKeys = { counsellor: "roleCounsellor", moderator: "roleModerator" };

/** A role as the member reads it, in the page's language ("counsellor" in English). */
export function roleName(role) { return Object.hasOwn(roleKeys, role) ? t(roleKeys[role]) : role; }

export class People {
  /** `staff` is the StaffTrust; `me` this member's id; `verifying` whether a key is pinned. */
  constructor({ staff, me, verifying, document }) {
    Object.assign(this, { staff, me, verifying, document, names: new Map(), roles: new Map(), proofs: new Map() });
  }

  /** Takes in a member's proof as relayed (or as signed inside a private message); returns their role now. */
  note(info) {
    this.staff.notice(info);
    this.proofs.set(info.member, info);
    const role = this.staff.role(info);
    if (role) this.roles.set(info.member, role); else this.roles.delete(info.member);
    this.refresh(info.member);
    return role;
  }

  /** Checks every known proof again (a new roster arrived). */
  recheck(noted) { [...this.proofs.values()].forEach(noted); }

  name(member) { return this.names.get(member) ?? t("someone"); }

  setName(member, name) {
    this.names.set(member, name);
    this.refresh(member);
  }

  /** A span with the member's name, kept current. */
  nameLabel(member) {
    const label = Object.assign(this.document.createElement("span"), { className: "name", textContent: this.name(member) });
    label.dataset.member = member;
    return label;
  }

  /** The role badge: "counsellor ✓" for verified staff; "member" when this browser saw who they
   *  are and they are not staff; "not verified" when it cannot tell (no pinned key, or a sender
   *  not seen yet). */
  badge(member) {
    const badge = this.document.createElement("span");
    badge.dataset.member = member;
    this.draw(badge);
    return badge;
  }

  draw(badge) {
    const member = badge.dataset.member;
    const role = this.roles.get(member);
    const known = this.verifying && (this.proofs.has(member) || member === this.me);
    badge.className = role ? "badge" : "badge member";
    const shown = { role: roleName(role) };
    badge.textContent = role ? t("badgeVerifiedRole", shown) : known ? t("badgeMember") : t("badgeNotVerified");
    badge.title = role ? t("badgeVerifiedRoleTitle", shown) : known ? t("badgeMemberTitle") : t("badgeNotVerifiedTitle");
  }

  refresh(member) {
    const selector = `[data-member="${CSS.escape(member)}"]`;
    for (const badge of this.document.querySelectorAll(`.badge${selector}`)) this.draw(badge);
    for (const label of this.document.querySelectorAll(`.name${selector}`)) label.textContent = this.name(member);
  }
}
