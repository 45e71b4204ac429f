// Checks the JavaScript crypto (libsodium in WebAssembly + haven-protocol.js) against the test
// vectors the Swift code and PyNaCl also check. Run: node Tests/Web/vectors.test.mjs
import { readFileSync } from "node:fs";
import { webcrypto } from "node:crypto";
import assert from "node:assert/strict";
import { loadSodium } from "../../Sources/HavenWeb/Public/sodium.js";
import { haven, b64, unb64, paddedSize } from "../../Sources/HavenWeb/Public/haven-protocol.js";
import { roomKeyring, LogError } from "../../Sources/HavenWeb/Public/room-keyring.js";
import { StaffTrust } from "../../Sources/HavenWeb/Public/staff-trust.js";
import { nameProblem } from "../../Sources/HavenWeb/Public/names.js";

const root = new URL("../../", import.meta.url);
const sodium = await loadSodium(readFileSync(new URL("Sources/HavenWeb/Public/sodium.wasm", root)), (bytes) => webcrypto.getRandomValues(bytes));
const protocol = haven(sodium);
const vectors = JSON.parse(readFileSync(new URL("Tests/HavenProtocolTests/Vectors/vectors.json", root), "utf8"));
let checks = 0;
const check = (condition, what) => { assert.ok(condition, what); checks += 1; };
const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

const ids = {};
for (const item of vectors.identities) {
  ids[item.name] = protocol.identity(unb64(item.seed));
  check(b64(ids[item.name].publicKey) === item.ed25519Public, `identity ${item.name}`);
  check(b64(ids[item.name].boxPublic) === item.x25519Public, `identity ${item.name} X25519`);
}
for (const item of vectors.base64url) {
  check(b64(Uint8Array.from(item.hex.match(/../g) ?? [], (h) => parseInt(h, 16))) === item.text, `base64url ${item.hex}`);
}
for (const bad of ["aGF2ZW4=", "aGF2 ZW4", "+/8", "a", "aGF2ZW5"]) {
  assert.throws(() => unb64(bad), `rejects ${bad}`);
  checks += 1;
}
check(b64(protocol.frankingCommitment(unb64(vectors.franking.body), unb64(vectors.franking.key))) === vectors.franking.commitment, "franking");

const auth = vectors.auth;
const authBytes = protocol.authSignedBytes(auth.server, unb64(auth.nonce), ids[auth.member].publicKey);
check(b64(authBytes) === auth.signedBytes, "login signed bytes");
check(b64(sodium.sign(authBytes, ids[auth.member].secretKey)) === auth.signature, "login signature");

const work = vectors.proofOfWork;
const workMember = ids[work.member].publicKey;
check(protocol.proofOfWorkBits(work.server, unb64(work.nonce), workMember, unb64(work.proof)) >= work.bits, "proof of work checks");
check(b64(await protocol.solveProofOfWork(work.server, unb64(work.nonce), workMember, work.bits)) === work.proof, "proof of work found as the reference finds it");
check(protocol.proofOfWorkBits(work.server, new Uint8Array(32), workMember, unb64(work.proof)) < work.bits, "proof of work is bound to its challenge");

const room = vectors.roomMessage;
const env = room.envelope;
check(b64(protocol.roomAssociatedData(env)) === room.associatedData, "room associated data");
check(b64(protocol.roomSignedBytes(env)) === room.signedBytes, "room signed bytes");
check(b64(protocol.openRoomMessage(env, unb64(room.epochKey))) === room.body, "room message opens");
const resealed = protocol.sealRoomMessage(unb64(room.body), env.room, env.epoch, unb64(room.epochKey), ids[room.sender],
  unb64(env.id), unb64(env.nonce), unb64(room.frankingKey));
check(JSON.stringify(Object.entries(resealed).sort()) === JSON.stringify(Object.entries(env).sort()), "room message reseals byte for byte");
const tampered = { ...env, epoch: env.epoch + 1 };
assert.throws(() => protocol.openRoomMessage(tampered, unb64(room.epochKey)));
checks += 1;

const bundle = vectors.epochKeyBundle;
check(b64(protocol.bundleSignedBytes(bundle.bundle)) === bundle.signedBytes, "bundle signed bytes");
check(b64(protocol.openBundle(bundle.bundle, ids[bundle.recipient])) === bundle.epochKey, "bundle opens");
assert.throws(() => protocol.openBundle(bundle.bundle, ids[bundle.sealer]));
checks += 1;

