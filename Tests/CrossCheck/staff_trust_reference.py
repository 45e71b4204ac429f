"""Staff status at a time, independently of the Swift StaffTrust and the widget's staff-trust.js
(docs/crypto.md, "Staff lifecycle"): the chain to the organisation key, the roster's renewals,
revocations and invite bindings, and the first key seen per invite."""
from haven_reference import Canonical, unb64, verify
from room_log_reference import action_verifies, staff_role

LABEL_ROSTER = "haven/v1/staff-roster"


def roster_signed_bytes(roster: dict) -> bytes:
    bytes_ = Canonical(LABEL_ROSTER).integer(roster["sequence"]).integer(roster["issuedAt"]).integer(len(roster["staff"]))
    for grant in roster["staff"]:
        bytes_.field(unb64(grant["invite"])).field(unb64(grant["member"])).field(grant["role"]).integer(grant["until"])
    bytes_.integer(len(roster["revoked"]))
    for revocation in roster["revoked"]:
        bytes_.field(unb64(revocation["member"])).integer(revocation["since"])
    return bytes_.bytes()


class StaffTrust:
    def __init__(self, organisation: bytes):
        self.organisation = organisation
        self.roster = None
        self.first = {}

    def adopt(self, roster: dict) -> bool:
        """True when `roster` verifies and is newer than the one held (then it is held)."""
        try:
            verify(self.organisation, unb64(roster["signature"]), roster_signed_bytes(roster))
        except Exception:
            return False
        if self.roster is not None and roster["sequence"] <= self.roster["sequence"]:
            return False
        self.roster = roster
        return True

    def notice(self, info: dict) -> None:
        for staff in (info.get("staff"), info.get("appointedBy")):
            if staff and staff["invite"]["id"] not in self.first and staff_role(staff, staff["member"], self.organisation):
                self.first[staff["invite"]["id"]] = staff["member"]

    def revoked(self, member: str, time: int) -> bool:
        for revocation in (self.roster or {}).get("revoked", []):
            if revocation["member"] == member:
                return revocation["since"] <= time
        return False

    def certificate_role(self, staff: dict, time: int):
        role = staff_role(staff, staff["member"], self.organisation)
        if not role or self.revoked(staff["member"], time):
            return None
        grant = next((g for g in (self.roster or {}).get("staff", []) if g["invite"] == staff["invite"]["id"]), None)
        if grant is not None:
            return role if grant["member"] == staff["member"] and grant["role"] == role and time < grant["until"] else None
        first = self.first.get(staff["invite"]["id"])
        if first is not None and first != staff["member"]:
            return None
        return role if time < staff["invite"]["staffUntil"] else None

    def role(self, info: dict, time: int):
        staff = info.get("staff")
        if staff and staff["member"] == info["member"]:
            role = self.certificate_role(staff, time)
            if role:
                return role
        appointment, by = info.get("appointment"), info.get("appointedBy")
        if not appointment or not by or appointment["kind"] != "appoint" or appointment.get("target") != info["member"]:
            return None
        if appointment["moderator"] != by["member"] or not action_verifies(appointment):
            return None
        return "moderator" if self.certificate_role(by, time) == "counsellor" and not self.revoked(info["member"], time) else None
