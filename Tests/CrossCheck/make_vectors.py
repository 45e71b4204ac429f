"""Writes Tests/HavenProtocolTests/Vectors/vectors.json from fixed seeds, using haven_reference.

Run once when the protocol changes (`python3 Tests/CrossCheck/make_vectors.py`) and commit the
result. Sealed boxes use a fresh ephemeral key each run, so those entries change between runs;
everything else is deterministic. Swift's tests and crosscheck.py both check the file.
"""
import json
import pathlib

import nacl.bindings as sodium

import haven_reference as ref

OUT = pathlib.Path(__file__).resolve().parent.parent / "HavenProtocolTests" / "Vectors" / "vectors.json"


def seed(byte: int) -> bytes:
    return bytes([byte]) * 32


def identity_vector(name: str, seed_bytes: bytes) -> dict:
    ident = ref.Identity(seed_bytes)
    return {"name": name, "seed": ref.b64(seed_bytes), "ed25519Public": ref.b64(ident.public),
            "x25519Public": ref.b64(ident.box_public), "x25519Secret": ref.b64(ident.box_secret)}


def main() -> None:
    alice, bob, carol = ref.Identity(seed(1)), ref.Identity(seed(2)), ref.Identity(seed(3))
    epoch_key = bytes(range(32))
    room, epoch = "night-owls", 7

    auth_nonce = bytes([0xA5]) * 32
    auth_bytes = ref.auth_signed_bytes("haven.example", auth_nonce, alice.public)

    room_body = ref.body_bytes("You are not alone tonight.")
    room_id, room_nonce, room_fk = bytes([0x10]) * 16, bytes([0x20]) * 24, bytes([0x30]) * 32
    envelope = ref.seal_room_message(room_body, room, epoch, epoch_key, alice, room_id, room_nonce, room_fk)

    bundle = ref.seal_bundle(epoch_key, room, epoch, bob.public, alice)

    direct_body = ref.body_bytes("Would you like to talk privately?")
    direct_id, direct_fk = bytes([0x40]) * 16, bytes([0x50]) * 32
    direct = ref.seal_direct(direct_body, carol, bob.public, direct_id, direct_fk)
    legacy_id = bytes([0x41]) * 16
    legacy = legacy_direct(direct_body, carol, bob.public, legacy_id, direct_fk)

    vectors = {
        "description": "Haven protocol v1 test vectors; see docs/crypto.md. All binary values are unpadded base64url.",
        "identities": [identity_vector("alice", seed(1)), identity_vector("bob", seed(2)), identity_vector("carol", seed(3))],
        "base64url": [{"hex": data.hex(), "text": ref.b64(data)} for data in (b"", b"\xfb\xff", b"haven", bytes(range(10)))],
        "franking": {"key": ref.b64(room_fk), "body": ref.b64(room_body),
                     "commitment": ref.b64(ref.franking_commitment(room_body, room_fk))},
        "auth": {"server": "haven.example", "nonce": ref.b64(auth_nonce), "member": "alice",
                 "signedBytes": ref.b64(auth_bytes), "signature": ref.b64(alice.sign(auth_bytes))},
        "proofOfWork": {"server": "haven.example", "nonce": ref.b64(auth_nonce), "member": "alice", "bits": 12,
                        "proof": ref.b64(ref.solve_proof_of_work("haven.example", auth_nonce, alice.public, 12))},
        "roomMessage": {"epochKey": ref.b64(epoch_key), "sender": "alice", "frankingKey": ref.b64(room_fk),
                        "body": ref.b64(room_body),
                        "associatedData": ref.b64(ref.room_associated_data(room, epoch, room_id, alice.public)),
                        "signedBytes": ref.b64(ref.room_signed_bytes(envelope)), "envelope": envelope},
        "epochKeyBundle": {"sealer": "alice", "recipient": "bob", "epochKey": ref.b64(epoch_key),
                           "signedBytes": ref.b64(ref.bundle_signed_bytes(bundle)), "bundle": bundle},
        "directMessage": {"sender": "carol", "recipient": "bob", "frankingKey": ref.b64(direct_fk), "body": ref.b64(direct_body),
                          "signedBytes": ref.b64(ref.direct_signed_bytes(direct_id, carol.public, bob.public,
                                                                         ref.unb64(direct["franking"]))),
                          "message": direct},
        "legacyDirectMessage": {"sender": "carol", "recipient": "bob", "body": ref.b64(direct_body), "message": legacy},
        "padding": padding_vectors(),
        "rejectedFrames": rejected_frames(envelope),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(vectors, indent=2, sort_keys=True) + "\n")
    print(f"wrote {OUT}")


