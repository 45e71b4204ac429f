// The room log in JavaScript: the same rules as RoomLog in HavenProtocol (Swift) and the PyNaCl
// reference, checked against the same test vectors: entry bytes, hashes, key commitments, and who
// may write what. A member's browser decides from the log it verified itself who is in a room.
import { b64, unb64, Canonical } from "./haven-protocol.js";

const empty = new Uint8Array();
const zeroHash = new Uint8Array(32);
/** Byte arrays with the same contents. */
export const same = (a, b) => a.length === b.length && a.every((byte, index) => byte === b[index]);
const compareBytes = (a, b) => {
  for (let index = 0; index < Math.min(a.length, b.length); index += 1) if (a[index] !== b[index]) return a[index] - b[index];
  return a.length - b.length;
};
const concat = (parts) => {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) { out.set(part, offset); offset += part.length; }
  return out;
};
const moderationKinds = ["admit", "remove", "ban", "lift"];

/** Member ids sorted by their key bytes, the one order the log writes a set in. */
export function sortMembers(members) {
  return [...members].sort((a, b) => compareBytes(unb64(a), unb64(b)));
}

/** Why an entry was refused: `name` matches RoomLogError's case in Swift, `code` the wire code. */
export class LogError extends Error {
  constructor(name, detail = "") {
    super(detail ? `${name}: ${detail}` : name);
    this.name = name;
    this.code = name === "outOfOrder" || name === "brokenChain" ? "log_conflict" : "log_refused";
  }
}
const refuse = (name, detail) => { throw new LogError(name, detail); };

