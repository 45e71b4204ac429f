"""Cross-checks Haven's Swift crypto against PyNaCl, in both directions.

1. Checks Tests/HavenProtocolTests/Vectors/vectors.json with haven_reference (independent code).
2. Makes signatures, sealed boxes, AEAD and secretstream ciphertext, an Argon2id key, a room
   envelope, an epoch key bundle and a direct message with PyNaCl, addressed to a Swift identity.
3. Runs the Swift test `CrossCheckTests` (HAVEN_CROSSCHECK_DIR set), which opens and verifies all
   of it, then makes the same kinds of objects with the Swift code, addressed to Python.
4. Opens and verifies what Swift made, and checks that one flipped byte makes each of them fail.

Usage: python3 Tests/CrossCheck/crosscheck.py [--swift-test-args ...]  (run from the package root)
"""
import json
import os
import pathlib
import subprocess
import sys
import tempfile

import nacl.bindings as sodium
import nacl.exceptions
import nacl.pwhash

import haven_reference as ref
import room_log_reference as log_ref
from haven_reference import b64, unb64

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
VECTORS = ROOT / "Tests" / "HavenProtocolTests" / "Vectors" / "vectors.json"
LOG_VECTORS = ROOT / "Tests" / "HavenProtocolTests" / "Vectors" / "room-log.json"
ARGON_OPS, ARGON_MEM = 1, 8192


def check(condition: bool, what: str) -> None:
    if not condition:
        raise SystemExit(f"crosscheck FAILED: {what}")
    print(f"  ok  {what}")


def must_fail(action, what: str) -> None:
    try:
        action()
    except (nacl.exceptions.CryptoError, ValueError):
        print(f"  ok  {what} is rejected")
        return
    raise SystemExit(f"crosscheck FAILED: {what} was accepted")


def flip(text: str, index: int = -1) -> str:
    data = bytearray(unb64(text))
    data[index] ^= 1
    return b64(bytes(data))


def check_vectors() -> None:
    print("vectors.json, checked by the Python reference implementation:")
    v = json.loads(VECTORS.read_text())
    ids = {item["name"]: ref.Identity(unb64(item["seed"])) for item in v["identities"]}
    for item in v["identities"]:
        check(b64(ids[item["name"]].public) == item["ed25519Public"], f"identity {item['name']} from its seed")
        check(b64(ids[item["name"]].box_public) == item["x25519Public"], f"identity {item['name']} X25519 form")
    for item in v["base64url"]:
        check(b64(bytes.fromhex(item["hex"])) == item["text"], f"base64url of {item['hex'] or 'empty'}")
    f = v["franking"]
    check(b64(ref.franking_commitment(unb64(f["body"]), unb64(f["key"]))) == f["commitment"], "franking commitment")
    a = v["auth"]
    signed = ref.auth_signed_bytes(a["server"], unb64(a["nonce"]), ids[a["member"]].public)
    check(b64(signed) == a["signedBytes"] and b64(ids[a["member"]].sign(signed)) == a["signature"], "login signature")
    r = v["roomMessage"]
    env = r["envelope"]
    check(b64(ref.room_signed_bytes(env)) == r["signedBytes"], "room message signed bytes")
    check(ref.open_room_message(env, unb64(r["epochKey"])) == unb64(r["body"]), "room message opens to its body")
    again = ref.seal_room_message(unb64(r["body"]), env["room"], env["epoch"], unb64(r["epochKey"]), ids[r["sender"]],
                                  unb64(env["id"]), unb64(env["nonce"]), unb64(r["frankingKey"]))
    check(again == env, "room message reseals byte for byte")
    k = v["epochKeyBundle"]
    check(ref.open_bundle(k["bundle"], ids[k["recipient"]]) == unb64(k["epochKey"]), "epoch key bundle opens to its key")
    d = v["directMessage"]
    check(ref.open_direct(d["message"], ids[d["recipient"]]) == (ids[d["sender"]].public, unb64(d["body"])),
          "direct message opens to its sealed sender and body")
    p = v["padding"]
    check(all(ref.padded_size(item["length"]) == item["bucket"] for item in p["buckets"]), "padding buckets")
    check(all(ref.padded_size(item["length"], p["sealedFloor"]) == item["bucket"] for item in p["sealedBuckets"]), "sealed padding buckets")
    check(all(ref.pad(unb64(item["plaintext"]), p["sealedFloor"]) == unb64(item["padded"]) for item in p["sealedExamples"]),
          "sealed padding examples")
    check(all(ref.pad(unb64(item["plaintext"])) == unb64(item["padded"]) and ref.unpad(unb64(item["padded"])) == unb64(item["plaintext"])
              for item in p["examples"]), "padding examples")
    for item in p["invalid"]:
        must_fail(lambda: ref.unpad(unb64(item["padded"])), f"padding {item['why']}")


