"""Writes Tests/HavenProtocolTests/Vectors/room-log.json: room log sequences, valid and each class
of invalid, that the Swift RoomLog/RoomKeyring, the widget's room-keyring.js and
room_log_reference.py must all judge alike (docs/crypto.md, "The room log").

Run when the log's rules change (`python3 Tests/CrossCheck/make_room_log_vectors.py`) and commit
the result. Everything is deterministic except sealed boxes (fresh ephemeral keys each run).
"""
import json
import pathlib

import nacl.bindings as sodium

import haven_reference as ref
import room_log_reference as log_ref
from haven_reference import b64

OUT = pathlib.Path(__file__).resolve().parent.parent / "HavenProtocolTests" / "Vectors" / "room-log.json"
ROOM = "night-owls"
SEEDS = {"alice": 1, "bob": 2, "carol": 3, "mallory": 4, "counsellor": 5, "organisation": 6, "invite": 7}


def seed(byte: int) -> bytes:
    return bytes([byte]) * 32


def main() -> None:
    who = {name: ref.Identity(seed(byte)) for name, byte in SEEDS.items()}
    pub = {name: b64(identity.public) for name, identity in who.items()}
    organisation = who["organisation"]

    invite = {"id": b64(bytes([0x70]) * 16), "role": "counsellor", "expiresAt": 4_000_000_000, "staffUntil": 4_000_000_000, "inviteKey": pub["invite"]}
    invite["signature"] = b64(organisation.sign(log_ref.invite_signed_bytes(invite)))
    staff = {"invite": invite, "member": pub["counsellor"],
             "signature": b64(who["invite"].sign(log_ref.staff_signed_bytes(invite, who["counsellor"].public)))}
    counsellor_proof = {"member": pub["counsellor"], "displayName": "Ana", "staff": staff}
    mallory_proof = {"member": pub["mallory"], "displayName": "Mallory"}

    keys = {0: bytes(range(32)), 1: bytes(range(32, 64))}
    fake_key = bytes([0xEE]) * 32

    def action(kind: str, byte: int, by="counsellor", **fields) -> dict:
        return log_ref.sign_action({"id": b64(bytes([byte]) * 16), "kind": kind, "issuedAt": 1_790_000_000, **fields}, who[by])

    class Builder:
        """Builds a chain of signed entries, keeping a reference log to know each head."""

        def __init__(self):
            self.log = log_ref.RoomLog(ROOM, organisation.public)
            self.entries = []

        def add(self, kind: str, by: str, previous: bytes = None, seq: int = None, signer: str = None, check=True, **fields) -> dict:
            entry = {"room": ROOM, "seq": self.log.length if seq is None else seq,
                     "previous": b64(self.log.head if previous is None else previous), "kind": kind, **fields}
            entry = log_ref.sign_entry(entry, who[signer or by])
            if signer:
                entry["author"] = pub[by]
            if check:
                self.log.append(entry)
            self.entries.append(entry)
            return entry

        def epoch(self, by: str, number: int, members, excluded=(), mode="open", reason="first", check=True, **fields) -> dict:
            return self.add("epoch", by, epoch=number, commitment=b64(log_ref.epoch_commitment(ROOM, number, keys.get(number, fake_key))),
                            reason=reason, mode=mode, members=log_ref.sort_members([pub[m] for m in members]),
                            excluded=log_ref.sort_members([pub[m] for m in excluded]), check=check, **fields)

    remove_bob = action("remove", 0x81, room=ROOM, target=pub["bob"], reason="Harassing other members")

    def open_room(upto: int) -> Builder:
        """An open room: Alice starts it, Bob and the counsellor join, Bob is removed, a new epoch
        starts without him, the removal is lifted and he joins again."""
        b = Builder()
        steps = [
            lambda: b.epoch("alice", 0, ["alice"]),
            lambda: b.add("join", "bob"),
            lambda: b.add("join", "counsellor", proof=counsellor_proof),
            lambda: b.add("remove", "alice", action=remove_bob, proof=counsellor_proof),
            lambda: b.epoch("alice", 1, ["alice", "counsellor"], excluded=["bob"], reason="removal"),
            lambda: b.add("lift", "counsellor", action=action("lift", 0x82, lifts=remove_bob["id"], target=pub["bob"]), proof=counsellor_proof),
            lambda: b.add("join", "bob"),
        ]
        for step in steps[:upto]:
            step()
        return b

    def private_room() -> Builder:
        b = Builder()
        b.epoch("counsellor", 0, ["counsellor"], mode="private", proof=counsellor_proof)
        return b

    sequences = []

    def sequence(name: str, builder: Builder, error: str = None) -> None:
        entries = builder.entries
        state = log_ref.RoomLog(ROOM, organisation.public)
        entitled = set()
        accepted, refused = 0, None
        for entry in entries:
            try:
                kind, member = state.append(entry)
            except log_ref.LogError as failure:
                refused = failure.name
                break
            accepted += 1
            entitled = set(entry["members"]) if kind == "epochStarted" else entitled | ({member} if kind == "joined" else set())
        assert refused == error, (name, refused, error)
        sequences.append({
            "name": name, "entries": entries, "accepted": accepted, "error": error,
            "members": log_ref.sort_members(state.members), "excluded": log_ref.sort_members(state.excluded),
            "epoch": state.current["epoch"] if state.current else None, "length": state.length, "head": b64(state.head),
            "mustRotate": state.must_rotate(entitled)})

    sequence("an open room: start, joins, a removal, a new epoch without the removed member, a lift, a rejoin", open_room(7))
    sequence("after a removal, the old epoch must not be used", open_room(4))
    sequence("a private room: a counsellor starts it and admits a member", (lambda b: (b.add(
        "admit", "alice", action=action("admit", 0x83, room=ROOM, target=pub["alice"]), proof=counsellor_proof), b)[1])(private_room()))

    b = open_room(1)
    b.add("join", "bob", signer="mallory", check=False)
    sequence("forged entry: a join signed by someone other than its author", b, "invalid")

    b = open_room(1)
    b.add("join", "bob", previous=bytes(32), check=False)
    sequence("broken chain: an entry that does not name the hash of the one before", b, "brokenChain")

    b = open_room(2)
    b.add("remove", "alice", action=action("remove", 0x84, by="mallory", room=ROOM, target=pub["bob"]), proof=mallory_proof, check=False)
    sequence("wrong signer: a removal signed by a member who is not staff", b, "notAuthorised")

    b = open_room(3)
    b.add("remove", "alice", action=action("remove", 0x85, by="mallory", room=ROOM, target=pub["bob"]), proof=counsellor_proof, check=False)
    sequence("wrong signer: a removal whose staff proof belongs to someone else", b, "notAuthorised")

    b = open_room(2)
    b.epoch("bob", 0, ["alice", "bob"], check=False)
    sequence("second epoch: another epoch entry for an epoch already started", b, "epochNotNew")

    b = open_room(2)
    b.epoch("alice", 1, ["alice", "bob", "mallory"], reason="schedule", check=False)
    sequence("ghost in an epoch: an epoch entry naming a member the log never admitted", b, "memberSetMismatch")

    b = open_room(4)
    b.epoch("alice", 1, ["alice", "bob", "counsellor"], reason="removal", check=False)
    sequence("removal withheld: an epoch after a removal that still names the removed member", b, "memberSetMismatch")

    b = private_room()
    b.add("join", "mallory", check=False)
    sequence("ghost join: a private room's join by someone no staff admitted", b, "needsStaff")

    b = private_room()
    b.add("admit", "alice", action=action("admit", 0x86, by="alice", room=ROOM, target=pub["alice"]),
          proof={"member": pub["alice"], "displayName": "Quiet Otter"}, check=False)
    sequence("self-admission: an admission not signed by staff", b, "notAuthorised")

    b = open_room(4)
    b.add("join", "bob", check=False)
    sequence("a removed member joins again before a lift", b, "excluded")

    b = open_room(5)
    b.add("lift", "counsellor", action=action("lift", 0x87, lifts=remove_bob["id"]), proof=counsellor_proof, check=False)
    sequence("a lift that does not name its target", b, "notAuthorised")

    b = open_room(3)
    remove_counsellor = action("remove", 0x88, by="counsellor", room=ROOM, target=pub["counsellor"])
    b.add("remove", "alice", action=remove_counsellor, proof=counsellor_proof)
    b.add("lift", "alice", action=action("lift", 0x89, lifts=remove_counsellor["id"], target=pub["counsellor"]),
          proof=counsellor_proof, check=False)
    sequence("a moderator lifting their own removal", b, "notAuthorised")

    b = Builder()
    b.add("join", "alice", check=False)
    sequence("a log starts with an epoch entry", b, "mustStartWithEpoch")

    b = open_room(2)
    b.add("join", "carol", seq=5, check=False)
    sequence("a gap: an entry for a later position", b, "outOfOrder")

    two = open_room(2).log
    bundles = [
        {"name": "a key that opens its epoch's commitment", "sequence": 1, "recipient": "bob",
         "bundle": ref.seal_bundle(keys[0], ROOM, 0, who["bob"].public, who["alice"]), "result": "stored"},
        {"name": "a key that does not open its epoch's commitment (a member racing a key of their own)", "sequence": 1,
         "recipient": "bob", "bundle": ref.seal_bundle(fake_key, ROOM, 0, who["bob"].public, who["alice"]), "result": "keyMismatch"},
    ]
    for item in bundles:
        key = log_ref.open_bundle_key(item["bundle"], who[item["recipient"]])
        assert log_ref.accept_bundle_key(two, 0, key) == item["result"], item["name"]

    envelope = ref.seal_room_message(ref.body_bytes("The log agrees."), ROOM, 0, keys[0], who["alice"], bytes([0x11]) * 16,
                                     bytes([0x21]) * 24, bytes([0x31]) * 32)
    envelope.update({"logLength": two.length, "logHead": b64(two.head), "counter": 1})
    envelope["signature"] = b64(who["alice"].sign(logged_signed_bytes(envelope)))

    first = open_room(7).entries
    vectors = {
        "description": "Haven room log test vectors; see docs/crypto.md, \"The room log\". Binary values are unpadded base64url.",
        "room": ROOM,
        "organisation": pub["organisation"],
        "seeds": {name: b64(seed(byte)) for name, byte in SEEDS.items()},
        "commitment": {"epoch": 1, "key": b64(keys[1]), "commitment": b64(log_ref.epoch_commitment(ROOM, 1, keys[1]))},
        "entryBytes": [{"entry": entry, "signedBytes": b64(log_ref.entry_signed_bytes(entry)), "hash": b64(log_ref.entry_hash(entry))}
                       for entry in (first[0], first[3], first[4])],
        "loggedEnvelope": {"epochKey": b64(keys[0]), "envelope": envelope, "signedBytes": b64(logged_signed_bytes(envelope))},
        "sequences": sequences,
        "bundles": bundles,
    }
    OUT.write_text(json.dumps(vectors, indent=2, sort_keys=True) + "\n")
    print(f"wrote {OUT}")


def logged_signed_bytes(env: dict) -> bytes:
    return (ref.Canonical("haven/v1/room-message-logged").field(env["room"]).integer(env["epoch"]).field(ref.unb64(env["id"]))
            .field(ref.unb64(env["sender"])).field(ref.unb64(env["nonce"])).field(ref.unb64(env["ciphertext"]))
            .field(ref.unb64(env["franking"])).integer(env["logLength"]).field(ref.unb64(env["logHead"])).integer(env["counter"]).bytes())


if __name__ == "__main__":
    sodium.sodium_init()
    main()