/** The log's rules over the libsodium binding and the protocol helpers. */
export function roomLog(sodium, protocol) {
  const signedBytes = (e) => new Canonical("haven/v1/room-log").field(e.room).integer(e.seq).field(unb64(e.previous)).field(e.kind)
    .field(unb64(e.author)).integer(e.epoch ?? 0).field(e.commitment ? unb64(e.commitment) : empty).field(e.reason ?? "")
    .field(e.mode ?? "").field(concat((e.members ?? []).map(unb64))).field(concat((e.excluded ?? []).map(unb64)))
    .field(e.action ? protocol.moderationSignedBytes(e.action) : empty).field(e.action ? unb64(e.action.signature) : empty).bytes();
  const entryHash = (e) => sodium.blake2b(new Canonical("haven/v1/room-log-hash").field(signedBytes(e)).field(unb64(e.signature)).bytes(), empty, 32);
  const commitment = (room, epoch, key) => sodium.blake2b(new Canonical("haven/v1/epoch-commitment").field(room).integer(epoch).bytes(), key, 32);
  const sign = (entry, identity) => ({ ...entry, signature: b64(sodium.sign(signedBytes(entry), identity.secretKey)) });

  /** Each kind carries exactly its own fields, with the right lengths, and the author signed it. */
  function verifyEntry(e) {
    const isEpoch = e.kind === "epoch";
    const check = (present, needed, field) => {
      if (needed && !present) refuse("invalid", `missing field entry.${field}`);
      if (!needed && present) refuse("invalid", `entry.${field} is not allowed in a ${e.kind} entry`);
    };
    if (!["epoch", "join", "leave", ...moderationKinds].includes(e.kind)) refuse("invalid", "unknown kind");
    // Integers are JSON numbers from 0 to 2^53-1, exactly as Swift reads them; "9" or 1.5 is refused.
    const integer = (value) => Number.isSafeInteger(value) && value >= 0;
    if (typeof e.room !== "string" || !integer(e.seq) || (isEpoch && !integer(e.epoch))) refuse("invalid", "not an integer");
    for (const field of ["epoch", "commitment", "reason", "mode", "members", "excluded"]) check(e[field] !== undefined && e[field] !== null, isEpoch, field);
    check(Boolean(e.action), moderationKinds.includes(e.kind), "action");
    try {
      if (unb64(e.previous).length !== 32 || unb64(e.signature).length !== 64 || unb64(e.author).length !== 32) refuse("invalid", "wrong length");
      if (isEpoch && unb64(e.commitment).length !== 32) refuse("invalid", "wrong length");
    } catch (error) { if (error instanceof LogError) throw error; refuse("invalid", "not base64url"); }
    if (isEpoch && !/^[a-z_]{1,32}$/.test(e.reason)) refuse("invalid", "reason");
    if (isEpoch && !["open", "private"].includes(e.mode)) refuse("invalid", "mode");
    for (const list of [e.members, e.excluded]) {
      if (list && (sortMembers(list).join() !== list.join() || new Set(list).size !== list.length)) refuse("invalid", "member lists are sorted, without repeats");
    }
    if (!sodium.verify(unb64(e.signature), signedBytes(e), unb64(e.author))) refuse("invalid", "room log entry signature does not verify");
  }

  /** A room's verified log: hash chain, signatures, who may write what, members and epochs. */
  class RoomLog {
    constructor(room, organisationKey) {
      // grounds: for members of a private room, the staff proof their place rests on (their own,
      // or their admitter's with the admission's time), re-checked before a key is sealed to them.
      Object.assign(this, { room, organisationKey, start: 0, hashes: [], mode: null, members: new Set(), excluded: new Set(),
        grounds: new Map(), epochs: new Map(), currentEpoch: null, actionIDs: new Set() });
    }

    /** A log verified from a checkpoint: an epoch entry whose member set is taken on its author's word. */
    static fromCheckpoint(room, organisationKey, checkpoint) {
      if (checkpoint.room !== room) refuse("wrongRoom");
      if (checkpoint.kind !== "epoch") refuse("mustStartWithEpoch");
      verifyEntry(checkpoint);
      if (!checkpoint.members.includes(checkpoint.author)) refuse("notAMember");
      const log = new RoomLog(room, organisationKey);
      // A private room's checkpoint must come from staff, so a server cannot open it to a key of its own.
      if (checkpoint.mode === "private" && !log.staffRole(checkpoint.proof, checkpoint.author)) refuse("needsStaff");
      log.start = checkpoint.seq;
      log.mode = checkpoint.mode;
      log.members = new Set(checkpoint.members);
      log.excluded = new Set(checkpoint.excluded);
      log.startEpoch(checkpoint);
      log.hashes = [entryHash(checkpoint)];
      return log;
    }

    get length() { return this.start + this.hashes.length; }
    get head() { return this.hashes.at(-1) ?? zeroHash; }
    headAt(length) {
      if (length === 0) return zeroHash;
      if (length <= this.start || length > this.length) return null;
      return this.hashes[length - this.start - 1];
    }

    append(entry) {
      const change = this.check(entry);
      if (change.kind === "epochStarted") {
        if (this.length === 0) {
          this.members = new Set([entry.author]);
          if (entry.mode === "private" && entry.proof) this.grounds.set(entry.author, { proof: entry.proof, at: null });
        }
        this.mode = entry.mode;
        this.startEpoch(entry);
      } else if (change.kind === "joined") {
        this.members.add(change.member);
        if (this.mode === "private" && entry.proof) this.grounds.set(change.member, { proof: entry.proof, at: entry.action?.issuedAt ?? null });
      } else if (change.kind === "left") { this.members.delete(change.member); this.grounds.delete(change.member); }
      else if (change.kind === "removed") { this.members.delete(change.member); this.grounds.delete(change.member); this.excluded.add(change.member); }
      else if (change.kind === "lifted") this.excluded.delete(change.member);
      if (entry.action) this.actionIDs.add(entry.action.id);
      this.hashes.push(entryHash(entry));
      return change;
    }

    check(e) {
      if (e.room !== this.room) refuse("wrongRoom");
      if (e.seq !== this.length) refuse("outOfOrder", `expected ${this.length}`);
      if (!same(unb64(e.previous), this.head)) refuse("brokenChain");
      verifyEntry(e);
      const author = e.author;
      if (this.length === 0) {
        if (e.kind !== "epoch") refuse("mustStartWithEpoch");
        if (e.members.length !== 1 || e.members[0] !== author || e.excluded.length !== 0) refuse("memberSetMismatch");
        if (e.mode === "private" && !this.staffRole(e.proof, author)) refuse("needsStaff");
        return { kind: "epochStarted", record: this.record(e) };
      }
      if (e.action && this.actionIDs.has(e.action.id)) refuse("duplicateAction");
      switch (e.kind) {
        case "epoch": {
          if (!this.members.has(author)) refuse("notAMember");
          if (this.currentEpoch && e.epoch <= this.currentEpoch.epoch) refuse("epochNotNew");
          if (e.mode !== this.mode) refuse("modeChanged");
          if (sortMembers(this.members).join() !== e.members.join() || sortMembers(this.excluded).join() !== e.excluded.join()) refuse("memberSetMismatch");
          return { kind: "epochStarted", record: this.record(e) };
        }
        case "join":
          if (this.members.has(author)) refuse("alreadyAMember");
          if (this.excluded.has(author)) refuse("excluded");
          if (this.mode === "private" && !this.staffRole(e.proof, author)) refuse("needsStaff");
          return { kind: "joined", member: author };
        case "leave":
          if (!this.members.has(author)) refuse("notAMember");
          return { kind: "left", member: author };
        case "admit": {
          const target = this.checkAction(e, true);
          if (this.mode !== "private") refuse("notAuthorised", "an open room admits without staff");
          if (e.action.room !== this.room) refuse("notAuthorised", "the action is for another room");
          if (!this.members.has(author) && author !== target) refuse("notAMember");
          if (this.members.has(target)) refuse("alreadyAMember");
          if (this.excluded.has(target)) refuse("excluded");
          return { kind: "joined", member: target };
        }
        case "remove": case "ban": {
          const target = this.checkAction(e, false);
          if (e.kind === "remove" && e.action.room !== this.room) refuse("notAuthorised", "the action is for another room");
          if (!this.members.has(author)) refuse("notAMember");
          return { kind: "removed", member: target };
        }
        case "lift": {
          this.checkAction(e, false);
          if (!this.members.has(author)) refuse("notAMember");
          // A lift names its target, so a member who started from a checkpoint can apply it too.
          const target = e.action.target;
          if (!target || !this.excluded.has(target)) refuse("notAuthorised", "it lifts no removal or ban in force here of the member it names");
          if (target === e.action.moderator) refuse("notAuthorised", "a moderator cannot lift their own removal");
          return { kind: "lifted", member: target };
        }
      }
      return refuse("invalid", "unknown kind");
    }

    checkAction(e, staffOnly) {
      const action = e.action;
      if (action.kind !== e.kind) refuse("notAuthorised", `the action is not a ${e.kind}`);
      if (!protocol.verifyAction(action)) refuse("notAuthorised", "the action's signature does not verify");
      const role = staffOnly ? this.staffRole(e.proof, action.moderator) : this.moderatorRole(e.proof, action.moderator);
      if (!role) refuse("notAuthorised", "its moderator is not verified staff");
      if (!action.target) refuse("notAuthorised", "the action names no member");
      return action.target;
    }

    staffRole(proof, member) {
      if (!this.organisationKey || !proof || proof.member !== member || !proof.staff) return null;
      return protocol.verifiedRole({ member, staff: proof.staff }, this.organisationKey);
    }

    moderatorRole(proof, member) {
      if (!this.organisationKey || !proof || proof.member !== member) return null;
      return protocol.verifiedRole(proof, this.organisationKey);
    }

    record(e) {
      return { epoch: e.epoch, commitment: unb64(e.commitment), author: e.author, members: new Set(e.members), seq: e.seq };
    }

    startEpoch(e) {
      const record = this.record(e);
      this.epochs.set(record.epoch, record);
      this.currentEpoch = record;
    }
  }

  return { RoomLog, signedBytes, entryHash, commitment, sign, verifyEntry };
}