def legacy_direct(body: bytes, sender: ref.Identity, recipient: bytes, message_id: bytes, franking_key: bytes) -> dict:
    """A direct message as sealed before senders were sealed and plaintext padded: the sender beside
    the seal, `signature || frankingKey || body` inside. Clients still read those until they expire."""
    commitment = ref.franking_commitment(body, franking_key)
    signature = sender.sign(ref.direct_signed_bytes(message_id, sender.public, recipient, commitment))
    sealed = sodium.crypto_box_seal(signature + franking_key + body, sodium.crypto_sign_ed25519_pk_to_curve25519(recipient))
    return {"id": ref.b64(message_id), "sender": ref.b64(sender.public), "recipient": ref.b64(recipient),
            "franking": ref.b64(commitment), "sealed": ref.b64(sealed)}


def padding_vectors() -> dict:
    """Bucket sizes at and around each step, worked examples, and padded bytes to refuse."""
    lengths = [1, 100, 255, 256, 257, 272, 273, 300, 511, 512, 513, 1000, 1024, 1025, 4000, 65569, 65665, 1_000_000, 10_485_760]
    examples = [bytes(range(n % 256)) * (n // 256) + bytes(range(n % 256)) for n in (0, 10, 255, 256, 300, 1000)]
    plain = bytes([7]) * 10
    over_padded = sodium.sodium_pad(plain, 512)
    no_marker = bytes(256)
    not_a_bucket = sodium.sodium_pad(plain, 300)
    return {
        "floor": ref.PADDING_FLOOR,
        "sealedFloor": ref.SEALED_PADDING_FLOOR,
        "buckets": [{"length": n, "bucket": ref.padded_size(n)} for n in lengths],
        "sealedBuckets": [{"length": n, "bucket": ref.padded_size(n, ref.SEALED_PADDING_FLOOR)} for n in lengths],
        "sealedExamples": [{"plaintext": ref.b64(e), "padded": ref.b64(ref.pad(e, ref.SEALED_PADDING_FLOOR))} for e in examples],
        "examples": [{"plaintext": ref.b64(e), "padded": ref.b64(ref.pad(e))} for e in examples],
        "invalid": [{"why": "padded past its bucket", "padded": ref.b64(over_padded)},
                    {"why": "no 0x80 marker", "padded": ref.b64(no_marker)},
                    {"why": "not a bucket size", "padded": ref.b64(not_a_bucket)}],
    }


def rejected_frames(envelope: dict) -> list:
    """Frames every implementation must refuse, with the error code it must give."""
    def send(**changes):
        return json.dumps({"v": 1, "type": "send", "envelope": {**envelope, **changes}}, sort_keys=True)

    missing_sender = {k: v for k, v in envelope.items() if k != "sender"}
    return [
        {"frame": "not json", "code": "malformed_json"},
        {"frame": "[1,2,3]", "code": "malformed_json"},
        {"frame": '{"type":"join","room":"lobby"}', "code": "missing_field"},
        {"frame": '{"v":2,"type":"join","room":"lobby"}', "code": "unsupported_version"},
        {"frame": '{"v":1,"type":"teleport"}', "code": "unknown_frame_type"},
        {"frame": '{"v":1,"type":"join"}', "code": "missing_field"},
        {"frame": '{"v":1,"type":"join","room":"Lobby!"}', "code": "invalid_field"},
        {"frame": '{"v":1,"type":"join","room":42}', "code": "invalid_field"},
        {"frame": json.dumps({"v": 1, "type": "send", "envelope": missing_sender}), "code": "missing_field"},
        {"frame": send(sender="not base64!"), "code": "invalid_base64"},
        {"frame": send(nonce=envelope["nonce"] + "=="), "code": "invalid_base64"},
        {"frame": send(nonce=ref.b64(bytes(12))), "code": "wrong_length"},
        {"frame": send(sender=ref.b64(bytes(31))), "code": "wrong_length"},
        {"frame": send(ciphertext=ref.b64(bytes(70000))), "code": "field_too_large"},
        {"frame": send(epoch=2 ** 53), "code": "invalid_field"},
        {"frame": json.dumps({"v": 1, "type": "auth", "member": envelope["sender"], "signature": ref.b64(bytes(64)),
                              "displayName": "x" * 65}), "code": "field_too_large"},
        {"frame": json.dumps({"v": 1, "type": "join", "room": "lobby", "after": 2 ** 53}), "code": "invalid_field"},
        {"frame": '{"v":1,"type":"join","room":"lobby","after":-1}', "code": "malformed_json"},
        {"frame": '{"v":1,"type":"join","room":"lobby","after":1.5}', "code": "malformed_json"},
        {"frame": '{"v":1,"type":"join","room":"lobby","after":18446744073709551616}', "code": "malformed_json"},
        {"frame": json.dumps({"v": 1, "type": "syncDirect"}), "code": "missing_field"},
    ]


if __name__ == "__main__":
    sodium.sodium_init()
    main()