const direct = vectors.directMessage;
const openedDirect = protocol.openDirect(direct.message, ids[direct.recipient]);
check(b64(openedDirect.body) === direct.body && openedDirect.sender === b64(ids[direct.sender].publicKey), "direct message opens to its body and sealed sender");
check(direct.message.sender === undefined, "no sender beside the seal");
const mine = protocol.sealDirect(unb64(direct.body), ids.carol, ids.bob.publicKey, unb64(direct.message.id), unb64(direct.frankingKey));
check(mine.sender === undefined && unb64(mine.sealed).length === unb64(direct.message.sealed).length, "a sealed message is the reference's size");
check(protocol.openDirect(mine, ids.bob).sender === b64(ids.carol.publicKey), "a sealed message opens to its sender");
assert.throws(() => protocol.openDirect({ ...direct.message, sender: b64(ids.alice.publicKey) }, ids.bob), /signature/);
checks += 1;
const legacy = vectors.legacyDirectMessage;
const openedLegacy = protocol.openDirect(legacy.message, ids[legacy.recipient]);
check(b64(openedLegacy.body) === legacy.body && openedLegacy.sender === legacy.message.sender, "a direct message from before sealed senders opens");

const padding = vectors.padding;
for (const item of padding.buckets) check(paddedSize(item.length) === item.bucket, `bucket of ${item.length}`);
for (const item of padding.examples) {
  check(b64(protocol.pad(unb64(item.plaintext))) === item.padded, `padding ${unb64(item.plaintext).length} bytes`);
  check(b64(protocol.unpad(unb64(item.padded))) === item.plaintext, `unpadding ${unb64(item.plaintext).length} bytes`);
}
for (const item of padding.sealedBuckets) check(paddedSize(item.length, padding.sealedFloor) === item.bucket, `sealed bucket of ${item.length}`);
for (const item of padding.sealedExamples) {
  check(b64(protocol.pad(unb64(item.plaintext), padding.sealedFloor)) === item.padded, `sealed padding ${unb64(item.plaintext).length} bytes`);
  check(b64(protocol.unpad(unb64(item.padded), padding.sealedFloor)) === item.plaintext, `sealed unpadding ${unb64(item.plaintext).length} bytes`);
}
for (const item of padding.invalid) {
  assert.throws(() => protocol.unpad(unb64(item.padded)), /padding is invalid/, item.why);
  checks += 1;
}
check(unb64(env.ciphertext).length - 16 === paddedSize(unb64(env.ciphertext).length - 16), "a room ciphertext is a bucket plus its tag");
const sealed = sodium.seal(new TextEncoder().encode("from JavaScript"), ids.bob.boxPublic);
check(same(sodium.sealOpen(sealed, ids.bob.boxPublic, ids.bob.boxSecret), new TextEncoder().encode("from JavaScript")), "seal round trip");
assert.throws(() => sodium.sealOpen(sealed.slice(0, 31), ids.bob.boxPublic, ids.bob.boxSecret), /too short: 31 bytes, need at least 48/);
checks += 1;

const fileKey = sodium.randomBytes(32);
const file = sodium.randomBytes(150000);
const { header, ciphertext } = sodium.streamEncrypt(file, fileKey, 65536);
check(ciphertext.length === file.length + 3 * 17, "secretstream adds 17 bytes per chunk");
check(same(sodium.streamDecrypt(ciphertext, header, fileKey, 65536), file), "secretstream round trip");
assert.throws(() => sodium.streamDecrypt(ciphertext.slice(0, 65536 + 17), header, fileKey, 65536), /truncated/);
const altered = ciphertext.slice();
altered[100] ^= 1;
assert.throws(() => sodium.streamDecrypt(altered, header, fileKey, 65536), /authentication/);
checks += 2;

// Call signalling: a sealed step opens for its recipient only, and must match its frame.
const [caller, callee] = Object.values(ids);
const fingerprint = `sha-256 ${Array.from({ length: 32 }, (_, i) => (i * 7).toString(16).padStart(2, "0").toUpperCase()).join(":")}`;
const ring = { call: b64(sodium.randomBytes(16)), kind: "ring", media: "video", fingerprint };
const callFrame = protocol.sealCallSignal(ring, caller, callee.publicKey);
check(callFrame.signal === "ring" && callFrame.call === ring.call, "a call frame names its step");
const openedCall = protocol.openCallSignal(callFrame, callee);
check(JSON.stringify(openedCall.signal) === JSON.stringify(ring) && openedCall.sender === b64(caller.publicKey), "a call signal opens for its recipient, with its sender");
assert.throws(() => protocol.openCallSignal(callFrame, caller), /addressed to another member/);
assert.throws(() => protocol.openCallSignal({ ...callFrame, signal: "accept" }, callee), /does not match its frame/);
checks += 2;
const sdp = `v=0\r\na=fingerprint:SHA-256 ${fingerprint.slice(8).toLowerCase()}\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n`;
check(JSON.stringify(protocol.sdpFingerprints(sdp)) === JSON.stringify([fingerprint]), "the fingerprint is read from a session description");

