"""An independent Python implementation of Haven's protocol bytes (docs/crypto.md), over PyNaCl.

PyNaCl bundles its own build of libsodium, CPython's hashlib has its own BLAKE2b, and the
base64 module its own codec, so agreement with the Swift code is a real cross-check of both
the code and the written specification. This module has no I/O.
"""
import base64
import hashlib
import json
import struct

import nacl.bindings as sodium

LABEL_AUTH = "haven/v1/auth"
LABEL_PROOF_OF_WORK = "haven/v1/proof-of-work"
LABEL_ROOM_MESSAGE = "haven/v1/room-message"
LABEL_ROOM_MESSAGE_AD = "haven/v1/room-message-ad"
LABEL_EPOCH_KEY = "haven/v1/epoch-key"
LABEL_DIRECT_MESSAGE = "haven/v1/direct-message"
LABEL_FRANKING = "haven/v1/franking"


def b64(data: bytes) -> str:
    """Unpadded URL-safe base64."""
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64(text: str) -> bytes:
    """Strict unpadded URL-safe base64 decoding (rejects padding and non-canonical text)."""
    if "=" in text or len(text) % 4 == 1:
        raise ValueError("not unpadded base64url")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64(data) != text:
        raise ValueError("non-canonical base64url")
    return data


class Canonical:
    """Label, a zero byte, then fields as u32-BE length + bytes, integers as u64-BE."""

    def __init__(self, label: str):
        self.data = bytearray(label.encode() + b"\x00")

    def field(self, value) -> "Canonical":
        if isinstance(value, str):
            value = value.encode()
        self.data += struct.pack(">I", len(value)) + value
        return self

    def integer(self, value: int) -> "Canonical":
        self.data += struct.pack(">Q", value)
        return self

    def bytes(self) -> bytes:
        return bytes(self.data)


class Identity:
    """An Ed25519 identity from a 32-byte seed, with its X25519 form."""

    def __init__(self, seed: bytes):
        self.public, self.secret = sodium.crypto_sign_seed_keypair(seed)
        self.box_public = sodium.crypto_sign_ed25519_pk_to_curve25519(self.public)
        self.box_secret = sodium.crypto_sign_ed25519_sk_to_curve25519(self.secret)

    def sign(self, message: bytes) -> bytes:
        return sodium.crypto_sign(message, self.secret)[:64]


def verify(public: bytes, signature: bytes, message: bytes) -> None:
    """Raises nacl.exceptions.BadSignatureError when the signature does not verify."""
    sodium.crypto_sign_open(signature + message, public)


def franking_commitment(body: bytes, key: bytes) -> bytes:
    return hashlib.blake2b(Canonical(LABEL_FRANKING).field(body).bytes(), key=key, digest_size=32).digest()


def auth_signed_bytes(server: str, nonce: bytes, member: bytes) -> bytes:
    return Canonical(LABEL_AUTH).field(server).field(nonce).field(member).bytes()


def proof_of_work_bits(server: str, nonce: bytes, member: bytes, proof: bytes) -> int:
    """The zero bits BLAKE2b-256(canonical(label, server, nonce, member) || proof) starts with."""
    digest = hashlib.blake2b(Canonical(LABEL_PROOF_OF_WORK).field(server).field(nonce).field(member).bytes() + proof,
                             digest_size=32).digest()
    bits = 0
    for byte in digest:
        if byte:
            return bits + 8 - byte.bit_length()
        bits += 8
    return bits


def solve_proof_of_work(server: str, nonce: bytes, member: bytes, bits: int) -> bytes:
    """The first 8-byte little-endian counter whose proof shows `bits` of work."""
    counter = 0
    while proof_of_work_bits(server, nonce, member, counter.to_bytes(8, "little")) < bits:
        counter += 1
    return counter.to_bytes(8, "little")


PADDING_FLOOR = 256
SEALED_PADDING_FLOOR = 1024


def padding_block(length: int) -> int:
    """Padme's step above the floor: 2^(E - S), E = floor(log2 length), S = floor(log2 E) + 1."""
    exponent = length.bit_length() - 1
    return 1 << (exponent - exponent.bit_length())


def padded_size(length: int, floor: int = PADDING_FLOOR) -> int:
    """The bucket `length` bytes are padded up to (docs/crypto.md, "Padding")."""
    if length <= floor:
        return floor
    step = padding_block(length)
    return (length + step - 1) // step * step


def pad(plaintext: bytes, floor: int = PADDING_FLOOR) -> bytes:
    length = len(plaintext) + 1
    return sodium.sodium_pad(plaintext, floor if length <= floor else padding_block(length))


def unpad(padded: bytes, floor: int = PADDING_FLOOR) -> bytes:
    """Strict: the padded length is a bucket, and the bucket of what it holds."""
    if padded_size(len(padded), floor) != len(padded) or len(padded) < floor:
        raise ValueError("not a padded size")
    plaintext = sodium.sodium_unpad(padded, floor if len(padded) == floor else padding_block(len(padded)))
    if padded_size(len(plaintext) + 1, floor) != len(padded):
        raise ValueError("padded past its bucket")
    return plaintext