def check_room_log_vectors() -> None:
    """The committed room log vectors, judged again by the Python reference."""
    vectors = json.loads(LOG_VECTORS.read_text())
    organisation = unb64(vectors["organisation"])
    for item in vectors["entryBytes"]:
        check(b64(log_ref.entry_signed_bytes(item["entry"])) == item["signedBytes"]
              and b64(log_ref.entry_hash(item["entry"])) == item["hash"], f"room log entry bytes and hash ({item['entry']['kind']})")
    for sequence in vectors["sequences"]:
        log = log_ref.RoomLog(vectors["room"], organisation)
        accepted, refusal = 0, None
        for entry in sequence["entries"]:
            try:
                log.append(entry)
                accepted += 1
            except log_ref.LogError as error:
                refusal = error.name
                break
        check(accepted == sequence["accepted"] and refusal == sequence["error"]
              and log_ref.sort_members(log.members) == sequence["members"] and b64(log.head) == sequence["head"],
              f"room log: {sequence['name']}")
    for item in vectors["bundles"]:
        log = log_ref.RoomLog(vectors["room"], organisation)
        for entry in vectors["sequences"][item["sequence"]]["entries"]:
            log.append(entry)
        recipient = ref.Identity(unb64(vectors["seeds"][item["recipient"]]))
        check(log_ref.accept_bundle_key(log, item["bundle"]["epoch"], log_ref.open_bundle_key(item["bundle"], recipient)) == item["result"],
              f"room key: {item['name']}")


def make_for_swift(python: ref.Identity, swift_seed: bytes) -> dict:
    swift = ref.Identity(swift_seed)
    epoch_key = os.urandom(32)
    room_text, direct_text = "made by PyNaCl for the room", "made by PyNaCl, privately"
    message = b"signed by PyNaCl"
    sealed_plain = b"sealed by PyNaCl"
    aead_key, aead_nonce, aead_ad, aead_plain = os.urandom(32), os.urandom(24), b"associated", b"aead by PyNaCl"
    stream_key = os.urandom(32)
    state = sodium.crypto_secretstream_xchacha20poly1305_state()
    header = sodium.crypto_secretstream_xchacha20poly1305_init_push(state, stream_key)
    chunks = [b"first chunk", b"second chunk", b"final chunk"]
    stream = [sodium.crypto_secretstream_xchacha20poly1305_push(
        state, chunk, tag=sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL if i == 2
        else sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE) for i, chunk in enumerate(chunks)]
    password, salt = b"a passphrase for both", os.urandom(16)
    blake_key, blake_message = os.urandom(32), b"hash me"
    return {
        "swiftSeed": b64(swift_seed),
        "peer": b64(python.public),
        "signature": {"message": b64(message), "signature": b64(python.sign(message))},
        "sealedBox": {"plaintext": b64(sealed_plain), "sealed": b64(sodium.crypto_box_seal(sealed_plain, swift.box_public))},
        "aead": {"key": b64(aead_key), "nonce": b64(aead_nonce), "associatedData": b64(aead_ad), "plaintext": b64(aead_plain),
                 "ciphertext": b64(sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(aead_plain, aead_ad, aead_nonce, aead_key))},
        "secretstream": {"key": b64(stream_key), "header": b64(header), "chunks": [b64(c) for c in stream],
                         "plaintext": [b64(c) for c in chunks]},
        "argon2id": {"password": b64(password), "salt": b64(salt), "operations": ARGON_OPS, "memoryBytes": ARGON_MEM,
                     "key": b64(sodium.crypto_pwhash_alg(32, password, salt, ARGON_OPS, ARGON_MEM,
                                                          sodium.crypto_pwhash_ALG_ARGON2ID13)),
                     "hashString": nacl.pwhash.argon2id.str(password, opslimit=ARGON_OPS, memlimit=ARGON_MEM).decode()},
        "blake2b": {"key": b64(blake_key), "message": b64(blake_message),
                    "digest": b64(__import__("hashlib").blake2b(blake_message, key=blake_key, digest_size=32).digest())},
        "room": {"epochKey": b64(epoch_key), "text": room_text,
                 "envelope": ref.seal_room_message(ref.body_bytes(room_text), "cross-check", 5, epoch_key, python,
                                                   os.urandom(16), os.urandom(24), os.urandom(32))},
        "bundle": {"epochKey": b64(epoch_key), "bundle": ref.seal_bundle(epoch_key, "cross-check", 5, swift.public, python)},
        "direct": {"text": direct_text,
                   "message": ref.seal_direct(ref.body_bytes(direct_text), python, swift.public, os.urandom(16), os.urandom(32))},
    }


