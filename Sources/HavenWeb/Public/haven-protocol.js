// Haven's protocol bytes in JavaScript (docs/crypto.md), over the libsodium binding: the same
// canonical byte strings, envelopes, bundles and direct messages as HavenProtocol in Swift.

const encoder = new TextEncoder();

/** Unpadded URL-safe base64. */
export function b64(bytes) {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** Strict unpadded URL-safe base64 decoding. */
export function unb64(text) {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) throw new Error("not unpadded base64url");
  const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/") + "=".repeat((4 - (text.length % 4)) % 4));
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  if (b64(bytes) !== text) throw new Error("non-canonical base64url");
  return bytes;
}

/** Label, a zero byte, fields as u32-BE length + bytes, integers as u64-BE. */
export class Canonical {
  constructor(label) { this.parts = [encoder.encode(label), new Uint8Array([0])]; }
  field(value) {
    const bytes = typeof value === "string" ? encoder.encode(value) : value;
    const length = new Uint8Array(4);
    new DataView(length.buffer).setUint32(0, bytes.length);
    this.parts.push(length, bytes);
    return this;
  }
  integer(value) {
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(value));
    this.parts.push(bytes);
    return this;
  }
  bytes() {
    const total = this.parts.reduce((sum, part) => sum + part.length, 0);
    const out = new Uint8Array(total);
    let offset = 0;
    for (const part of this.parts) { out.set(part, offset); offset += part.length; }
    return out;
  }
}

const equal = (a, b) => a.length === b.length && a.every((byte, index) => byte === b[index]);

/** The number of zero bits `hash` starts with. */
function leadingZeroBits(hash) {
  let bits = 0;
  for (const byte of hash) {
    if (byte !== 0) return bits + Math.clz32(byte) - 24;
    bits += 8;
  }
  return bits;
}

// Padding inside the encryption (docs/crypto.md, "Padding"): at least 256 bytes (1024 for a
// sealed message), above that Padmé's sizes, so a ciphertext's length shows only a bucket.
const paddingFloor = 256;
const sealedPaddingFloor = 1024;
const paddingBlock = (length) => {
  const exponent = 31 - Math.clz32(length);
  return 2 ** (exponent - (32 - Math.clz32(exponent)));
};
/** The bucket `length` bytes (at least 1) are padded up to. */
export function paddedSize(length, floor = paddingFloor) {
  if (length <= floor) return floor;
  const step = paddingBlock(length);
  return Math.ceil(length / step) * step;
}

