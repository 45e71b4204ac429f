"""The room log and the keyring's key rules, independently in Python over PyNaCl (docs/crypto.md,
"The room log"): the third implementation beside RoomLog/RoomKeyring in Swift and
room-keyring.js in the browser, all checked against the same vectors. No I/O.
"""
import hashlib

import nacl.bindings as sodium

from haven_reference import Canonical, b64, unb64, verify

LABEL_ROOM_LOG = "haven/v1/room-log"
LABEL_ROOM_LOG_HASH = "haven/v1/room-log-hash"
LABEL_EPOCH_COMMITMENT = "haven/v1/epoch-commitment"
LABEL_MODERATION = "haven/v1/moderation"
LABEL_INVITE = "haven/v1/invite"
LABEL_STAFF = "haven/v1/staff"
ZERO_HASH = bytes(32)
MODERATION_KINDS = ("admit", "remove", "ban", "lift")


class LogError(Exception):
    """A refused entry; `name` is the RoomLogError case in Swift."""

    def __init__(self, name: str):
        super().__init__(name)
        self.name = name


def moderation_signed_bytes(a: dict) -> bytes:
    canonical = (Canonical(LABEL_MODERATION).field(unb64(a["id"])).field(a["kind"]).field(a.get("room", ""))
                 .field(unb64(a["target"]) if "target" in a else b"").field(unb64(a["message"]) if "message" in a else b"")
                 .integer(a.get("until", 0)).field(unb64(a["lifts"]) if "lifts" in a else b"").integer(a["issuedAt"])
                 .field(unb64(a["moderator"])))
    # The reason is signed only when there is one, after every other field.
    return (canonical.field(a["reason"]) if "reason" in a else canonical).bytes()


def sign_action(fields: dict, moderator) -> dict:
    action = {**fields, "moderator": b64(moderator.public)}
    action["signature"] = b64(moderator.sign(moderation_signed_bytes(action)))
    return action


def invite_signed_bytes(invite: dict) -> bytes:
    return (Canonical(LABEL_INVITE).field(unb64(invite["id"])).field(invite["role"]).integer(invite["expiresAt"])
            .integer(invite["staffUntil"]).field(unb64(invite["inviteKey"])).bytes())


def staff_signed_bytes(invite: dict, member: bytes) -> bytes:
    return Canonical(LABEL_STAFF).field(unb64(invite["id"])).field(invite["role"]).field(member).bytes()


def staff_role(staff: dict, member: str, organisation: bytes):
    """The role a staff certificate gives `member` if its chain verifies, else None."""
    try:
        if staff["member"] != member:
            return None
        verify(organisation, unb64(staff["invite"]["signature"]), invite_signed_bytes(staff["invite"]))
        verify(unb64(staff["invite"]["inviteKey"]), unb64(staff["signature"]), staff_signed_bytes(staff["invite"], unb64(member)))
        return staff["invite"]["role"]
    except Exception:
        return None


def moderator_role(proof: dict, member: str, organisation: bytes):
    """Staff by their own certificate, or a moderator appointed by a verified counsellor."""
    if proof.get("staff") and staff_role(proof["staff"], member, organisation):
        return staff_role(proof["staff"], member, organisation)
    appointment, by = proof.get("appointment"), proof.get("appointedBy")
    if not appointment or not by or appointment["kind"] != "appoint" or appointment.get("target") != member:
        return None
    if appointment["moderator"] != by["member"] or not action_verifies(appointment):
        return None
    return "moderator" if staff_role(by, by["member"], organisation) == "counsellor" else None


def action_verifies(action: dict) -> bool:
    try:
        verify(unb64(action["moderator"]), unb64(action["signature"]), moderation_signed_bytes(action))
        return True
    except Exception:
        return False


def sort_members(members) -> list:
    return sorted(members, key=unb64)