def check_from_swift(made: dict, python: ref.Identity) -> None:
    print("objects made by the Swift code, checked by PyNaCl:")
    swift_public = unb64(made["peer"])
    s = made["signature"]
    ref.verify(swift_public, unb64(s["signature"]), unb64(s["message"]))
    check(True, "Ed25519 signature verifies")
    must_fail(lambda: ref.verify(swift_public, unb64(flip(s["signature"])), unb64(s["message"])), "altered signature")
    b = made["sealedBox"]
    check(sodium.crypto_box_seal_open(unb64(b["sealed"]), python.box_public, python.box_secret) == unb64(b["plaintext"]),
          "sealed box opens")
    must_fail(lambda: sodium.crypto_box_seal_open(unb64(flip(b["sealed"])), python.box_public, python.box_secret),
              "altered sealed box")
    a = made["aead"]
    check(sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(unb64(a["ciphertext"]), unb64(a["associatedData"]),
                                                            unb64(a["nonce"]), unb64(a["key"])) == unb64(a["plaintext"]),
          "XChaCha20-Poly1305 opens")
    must_fail(lambda: sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
        unb64(a["ciphertext"]), b"other", unb64(a["nonce"]), unb64(a["key"])), "AEAD with altered associated data")
    st = made["secretstream"]
    state = sodium.crypto_secretstream_xchacha20poly1305_state()
    sodium.crypto_secretstream_xchacha20poly1305_init_pull(state, unb64(st["header"]), unb64(st["key"]))
    pulled = [sodium.crypto_secretstream_xchacha20poly1305_pull(state, unb64(c)) for c in st["chunks"]]
    check([b64(m) for m, _ in pulled] == st["plaintext"], "secretstream chunks decrypt in order")
    check(pulled[-1][1] == sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL and
          all(t != sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL for _, t in pulled[:-1]),
          "secretstream final tag only on the last chunk")
    g = made["argon2id"]
    check(b64(sodium.crypto_pwhash_alg(32, unb64(g["password"]), unb64(g["salt"]), g["operations"], g["memoryBytes"],
                                       sodium.crypto_pwhash_ALG_ARGON2ID13)) == g["key"], "Argon2id key derivation agrees")
    check(nacl.pwhash.argon2id.verify(g["hashString"].encode(), unb64(g["password"])), "Argon2id hash string verifies")
    h = made["blake2b"]
    check(b64(__import__("hashlib").blake2b(unb64(h["message"]), key=unb64(h["key"]), digest_size=32).digest())
          == h["digest"], "keyed BLAKE2b agrees with CPython's hashlib")
    r = made["room"]
    check(json.loads(ref.open_room_message(r["envelope"], unb64(r["epochKey"])))["text"] == r["text"],
          "room envelope verifies and decrypts")
    tampered = dict(r["envelope"], epoch=r["envelope"]["epoch"] + 1)
    must_fail(lambda: ref.open_room_message(tampered, unb64(r["epochKey"])), "room envelope with altered epoch")
    k = made["bundle"]
    check(ref.open_bundle(k["bundle"], python) == unb64(k["epochKey"]), "epoch key bundle opens")
    must_fail(lambda: ref.open_bundle(dict(k["bundle"], sealed=flip(k["bundle"]["sealed"])), python), "altered bundle")
    d = made["direct"]
    sender, body = ref.open_direct(d["message"], python)
    check(json.loads(body)["text"] == d["text"] and sender == unb64(made["peer"]), "direct message opens to its sealed sender and verifies")
    check(len(unb64(d["message"]["sealed"])) - 48 == ref.padded_size(len(unb64(d["message"]["sealed"])) - 48, ref.SEALED_PADDING_FLOOR),
          "Swift pads a sealed message to its bucket")
    check(len(unb64(r["envelope"]["ciphertext"])) - 16 == ref.padded_size(len(unb64(r["envelope"]["ciphertext"])) - 16),
          "Swift pads a room message to its bucket")
    must_fail(lambda: ref.open_direct(dict(d["message"], franking=flip(d["message"]["franking"])), python),
              "direct message with altered commitment")


def main() -> None:
    sodium.sodium_init()
    check_vectors()
    check_room_log_vectors()
    python = ref.Identity(os.urandom(32))
    with tempfile.TemporaryDirectory(prefix="haven-crosscheck-") as directory:
        exchange = pathlib.Path(directory)
        (exchange / "from-python.json").write_text(json.dumps(make_for_swift(python, os.urandom(32))))
        print("objects made by PyNaCl, checked by the Swift code (swift test --filter CrossCheckTests):")
        command = ["swift", "test", "--skip-build", "--filter", "CrossCheckTests", *sys.argv[1:]]
        result = subprocess.run(command, cwd=ROOT, env={**os.environ, "HAVEN_CROSSCHECK_DIR": directory},
                                capture_output=True, text=True)
        output = result.stdout + result.stderr
        passed = result.returncode == 0 and "CrossCheckTests" in output and " passed" in output
        if not passed or not (exchange / "from-swift.json").exists():
            print(output)
            raise SystemExit("crosscheck FAILED: the Swift side did not pass")
        check(True, "Swift opened and verified everything PyNaCl made")
        check_from_swift(json.loads((exchange / "from-swift.json").read_text()), python)
    print("crosscheck passed")


if __name__ == "__main__":
    main()