export function haven(sodium) {
  const pad = (plaintext, floor = paddingFloor) => {
    const length = plaintext.length + 1;
    return sodium.pad(plaintext, length <= floor ? floor : paddingBlock(length));
  };
  // Strict: padded to a bucket, and to the bucket of what it holds.
  const unpad = (padded, floor = paddingFloor) => {
    if (padded.length < floor || paddedSize(padded.length, floor) !== padded.length) throw new Error("padding is invalid");
    const plaintext = sodium.unpad(padded, padded.length === floor ? floor : paddingBlock(padded.length));
    if (paddedSize(plaintext.length + 1, floor) !== padded.length) throw new Error("padding is invalid");
    return plaintext;
  };
  // A room message sealed before padding existed has none: it is taken whole, and the franking
  // check that follows still covers its body exactly.
  const unpaddedOrWhole = (plaintext) => { try { return unpad(plaintext); } catch { return plaintext; } };

  const frankingCommitment = (body, key) => sodium.blake2b(new Canonical("haven/v1/franking").field(body).bytes(), key, 32);
  const roomAssociatedData = (env) => new Canonical("haven/v1/room-message-ad").field(env.room).integer(env.epoch)
    .field(unb64(env.id)).field(unb64(env.sender)).bytes();
  // A logged envelope (sealed under an epoch the room log started) also signs the sender's view
  // of the log and their counter, under its own label.
  const roomSignedBytes = (env) => {
    const logged = env.logLength !== undefined;
    const bytes = new Canonical(logged ? "haven/v1/room-message-logged" : "haven/v1/room-message").field(env.room).integer(env.epoch)
      .field(unb64(env.id)).field(unb64(env.sender)).field(unb64(env.nonce)).field(unb64(env.ciphertext)).field(unb64(env.franking));
    return (logged ? bytes.integer(env.logLength).field(unb64(env.logHead)).integer(env.counter) : bytes).bytes();
  };
  const bundleSignedBytes = (bundle) => new Canonical("haven/v1/epoch-key").field(bundle.room).integer(bundle.epoch)
    .field(unb64(bundle.recipient)).field(unb64(bundle.sealer)).field(unb64(bundle.sealed)).bytes();
  // Words and call steps are signed under different labels, so neither passes for the other.
  const directSignedBytes = (id, sender, recipient, commitment, label = "haven/v1/direct-message") => new Canonical(label).field(id)
    .field(sender).field(recipient).field(commitment).bytes();
  const callLabel = "haven/v1/call-signal";

  const inviteSignedBytes = (invite) => new Canonical("haven/v1/invite").field(unb64(invite.id)).field(invite.role)
    .integer(invite.expiresAt).integer(invite.staffUntil).field(unb64(invite.inviteKey)).bytes();
  const rosterSignedBytes = (roster) => {
    const bytes = new Canonical("haven/v1/staff-roster").integer(roster.sequence).integer(roster.issuedAt).integer(roster.staff.length);
    for (const grant of roster.staff) bytes.field(unb64(grant.invite)).field(unb64(grant.member)).field(grant.role).integer(grant.until);
    bytes.integer(roster.revoked.length);
    for (const revocation of roster.revoked) bytes.field(unb64(revocation.member)).integer(revocation.since);
    return bytes.bytes();
  };
  const staffSignedBytes = (invite, member) => new Canonical("haven/v1/staff").field(unb64(invite.id)).field(invite.role)
    .field(member).bytes();

  // The reason is signed only when there is one: actions without one sign what they always did.
  const moderationSignedBytes = (a) => {
    const bytes = new Canonical("haven/v1/moderation").field(unb64(a.id)).field(a.kind).field(a.room ?? "")
      .field(a.target ? unb64(a.target) : new Uint8Array()).field(a.message ? unb64(a.message) : new Uint8Array())
      .integer(a.until ?? 0).field(a.lifts ? unb64(a.lifts) : new Uint8Array()).integer(a.issuedAt).field(unb64(a.moderator));
    return (typeof a.reason === "string" ? bytes.field(a.reason) : bytes).bytes();
  };

  return {
    moderationSignedBytes,
    /** A moderation action signed by `identity` (docs/crypto.md, "Moderation"). */
    moderationAction(fields, identity) {
      const action = { id: b64(sodium.randomBytes(16)), issuedAt: Math.floor(Date.now() / 1000), moderator: b64(identity.publicKey), ...fields };
      action.signature = b64(sodium.sign(moderationSignedBytes(action), identity.secretKey));
      return action;
    },
    /** The role of a member whose staff certificate chains to `organisationKey`, or a moderator
     *  appointed by such a counsellor; else null. */
    verifiedRole(info, organisationKey) {
      const chain = (staff, member) => {
        if (!staff || !organisationKey || staff.member !== member) return null;
        if (!sodium.verify(unb64(staff.invite.signature), inviteSignedBytes(staff.invite), organisationKey)) return null;
        if (!sodium.verify(unb64(staff.signature), staffSignedBytes(staff.invite, unb64(member)), unb64(staff.invite.inviteKey))) return null;
        return staff.invite.role;
      };
      const own = chain(info.staff, info.member);
      if (own) return own;
      const appointment = info.appointment;
      if (!appointment || appointment.kind !== "appoint" || appointment.target !== info.member || !info.appointedBy) return null;
      if (appointment.moderator !== info.appointedBy.member) return null;
      if (!sodium.verify(unb64(appointment.signature), moderationSignedBytes(appointment), unb64(appointment.moderator))) return null;
      return chain(info.appointedBy, info.appointedBy.member) === "counsellor" ? "moderator" : null;
    },
    /** True when `roster` is signed by `organisationKey` (docs/crypto.md, "Staff lifecycle"). */
    verifyRoster: (roster, organisationKey) => {
      try { return Boolean(organisationKey) && sodium.verify(unb64(roster.signature), rosterSignedBytes(roster), organisationKey); } catch { return false; }
    },
    /** The role a staff certificate's chain gives (organisation → invite → member), or null. */
    certificateRole(staff, organisationKey) {
      try {
        if (!staff || !organisationKey) return null;
        if (!sodium.verify(unb64(staff.invite.signature), inviteSignedBytes(staff.invite), organisationKey)) return null;
        if (!sodium.verify(unb64(staff.signature), staffSignedBytes(staff.invite, unb64(staff.member)), unb64(staff.invite.inviteKey))) return null;
        return staff.invite.role;
      } catch { return null; }
    },
    /** Checks a moderation action's signature (for the audit trail). */
    verifyAction: (action) => sodium.verify(unb64(action.signature), moderationSignedBytes(action), unb64(action.moderator)),
    /** Checks an invite against the organisation key and signs `identity`'s key with the link's secret. */
    redeemInvite(invite, seed, identity, organisationKey) {
      if (!sodium.verify(unb64(invite.signature), inviteSignedBytes(invite), organisationKey)) throw new Error("the invite is not signed by this organisation");
      const inviteKeys = sodium.signSeedKeypair(seed);
      if (b64(inviteKeys.publicKey) !== invite.inviteKey) throw new Error("the link's secret does not belong to this invite");
      return { invite, member: b64(identity.publicKey), signature: b64(sodium.sign(staffSignedBytes(invite, identity.publicKey), inviteKeys.secretKey)) };
    },
    identity(seed) {
      const { publicKey, secretKey } = sodium.signSeedKeypair(seed);
      return { publicKey, secretKey, boxPublic: sodium.publicKeyToCurve25519(publicKey), boxSecret: sodium.secretKeyToCurve25519(secretKey) };
    },
    authSignedBytes: (server, nonce, member) => new Canonical("haven/v1/auth").field(server).field(nonce).field(member).bytes(),
    /** The work `proof` (8 bytes) shows for this challenge and member, in bits (docs/crypto.md, "Login"). */
    proofOfWorkBits(server, nonce, member, proof) {
      const prefix = new Canonical("haven/v1/proof-of-work").field(server).field(nonce).field(member).bytes();
      return leadingZeroBits(sodium.blake2b(new Uint8Array([...prefix, ...proof]), new Uint8Array(), 32));
    },
    /** Finds the proof of `bits` of work a new identity shows at login: the first little-endian
     *  counter that works, as the server and the reference find it. It yields to the page between
     *  batches, so a phone stays responsive while it works, and gives up (null) once `abandoned()`. */
    async solveProofOfWork(server, nonce, member, bits, abandoned = () => false) {
      const prefix = new Canonical("haven/v1/proof-of-work").field(server).field(nonce).field(member).bytes();
      const attempt = new Uint8Array(prefix.length + 8);
      attempt.set(prefix);
      const counter = new DataView(attempt.buffer, prefix.length, 8);
      const empty = new Uint8Array();
      for (let value = 0n; ; value += 1n) {
        counter.setBigUint64(0, value, true);
        if (leadingZeroBits(sodium.blake2b(attempt, empty, 32)) >= bits) return attempt.slice(prefix.length);
        if (value % 4096n === 4095n) {
          await new Promise((resolve) => setTimeout(resolve, 0));
          if (abandoned()) return null;
        }
      }
    },
    frankingCommitment,
    roomAssociatedData,
    roomSignedBytes,
    bundleSignedBytes,
    directSignedBytes,
    sealRoomMessage(body, room, epoch, key, sender, id, nonce, frankingKey, view = {}) {
      const env = { room, epoch, id: b64(id), sender: b64(sender.publicKey), nonce: b64(nonce), ...view };
      const plaintext = pad(new Uint8Array([...frankingKey, ...body]));
      env.ciphertext = b64(sodium.aeadEncrypt(plaintext, roomAssociatedData(env), nonce, key));
      env.franking = b64(frankingCommitment(body, frankingKey));
      env.signature = b64(sodium.sign(roomSignedBytes(env), sender.secretKey));
      return env;
    },
    openRoomMessage(env, key) {
      if (!sodium.verify(unb64(env.signature), roomSignedBytes(env), unb64(env.sender))) throw new Error("room message signature does not verify");
      const plaintext = unpaddedOrWhole(sodium.aeadDecrypt(unb64(env.ciphertext), roomAssociatedData(env), unb64(env.nonce), key));
      const frankingKey = plaintext.slice(0, 32);
      const body = plaintext.slice(32);
      if (!equal(frankingCommitment(body, frankingKey), unb64(env.franking))) throw new Error("franking mismatch");
      return body;
    },
    openBundle(bundle, identity) {
      if (!equal(unb64(bundle.recipient), identity.publicKey)) throw new Error("bundle is addressed to another member");
      if (!sodium.verify(unb64(bundle.signature), bundleSignedBytes(bundle), unb64(bundle.sealer))) throw new Error("bundle signature does not verify");
      return sodium.sealOpen(unb64(bundle.sealed), identity.boxPublic, identity.boxSecret);
    },
    pad,
    unpad,
    /** Seals `body` to `recipient` with the sender inside the seal (docs/crypto.md, "Direct messages"). */
    sealDirect(body, sender, recipient, id, frankingKey, label = undefined) {
      const commitment = frankingCommitment(body, frankingKey);
      const signature = sodium.sign(directSignedBytes(id, sender.publicKey, recipient, commitment, label), sender.secretKey);
      const plaintext = pad(new Uint8Array([...sender.publicKey, ...signature, ...frankingKey, ...body]), sealedPaddingFloor);
      const sealed = sodium.seal(plaintext, sodium.publicKeyToCurve25519(recipient));
      return { id: b64(id), recipient: b64(recipient), franking: b64(commitment), sealed: b64(sealed) };
    },
    /** Opens a direct message: its sender (found inside the seal), body, and what a report of it
     *  would reveal. A message from before sealed senders names its sender beside the seal. */
    openDirect(message, identity, label = undefined) {
      if (!equal(unb64(message.recipient), identity.publicKey)) throw new Error("direct message is addressed to another member");
      let plaintext = sodium.sealOpen(unb64(message.sealed), identity.boxPublic, identity.boxSecret);
      let sender;
      if (message.sender === undefined) {
        plaintext = unpad(plaintext, sealedPaddingFloor);
        if (plaintext.length < 128) throw new Error("direct message is too short");
        sender = plaintext.slice(0, 32);
        plaintext = plaintext.slice(32);
      } else {
        // Only words were ever sent the old way: a call step is always sealed sender.
        if (label !== undefined) throw new Error("a call signal names its sender inside the seal");
        sender = unb64(message.sender);
      }
      const signature = plaintext.slice(0, 64);
      const frankingKey = plaintext.slice(64, 96);
      const body = plaintext.slice(96);
      const commitment = unb64(message.franking);
      const signed = directSignedBytes(unb64(message.id), sender, identity.publicKey, commitment, label);
      if (!sodium.verify(signature, signed, sender)) throw new Error("direct message signature does not verify");
      if (!equal(frankingCommitment(body, frankingKey), commitment)) throw new Error("franking mismatch");
      return { sender: b64(sender), body, evidence: { body: b64(body), frankingKey: b64(frankingKey), signature: b64(signature) } };
    },
    /** Seals one call signalling step to `recipient` as a call frame (docs/protocol.md, "Calls"). */
    sealCallSignal(signal, sender, recipient) {
      const body = new TextEncoder().encode(JSON.stringify({ call: signal }));
      const message = this.sealDirect(body, sender, recipient, sodium.randomBytes(16), sodium.randomBytes(32), callLabel);
      return { call: signal.call, signal: signal.kind, message };
    },
    /** Opens a call frame, checks that the sealed step is the one the frame names, and returns it
     *  with its sender (from inside the seal). */
    openCallSignal(frame, identity) {
      const opened = this.openDirect(frame.message, identity, callLabel);
      const { call } = JSON.parse(new TextDecoder().decode(opened.body));
      if (!call || call.call !== frame.call || call.kind !== frame.signal) throw new Error("the sealed call signal does not match its frame");
      return { signal: call, sender: opened.sender };
    },
    /** The DTLS fingerprints a session description names, as "sha-256 AB:CD:…". */
    sdpFingerprints(sdp) {
      return [...sdp.matchAll(/^a=fingerprint:(\S+) ([0-9A-Fa-f:]+)\s*$/gm)].map((m) => `${m[1].toLowerCase()} ${m[2].toUpperCase()}`);
    },
    /** A moderator's check of a report: the evidence is exactly what the sender signed. */
    verifyReport(entry) {
      const evidence = entry.report.evidence;
      const stored = entry.stored;
      if (!evidence || !stored) return false;
      const commitment = unb64(stored.franking);
      if (!equal(frankingCommitment(unb64(evidence.body), unb64(evidence.frankingKey)), commitment)) return false;
      const sender = entry.report.sender;
      if (stored.sender !== undefined && stored.sender !== sender) return false;
      const signed = directSignedBytes(unb64(stored.id), unb64(sender), unb64(entry.reporter), commitment);
      return sodium.verify(unb64(evidence.signature), signed, unb64(sender));
    },
  };
}