def entry_signed_bytes(e: dict) -> bytes:
    action = e.get("action")
    return (Canonical(LABEL_ROOM_LOG).field(e["room"]).integer(e["seq"]).field(unb64(e["previous"])).field(e["kind"])
            .field(unb64(e["author"])).integer(e.get("epoch", 0)).field(unb64(e["commitment"]) if "commitment" in e else b"")
            .field(e.get("reason", "")).field(e.get("mode", "")).field(b"".join(unb64(m) for m in e.get("members", [])))
            .field(b"".join(unb64(m) for m in e.get("excluded", [])))
            .field(moderation_signed_bytes(action) if action else b"").field(unb64(action["signature"]) if action else b"").bytes())


def entry_hash(e: dict) -> bytes:
    data = Canonical(LABEL_ROOM_LOG_HASH).field(entry_signed_bytes(e)).field(unb64(e["signature"])).bytes()
    return hashlib.blake2b(data, digest_size=32).digest()


def epoch_commitment(room: str, epoch: int, key: bytes) -> bytes:
    return hashlib.blake2b(Canonical(LABEL_EPOCH_COMMITMENT).field(room).integer(epoch).bytes(), key=key, digest_size=32).digest()


def sign_entry(fields: dict, author) -> dict:
    entry = {**fields, "author": b64(author.public)}
    entry["signature"] = b64(author.sign(entry_signed_bytes(entry)))
    return entry


def check_fields(e: dict) -> None:
    is_epoch = e["kind"] == "epoch"
    # An absent field and a null one are the same, as Swift and JavaScript read them.
    for field in ("epoch", "commitment", "reason", "mode", "members", "excluded"):
        if (e.get(field) is not None) != is_epoch:
            raise LogError("invalid")
    if (e.get("action") is not None) != (e["kind"] in MODERATION_KINDS):
        raise LogError("invalid")
    integers = [e["seq"]] + ([e["epoch"]] if is_epoch else [])
    if not all(type(n) is int and 0 <= n < 2 ** 53 for n in integers):
        raise LogError("invalid")
    try:
        if len(unb64(e["previous"])) != 32 or len(unb64(e["signature"])) != 64 or len(unb64(e["author"])) != 32:
            raise LogError("invalid")
        if is_epoch and len(unb64(e["commitment"])) != 32:
            raise LogError("invalid")
        for field in ("members", "excluded"):
            if field in e and (e[field] != sort_members(e[field]) or len(set(e[field])) != len(e[field])):
                raise LogError("invalid")
        verify(unb64(e["author"]), unb64(e["signature"]), entry_signed_bytes(e))
    except LogError:
        raise
    except Exception:
        raise LogError("invalid")


