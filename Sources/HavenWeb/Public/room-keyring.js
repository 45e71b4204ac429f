// The room log and the keyring, in JavaScript: the same state machine as RoomLog and RoomKeyring
// in HavenProtocol (Swift) and the PyNaCl reference, checked against the same test vectors.
// A member's browser decides from the log it verified itself who is in a room, which key an
// epoch has, and who may be given it; the server's word counts for nothing here.
import { b64, unb64, Canonical } from "./haven-protocol.js";

const empty = new Uint8Array();
const zeroHash = new Uint8Array(32);
const same = (a, b) => a.length === b.length && a.every((byte, index) => byte === b[index]);
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

export function roomKeyring(sodium, protocol) {
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
      Object.assign(this, { room, organisationKey, start: 0, hashes: [], mode: null, members: new Set(), excluded: new Set(),
        epochs: new Map(), currentEpoch: null, actionIDs: new Set() });
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
        if (this.length === 0) this.members = new Set([entry.author]);
        this.mode = entry.mode;
        this.startEpoch(entry);
      } else if (change.kind === "joined") this.members.add(change.member);
      else if (change.kind === "left") this.members.delete(change.member);
      else if (change.kind === "removed") { this.members.delete(change.member); this.excluded.add(change.member); }
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

  /** One member's view of one room: the verified log, keys checked against their commitments,
   *  who holds them, each sender's counter, and warnings. */
  class RoomKeyring {
    constructor(room, identity, organisationKey) {
      Object.assign(this, { log: new RoomLog(room, organisationKey), identity, member: b64(identity.publicKey), keys: new Map(),
        holders: new Map(), entitled: new Map(), waitingEntries: new Map(), waitingBundles: [], proposal: null,
        lastCounters: new Map(), seen: new Set(), sentCounter: 0, assignedCounters: new Map(), waitingHeads: [] });
    }

    get room() { return this.log.room; }

    /** Takes an entry from the server; returns { changes, warnings }. */
    receive(entry) {
      const receipt = { changes: [], warnings: [] };
      if (!Number.isSafeInteger(entry?.seq) || entry.seq < 0) {
        receipt.warnings.push({ kind: "entryRefused", seq: entry?.seq, error: "invalid" });
        return receipt;
      }
      if (this.log.length === 0 && entry.seq > 0) {
        if (entry.kind !== "epoch") { this.waitingEntries.set(entry.seq, entry); return receipt; }
        try { this.log = RoomLog.fromCheckpoint(this.room, this.log.organisationKey, entry); } catch (error) {
          receipt.warnings.push({ kind: "entryRefused", seq: entry.seq, error: error.name });
          return receipt;
        }
        receipt.changes.push({ kind: "epochStarted", record: this.log.currentEpoch });
        this.established(receipt);
        for (const seq of [...this.waitingEntries.keys()]) if (seq <= entry.seq) this.waitingEntries.delete(seq);
      } else if (entry.seq < this.log.length) {
        const known = this.log.headAt(entry.seq + 1);
        if (known && !same(known, entryHash(entry))) receipt.warnings.push({ kind: "entryRefused", seq: entry.seq, error: "brokenChain" });
        return receipt;
      } else if (entry.seq > this.log.length) {
        this.waitingEntries.set(entry.seq, entry);
        return receipt;
      } else {
        this.append(entry, receipt);
      }
      while (this.waitingEntries.has(this.log.length)) {
        const next = this.waitingEntries.get(this.log.length);
        this.waitingEntries.delete(this.log.length);
        this.append(next, receipt);
      }
      return receipt;
    }

    append(entry, receipt) {
      try {
        const change = this.log.append(entry);
        receipt.changes.push(change);
        if (change.kind === "joined" && this.log.currentEpoch) this.entitledTo(this.log.currentEpoch.epoch).add(change.member);
        if (change.kind === "epochStarted") this.established(receipt);
      } catch (error) {
        // Anything that breaks on the way (a wrong JSON type, say) is a refused entry too.
        receipt.warnings.push({ kind: "entryRefused", seq: entry.seq, error: error instanceof LogError ? error.name : "invalid" });
      }
    }

    entitledTo(epoch) {
      if (!this.entitled.has(epoch)) this.entitled.set(epoch, new Set());
      return this.entitled.get(epoch);
    }

    holdersOf(epoch) {
      if (!this.holders.has(epoch)) this.holders.set(epoch, new Set());
      return this.holders.get(epoch);
    }

    established(receipt) {
      const record = this.log.currentEpoch;
      this.entitled.set(record.epoch, new Set(record.members));
      if (this.proposal && this.proposal.epoch <= record.epoch) {
        if (record.author === this.member && this.proposal.epoch === record.epoch && same(this.proposal.commitment, record.commitment)) {
          this.keys.set(record.epoch, this.proposal.key);
        }
        this.proposal = null;
      }
      const bundles = this.waitingBundles;
      this.waitingBundles = [];
      for (const bundle of bundles) {
        const result = this.receiveBundle(bundle);
        if (result.kind === "refused" && result.warning) receipt.warnings.push(result.warning);
      }
      receipt.warnings.push(...this.settleHeads());
    }

    /** Takes a key bundle: { kind: "stored" | "noted" | "held" | "refused", key?, warning? }. */
    receiveBundle(bundle) {
      if (bundle.room !== this.room) return { kind: "refused" };
      if (!sodium.verify(unb64(bundle.signature), protocol.bundleSignedBytes(bundle), unb64(bundle.sealer))) return { kind: "refused" };
      const record = this.log.epochs.get(bundle.epoch);
      if (!record) {
        const logged = [...this.log.epochs.keys()];
        if (logged.length === 0 || bundle.epoch > (this.log.currentEpoch?.epoch ?? 0)) { this.waitingBundles.push(bundle); return { kind: "held" }; }
        // Keys from before the log only for a member who verified the log from its first entry.
        if (this.log.start !== 0 || bundle.epoch >= Math.min(...logged) || bundle.recipient !== this.member || this.keys.has(bundle.epoch)) return { kind: "noted" };
        try {
          const key = protocol.openBundle(bundle, this.identity);
          this.keys.set(bundle.epoch, key);
          return { kind: "stored", key, epoch: bundle.epoch };
        } catch { return { kind: "noted" }; }
      }
      if (bundle.recipient !== this.member) {
        // Only the epoch's author is taken at their word (it wrote the commitment); anyone else's
        // bundle may hold a wrong key, so other holders still seal the right one.
        if (bundle.sealer === record.author) this.holdersOf(record.epoch).add(bundle.recipient);
        return { kind: "noted" };
      }
      if (this.keys.has(record.epoch)) { this.holdersOf(record.epoch).add(this.member); return { kind: "noted" }; }
      let key;
      try { key = protocol.openBundle(bundle, this.identity); } catch { return { kind: "refused" }; }
      if (!same(commitment(this.room, record.epoch, key), record.commitment)) {
        return { kind: "refused", warning: { kind: "keyMismatch", sealer: bundle.sealer, epoch: record.epoch } };
      }
      this.keys.set(record.epoch, key);
      this.holdersOf(record.epoch).add(this.member);
      return { kind: "stored", key, epoch: record.epoch };
    }

    keyFor(epoch) { return this.keys.get(epoch); }
    get currentKey() { return this.log.currentEpoch ? this.keys.get(this.log.currentEpoch.epoch) : undefined; }

    /** Someone given the current key is no longer a member: the next sender starts a new epoch. */
    get mustRotate() {
      const current = this.log.currentEpoch;
      if (!current) return false;
      return [...this.entitledTo(current.epoch)].some((member) => !this.log.members.has(member));
    }

    /** Entries are missing: another member signed a longer log, or a key came for an epoch this
     *  log does not have. Nothing is sent until they arrive. */
    get isBehind() {
      const current = this.log.currentEpoch;
      if (!current) return false;
      return this.waitingHeads.length > 0 || this.waitingBundles.some((bundle) => bundle.epoch > current.epoch);
    }

    /** Members of the log not yet given the current key; empty unless this member holds it. */
    get membersWithoutKey() {
      const current = this.log.currentEpoch;
      if (!current || !this.keys.has(current.epoch)) return [];
      return sortMembers([...this.log.members].filter((member) => !this.holdersOf(current.epoch).has(member)));
    }

    sealed(recipient, epoch) { this.holdersOf(epoch).add(recipient); }

    /** The next entry of `kind`, signed by this member at the log's head. */
    entry(kind, fields = {}) {
      return sign({ room: this.room, seq: this.log.length, previous: b64(this.log.head), kind, author: this.member, ...fields }, this.identity);
    }

    /** Proposes a new epoch (at least one after the log's): draws its key, returns the signed entry. */
    proposeEpoch(epoch, reason, mode, proof) {
      const number = Math.max(epoch, this.log.currentEpoch ? this.log.currentEpoch.epoch + 1 : 0);
      const key = sodium.randomBytes(32);
      this.proposal = { epoch: number, key, commitment: commitment(this.room, number, key) };
      const first = this.log.length === 0;
      return this.entry("epoch", {
        epoch: number, commitment: b64(this.proposal.commitment), reason, mode: this.log.mode ?? mode,
        members: first ? [this.member] : sortMembers(this.log.members), excluded: first ? [] : sortMembers(this.log.excluded),
        ...(proof ? { proof } : {}),
      });
    }

    dropProposal() { this.proposal = null; }
    get isProposing() { return this.proposal !== null; }

    /** Encrypts and signs a body under the current key with this member's log view and counter. */
    seal(body, id = sodium.randomBytes(16)) {
      const key = this.currentKey;
      if (!key || this.mustRotate || this.isBehind) throw new Error("no current room key to send under");
      // A message sent again (the same id) keeps its counter, so a resend is not a gap.
      const idText = b64(id);
      const counter = this.assignedCounters.get(idText) ?? this.sentCounter + 1;
      this.sentCounter = Math.max(this.sentCounter, counter);
      this.assignedCounters.set(idText, counter);
      const view = { logLength: this.log.length, logHead: b64(this.log.head), counter };
      const envelope = protocol.sealRoomMessage(body, this.room, this.log.currentEpoch.epoch, key, this.identity, id,
        sodium.randomBytes(24), sodium.randomBytes(32), view);
      this.seen.add(`${this.member} ${envelope.id}`);
      this.lastCounters.set(this.member, this.sentCounter);
      return envelope;
    }

    /** Opens a message: { kind: "opened", body, warnings } | { kind: "needsKey" } | { kind: "refused", warning? }. */
    open(envelope) {
      const id = `${envelope.sender} ${envelope.id}`;
      if (this.seen.has(id)) return { kind: "refused", warning: { kind: "replayed", sender: envelope.sender } };
      const key = this.keys.get(envelope.epoch);
      if (!key) return { kind: "needsKey" };
      const logged = this.log.epochs.has(envelope.epoch);
      const isLogged = envelope.logLength !== undefined;
      const integers = [envelope.epoch, ...(isLogged ? [envelope.logLength, envelope.counter] : [])];
      if (!integers.every((value) => Number.isSafeInteger(value) && value >= 0)) return { kind: "refused" };
      if (logged && (!isLogged || !this.entitledTo(envelope.epoch).has(envelope.sender))) {
        return { kind: "refused", warning: { kind: "notEntitled", sender: envelope.sender, epoch: envelope.epoch } };
      }
      let body;
      try { body = protocol.openRoomMessage(envelope, key); } catch { return { kind: "refused" }; }
      this.seen.add(id);
      if (logged) this.holdersOf(envelope.epoch).add(envelope.sender);   // sending under the key proves holding it
      const warnings = [];
      if (isLogged) {
        const last = this.lastCounters.get(envelope.sender);
        if (last !== undefined) {
          if (envelope.counter <= last) warnings.push({ kind: "counterRepeated", sender: envelope.sender });
          if (envelope.counter > last + 1) warnings.push({ kind: "messagesWithheld", sender: envelope.sender, missing: envelope.counter - last - 1 });
        }
        this.lastCounters.set(envelope.sender, Math.max(last ?? 0, envelope.counter));
        this.waitingHeads.push({ sender: envelope.sender, length: envelope.logLength, head: unb64(envelope.logHead) });
        warnings.push(...this.settleHeads());
        if (envelope.logLength > this.log.length) warnings.push({ kind: "behind", sender: envelope.sender });
      }
      return { kind: "opened", body, warnings };
    }

    settleHeads() {
      const warnings = [];
      this.waitingHeads = this.waitingHeads.filter((view) => {
        if (view.length > this.log.length) return true;
        const mine = this.log.headAt(view.length);
        if (mine && !same(mine, view.head)) warnings.push({ kind: "forked", sender: view.sender, length: view.length });
        return false;
      });
      return warnings;
    }
  }

  return { RoomLog, RoomKeyring, signedBytes, entryHash, commitment, sign, verifyEntry };
}
