// The keyring in JavaScript: the same state machine as RoomKeyring in HavenProtocol (Swift),
// checked against the same test vectors. Over the room log it verified (room-log.js), a member's
// browser takes a key only if it opens its epoch's commitment, seals keys only to the log's
// members, stops using an epoch someone given it has left, and notices replays, gaps and forks.
import { b64, unb64 } from "./haven-protocol.js";
import { LogError, roomLog, same, sortMembers } from "./room-log.js";

export { LogError, sortMembers } from "./room-log.js";

/** The log's rules and the keyring, over the libsodium binding and the protocol helpers. */
export function roomKeyring(sodium, protocol) {
  const log = roomLog(sodium, protocol);
  const { RoomLog, entryHash, commitment, sign } = log;

  /** One member's view of one room: the verified log, keys checked against their commitments,
   *  who holds them, each sender's counter, and warnings. */
  class RoomKeyring {
    constructor(room, identity, organisationKey) {
      Object.assign(this, { log: new RoomLog(room, organisationKey), identity, member: b64(identity.publicKey), keys: new Map(),
        holders: new Map(), entitled: new Map(), waitingEntries: new Map(), waitingBundles: [], proposal: null,
        lastCounters: new Map(), seen: new Set(), sentCounter: 0, assignedCounters: new Map(), waitingHeads: new Map() });
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
      return this.waitingHeads.size > 0 || this.waitingBundles.some((bundle) => bundle.epoch > current.epoch);
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
        // A sender's newer message replaces what an older one claimed; a claim far ahead of any
        // honest member is not believed (it would stop everyone sending).
        if (envelope.logLength <= this.log.length + 1000) {
          this.waitingHeads.set(envelope.sender, { length: envelope.logLength, head: unb64(envelope.logHead) });
          warnings.push(...this.settleHeads());
          if (envelope.logLength > this.log.length) warnings.push({ kind: "behind", sender: envelope.sender });
        }
      }
      return { kind: "opened", body, warnings };
    }

    settleHeads() {
      const warnings = [];
      for (const [sender, view] of this.waitingHeads) {
        if (view.length > this.log.length) continue;
        this.waitingHeads.delete(sender);
        const mine = this.log.headAt(view.length);
        if (mine && !same(mine, view.head)) warnings.push({ kind: "forked", sender, length: view.length });
      }
      return warnings;
    }
  }

  return { ...log, RoomKeyring };
}
