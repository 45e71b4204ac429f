"""Writes Tests/HavenProtocolTests/Vectors/staff-trust.json: who is staff at a given time, given
rosters and the keys seen first, that the Swift StaffTrust, the widget's staff-trust.js and
staff_trust_reference.py must all judge alike (docs/crypto.md, "Staff lifecycle").

Run when the rules change (`python3 Tests/CrossCheck/make_staff_vectors.py`) and commit the
result. Everything in it is deterministic.
"""
import json
import pathlib

import haven_reference as ref
import room_log_reference as log_ref
import staff_trust_reference as trust_ref
from haven_reference import b64

OUT = pathlib.Path(__file__).resolve().parent.parent / "HavenProtocolTests" / "Vectors" / "staff-trust.json"
SEEDS = {"organisation": 6, "other organisation": 9, "counsellor": 5, "thief": 4, "member": 1, "invite": 7, "moderator invite": 8}


def main() -> None:
    who = {name: ref.Identity(bytes([byte]) * 32) for name, byte in SEEDS.items()}
    pub = {name: b64(identity.public) for name, identity in who.items()}

    def invite(id_byte: int, role: str, key: str, signer: str = "organisation") -> dict:
        made = {"id": b64(bytes([id_byte]) * 16), "role": role, "expiresAt": 1_000, "staffUntil": 2_000, "inviteKey": pub[key]}
        made["signature"] = b64(who[signer].sign(log_ref.invite_signed_bytes(made)))
        return made

    def certificate(made: dict, key: str, member: str) -> dict:
        return {"invite": made, "member": pub[member],
                "signature": b64(who[key].sign(log_ref.staff_signed_bytes(made, who[member].public)))}

    def roster(sequence: int, staff=(), revoked=(), signer: str = "organisation") -> dict:
        made = {"sequence": sequence, "issuedAt": 1_500, "staff": list(staff), "revoked": list(revoked)}
        made["signature"] = b64(who[signer].sign(trust_ref.roster_signed_bytes(made)))
        return made

    counsellor_invite = invite(0x71, "counsellor", "invite")
    ana = certificate(counsellor_invite, "invite", "counsellor")
    stolen = certificate(counsellor_invite, "invite", "thief")
    foreign = certificate(invite(0x72, "counsellor", "invite", signer="other organisation"), "invite", "counsellor")
    ana_info = {"member": pub["counsellor"], "displayName": "Ana", "staff": ana}
    thief_info = {"member": pub["thief"], "displayName": "Night Helper", "staff": stolen}
    appointment = log_ref.sign_action({"id": b64(bytes([0x73]) * 16), "kind": "appoint", "target": pub["member"], "issuedAt": 1_000},
                                      who["counsellor"])
    appointed = {"member": pub["member"], "displayName": "Sam", "appointment": appointment, "appointedBy": ana}
    bound = {"invite": counsellor_invite["id"], "member": pub["counsellor"], "role": "counsellor", "until": 5_000}
    revoke_ana = {"member": pub["counsellor"], "since": 1_500}

    cases = [
        ("a certificate before its expiry", [], [], ana_info, 1_999),
        ("a certificate at its expiry", [], [], ana_info, 2_000),
        ("renewed by the roster", [roster(1, staff=[bound])], [], ana_info, 4_999),
        ("past the renewal", [roster(1, staff=[bound])], [], ana_info, 5_000),
        ("before the revocation", [roster(1, revoked=[revoke_ana])], [], ana_info, 1_499),
        ("from the revocation on", [roster(1, revoked=[revoke_ana])], [], ana_info, 1_500),
        ("a second key after the first was seen", [], [ana_info, thief_info], thief_info, 1_100),
        ("the first key seen keeps the invite", [], [ana_info, thief_info], ana_info, 1_100),
        ("a second key the roster does not bind", [roster(1, staff=[bound])], [thief_info], thief_info, 1_100),
        ("a roster signed by another key", [roster(1, revoked=[revoke_ana], signer="other organisation")], [], ana_info, 1_600),
        ("an older roster after a newer one", [roster(2), roster(1, revoked=[revoke_ana])], [], ana_info, 1_600),
        ("a certificate from another organisation", [], [], {"member": pub["counsellor"], "displayName": "Ana", "staff": foreign}, 1_100),
        ("a moderator appointed by a counsellor", [], [], appointed, 1_100),
        ("a moderator whose counsellor was revoked", [roster(1, revoked=[revoke_ana])], [], appointed, 1_600),
        ("a moderator whose counsellor expired", [], [], appointed, 2_100),
    ]
    out = []
    for name, rosters, noticed, info, time in cases:
        trust = trust_ref.StaffTrust(who["organisation"].public)
        adopted = [trust.adopt(r) for r in rosters]
        for seen in noticed:
            trust.notice(seen)
        out.append({"name": name, "rosters": rosters, "adopted": adopted, "noticed": noticed, "info": info, "time": time,
                    "role": trust.role(info, time)})
    OUT.write_text(json.dumps({"organisation": pub["organisation"], "cases": out}, indent=1) + "\n")
    print(f"wrote {OUT} ({len(out)} cases)")


if __name__ == "__main__":
    main()