class RoomLog:
    """A room's verified log: chain, signatures, who may write what, members and epochs."""

    def __init__(self, room: str, organisation: bytes):
        self.room, self.organisation = room, organisation
        self.hashes, self.mode = [], None
        self.members, self.excluded = set(), set()
        self.epochs, self.current = {}, None
        self.action_ids = set()

    @property
    def length(self) -> int:
        return len(self.hashes)

    @property
    def head(self) -> bytes:
        return self.hashes[-1] if self.hashes else ZERO_HASH

    def append(self, e: dict) -> tuple:
        change = self.check(e)
        kind, member = change
        if kind == "epochStarted":
            if self.length == 0:
                self.members = {e["author"]}
            self.mode = e["mode"]
            self.current = {"epoch": e["epoch"], "commitment": unb64(e["commitment"]), "author": e["author"], "members": set(e["members"])}
            self.epochs[e["epoch"]] = self.current
        elif kind == "joined":
            self.members.add(member)
        elif kind == "left":
            self.members.discard(member)
        elif kind == "removed":
            self.members.discard(member)
            self.excluded.add(member)
        elif kind == "lifted":
            self.excluded.discard(member)
        if "action" in e:
            self.action_ids.add(e["action"]["id"])
        self.hashes.append(entry_hash(e))
        return change

    def check(self, e: dict) -> tuple:
        if e["room"] != self.room:
            raise LogError("wrongRoom")
        if e["seq"] != self.length:
            raise LogError("outOfOrder")
        if unb64(e["previous"]) != self.head:
            raise LogError("brokenChain")
        check_fields(e)
        author = e["author"]
        if self.length == 0:
            if e["kind"] != "epoch":
                raise LogError("mustStartWithEpoch")
            if e["members"] != [author] or e["excluded"] != []:
                raise LogError("memberSetMismatch")
            if e["mode"] == "private" and not self.staff(e.get("proof"), author):
                raise LogError("needsStaff")
            return ("epochStarted", None)
        if "action" in e and e["action"]["id"] in self.action_ids:
            raise LogError("duplicateAction")
        kind = e["kind"]
        if kind == "epoch":
            if author not in self.members:
                raise LogError("notAMember")
            if self.current is not None and e["epoch"] <= self.current["epoch"]:
                raise LogError("epochNotNew")
            if e["mode"] != self.mode:
                raise LogError("modeChanged")
            if set(e["members"]) != self.members or set(e["excluded"]) != self.excluded:
                raise LogError("memberSetMismatch")
            return ("epochStarted", None)
        if kind == "join":
            if author in self.members:
                raise LogError("alreadyAMember")
            if author in self.excluded:
                raise LogError("excluded")
            if self.mode == "private" and not self.staff(e.get("proof"), author):
                raise LogError("needsStaff")
            return ("joined", author)
        if kind == "leave":
            if author not in self.members:
                raise LogError("notAMember")
            return ("left", author)
        target = self.check_action(e, staff_only=kind == "admit")
        action = e["action"]
        if kind == "admit":
            if self.mode != "private" or action.get("room") != self.room:
                raise LogError("notAuthorised")
            if author not in self.members and author != target:
                raise LogError("notAMember")
            if target in self.members:
                raise LogError("alreadyAMember")
            if target in self.excluded:
                raise LogError("excluded")
            return ("joined", target)
        if kind in ("remove", "ban"):
            if kind == "remove" and action.get("room") != self.room:
                raise LogError("notAuthorised")
            if author not in self.members:
                raise LogError("notAMember")
            return ("removed", target)
        if author not in self.members:
            raise LogError("notAMember")
        lifted = action.get("target")
        if lifted is None or lifted not in self.excluded or lifted == action["moderator"]:
            raise LogError("notAuthorised")
        return ("lifted", lifted)

    def check_action(self, e: dict, staff_only: bool) -> str:
        action = e["action"]
        if action["kind"] != e["kind"] or not action_verifies(action):
            raise LogError("notAuthorised")
        proof = e.get("proof") or {}
        if proof.get("member") != action["moderator"]:
            raise LogError("notAuthorised")
        role = self.staff(proof, action["moderator"]) if staff_only else moderator_role(proof, action["moderator"], self.organisation)
        if not role:
            raise LogError("notAuthorised")
        if "target" not in action:
            raise LogError("notAuthorised")
        return action["target"]

    def staff(self, proof, member: str):
        if not proof or proof.get("member") != member or not proof.get("staff"):
            return None
        return staff_role(proof["staff"], member, self.organisation)

    def must_rotate(self, entitled: set) -> bool:
        return not entitled <= self.members


def accept_bundle_key(log: RoomLog, epoch: int, key: bytes) -> str:
    """What a member does with a key opened from a bundle: `stored` if it opens the epoch's
    commitment, `keyMismatch` otherwise."""
    return "stored" if epoch_commitment(log.room, epoch, key) == log.epochs[epoch]["commitment"] else "keyMismatch"


def open_bundle_key(bundle: dict, recipient) -> bytes:
    verify(unb64(bundle["sealer"]), unb64(bundle["signature"]), bundle_bytes(bundle))
    return sodium.crypto_box_seal_open(unb64(bundle["sealed"]), recipient.box_public, recipient.box_secret)


def bundle_bytes(bundle: dict) -> bytes:
    return (Canonical("haven/v1/epoch-key").field(bundle["room"]).integer(bundle["epoch"]).field(unb64(bundle["recipient"]))
            .field(unb64(bundle["sealer"])).field(unb64(bundle["sealed"])).bytes())