// The room log and keyring (room-keyring.js) judge every sequence as Swift and PyNaCl do.
const logVectors = JSON.parse(readFileSync(new URL("Tests/HavenProtocolTests/Vectors/room-log.json", root), "utf8"));
const rules = roomKeyring(sodium, protocol);
const organisationKey = unb64(logVectors.organisation);
const identityOf = (name) => protocol.identity(unb64(logVectors.seeds[name]));
for (const item of logVectors.entryBytes) {
  check(b64(rules.signedBytes(item.entry)) === item.signedBytes, `log entry bytes (${item.entry.kind})`);
  check(b64(rules.entryHash(item.entry)) === item.hash, `log entry hash (${item.entry.kind})`);
}
const { commitment } = logVectors;
check(b64(rules.commitment(logVectors.room, commitment.epoch, unb64(commitment.key))) === commitment.commitment, "epoch key commitment");
const keyringFedWith = (name, entries) => {
  const keyring = new rules.RoomKeyring(logVectors.room, identityOf(name), organisationKey);
  const warnings = entries.flatMap((entry) => keyring.receive(entry).warnings);
  return { keyring, warnings };
};
const sorted = (set) => [...set].sort((a, b) => Buffer.compare(Buffer.from(unb64(a)), Buffer.from(unb64(b))));
for (const sequence of logVectors.sequences) {
  const log = new rules.RoomLog(logVectors.room, organisationKey);
  let accepted = 0;
  let refusal = null;
  for (const entry of sequence.entries) {
    try { log.append(entry); accepted += 1; } catch (error) {
      if (!(error instanceof LogError)) throw error;
      refusal = error.name;
      break;
    }
  }
  check(accepted === sequence.accepted && refusal === sequence.error, `${sequence.name}: ${refusal ?? "accepted"}`);
  check(JSON.stringify(sorted(log.members)) === JSON.stringify(sequence.members), `${sequence.name}: members`);
  check(JSON.stringify(sorted(log.excluded)) === JSON.stringify(sequence.excluded), `${sequence.name}: excluded`);
  check((log.currentEpoch?.epoch ?? null) === sequence.epoch && log.length === sequence.length && b64(log.head) === sequence.head, `${sequence.name}: epoch and head`);
  const { keyring, warnings } = keyringFedWith("alice", sequence.entries);
  check(keyring.mustRotate === sequence.mustRotate, `${sequence.name}: must rotate`);
  check(warnings.length === (sequence.error === null || sequence.error === "outOfOrder" ? 0 : 1), `${sequence.name}: warnings`);
}
for (const item of logVectors.bundles) {
  const { keyring } = keyringFedWith(item.recipient, logVectors.sequences[item.sequence].entries);
  const result = keyring.receiveBundle(item.bundle);
  check((result.kind === "refused" ? result.warning?.kind : result.kind) === item.result, item.name);
}
const logged = logVectors.loggedEnvelope;
check(b64(protocol.roomSignedBytes(logged.envelope)) === logged.signedBytes, "a logged envelope's signed bytes");
check(new TextDecoder().decode(protocol.openRoomMessage(logged.envelope, unb64(logged.epochKey))).includes("The log agrees."), "a logged envelope opens");
assert.throws(() => protocol.openRoomMessage({ ...logged.envelope, counter: 2 }, unb64(logged.epochKey)), /signature/);
checks += 1;

// Who is staff at a time: the same judgements as the Swift StaffTrust and the Python reference.
const staffVectors = JSON.parse(readFileSync(new URL("Tests/HavenProtocolTests/Vectors/staff-trust.json", root), "utf8"));
const memoryStorage = () => { const items = new Map(); return { getItem: (k) => items.get(k) ?? null, setItem: (k, v) => items.set(k, v) }; };
for (const item of staffVectors.cases) {
  const trust = new StaffTrust(protocol, unb64(staffVectors.organisation), memoryStorage());
  check(item.rosters.map((roster) => trust.adopt(roster)).join() === item.adopted.join(), `${item.name}: rosters adopted`);
  item.noticed.forEach((info) => trust.notice(info));
  check(trust.role(item.info, item.time) === item.role, item.name);
}

// Names: the same cases DisplayName in Swift judges (FrameCodecTests).
const names = JSON.parse(readFileSync(new URL("Tests/HavenProtocolTests/Vectors/names.json", root), "utf8"));
for (const name of names.refused) check(nameProblem(name) !== null, `refuses ${JSON.stringify(name)}`);
for (const name of names.accepted) check(nameProblem(name) === null, `accepts ${JSON.stringify(name)}`);

console.log(`web crypto: ${checks} checks against the test vectors passed`);