def room_associated_data(room: str, epoch: int, message_id: bytes, sender: bytes) -> bytes:
    return Canonical(LABEL_ROOM_MESSAGE_AD).field(room).integer(epoch).field(message_id).field(sender).bytes()


def room_signed_bytes(env: dict) -> bytes:
    return (Canonical(LABEL_ROOM_MESSAGE).field(env["room"]).integer(env["epoch"]).field(unb64(env["id"]))
            .field(unb64(env["sender"])).field(unb64(env["nonce"])).field(unb64(env["ciphertext"]))
            .field(unb64(env["franking"])).bytes())


def seal_room_message(body: bytes, room: str, epoch: int, key: bytes, sender: Identity,
                      message_id: bytes, nonce: bytes, franking_key: bytes) -> dict:
    ad = room_associated_data(room, epoch, message_id, sender.public)
    ciphertext = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(pad(franking_key + body), ad, nonce, key)
    env = {"room": room, "epoch": epoch, "id": b64(message_id), "sender": b64(sender.public), "nonce": b64(nonce),
           "ciphertext": b64(ciphertext), "franking": b64(franking_commitment(body, franking_key))}
    env["signature"] = b64(sender.sign(room_signed_bytes(env)))
    return env


def open_room_message(env: dict, key: bytes) -> bytes:
    """Verifies, decrypts and checks franking; returns the body bytes."""
    verify(unb64(env["sender"]), unb64(env["signature"]), room_signed_bytes(env))
    ad = room_associated_data(env["room"], env["epoch"], unb64(env["id"]), unb64(env["sender"]))
    plaintext = unpad(sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(unb64(env["ciphertext"]), ad, unb64(env["nonce"]), key))
    franking_key, body = plaintext[:32], plaintext[32:]
    if franking_commitment(body, franking_key) != unb64(env["franking"]):
        raise ValueError("franking mismatch")
    return body


def bundle_signed_bytes(bundle: dict) -> bytes:
    return (Canonical(LABEL_EPOCH_KEY).field(bundle["room"]).integer(bundle["epoch"]).field(unb64(bundle["recipient"]))
            .field(unb64(bundle["sealer"])).field(unb64(bundle["sealed"])).bytes())


def seal_bundle(key: bytes, room: str, epoch: int, recipient: bytes, sealer: Identity) -> dict:
    sealed = sodium.crypto_box_seal(key, sodium.crypto_sign_ed25519_pk_to_curve25519(recipient))
    bundle = {"room": room, "epoch": epoch, "recipient": b64(recipient), "sealer": b64(sealer.public), "sealed": b64(sealed)}
    bundle["signature"] = b64(sealer.sign(bundle_signed_bytes(bundle)))
    return bundle


def open_bundle(bundle: dict, recipient: Identity) -> bytes:
    if unb64(bundle["recipient"]) != recipient.public:
        raise ValueError("wrong recipient")
    verify(unb64(bundle["sealer"]), unb64(bundle["signature"]), bundle_signed_bytes(bundle))
    return sodium.crypto_box_seal_open(unb64(bundle["sealed"]), recipient.box_public, recipient.box_secret)


def direct_signed_bytes(message_id: bytes, sender: bytes, recipient: bytes, commitment: bytes) -> bytes:
    return Canonical(LABEL_DIRECT_MESSAGE).field(message_id).field(sender).field(recipient).field(commitment).bytes()


def seal_direct(body: bytes, sender: Identity, recipient: bytes, message_id: bytes, franking_key: bytes) -> dict:
    commitment = franking_commitment(body, franking_key)
    signature = sender.sign(direct_signed_bytes(message_id, sender.public, recipient, commitment))
    sealed = sodium.crypto_box_seal(pad(sender.public + signature + franking_key + body, SEALED_PADDING_FLOOR),
                                    sodium.crypto_sign_ed25519_pk_to_curve25519(recipient))
    return {"id": b64(message_id), "recipient": b64(recipient), "franking": b64(commitment), "sealed": b64(sealed)}


def open_direct(message: dict, recipient: Identity) -> tuple:
    """Opens, verifies the inner signature and franking; returns (sender, body bytes)."""
    if unb64(message["recipient"]) != recipient.public or "sender" in message:
        raise ValueError("wrong recipient, or a sender beside the seal")
    plaintext = unpad(sodium.crypto_box_seal_open(unb64(message["sealed"]), recipient.box_public, recipient.box_secret),
                      SEALED_PADDING_FLOOR)
    sender, signature, franking_key, body = plaintext[:32], plaintext[32:96], plaintext[96:128], plaintext[128:]
    commitment = unb64(message["franking"])
    verify(sender, signature, direct_signed_bytes(unb64(message["id"]), sender, recipient.public, commitment))
    if franking_commitment(body, franking_key) != commitment:
        raise ValueError("franking mismatch")
    return sender, body


def body_bytes(text: str) -> bytes:
    """A message body as Haven's clients encode it: sorted keys, no spaces, UTF-8."""
    return json.dumps({"text": text}, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
