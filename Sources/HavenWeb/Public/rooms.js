// The member's standing in each room: a RoomKeyring per room, fed by the server's frames, and
// the one next thing to do (start the log, write a moderation action into it, join, start a new
// epoch, seal the key to members of the log who lack it). The same rules as HavenClient+Rooms in
// Swift. Only members of the log this browser verified are ever sealed a key.
import { b64, unb64 } from "./haven-protocol.js";
import { roomKeyring } from "./room-keyring.js";

export class Rooms {
  /** `send(frame)` writes to the socket; `ownInfo()` is this member's staff proof, if any;
   *  `staffNow(proof, at)` says whether a staff proof holds at `at` (unix seconds; null for now),
   *  by StaffTrust's roster and expiry;
   *  `changed(room, event)` hears of log changes, keys and warnings; `storage` keeps this
   *  member's message counter per room across reloads. */
  constructor({ sodium, protocol, identity, organisationKey, staffNow, send, ownInfo, changed, storage }) {
    Object.assign(this, { sodium, protocol, identity, organisationKey, staffNow, send, ownInfo, changed, storage });
    this.me = b64(identity.publicKey);
    this.rules = roomKeyring(sodium, protocol);
    this.states = new Map();
  }

  state(room) {
    if (!this.states.has(room)) {
      this.states.set(room, {
        keyring: new this.rules.RoomKeyring(room, this.identity, this.organisationKey), modeHint: "open", serverEpoch: 0,
        serverHasHolders: false, rotationRequested: false, caughtUp: false, inFlight: null, paused: false, online: new Set(),
        relays: [], waiting: [], subscribed: false, waitingForKeySince: null, distrusted: false, readingLog: false,
      });
    }
    return this.states.get(room);
  }

  /** The `join` frame, or null when this connection is in the room already. A page that has
   *  verified part of the log goes on from there; a device that saw this room before, or a
   *  private room, takes the whole log from its first entry (and the device then checks that it
   *  still begins with what it saw); only a first visit to an open room starts from the latest
   *  checkpoint, trusting that one entry's author for the history before it. */
  joinFrame(room, { private: isPrivate = false, after = 0 } = {}) {
    const state = this.state(room);
    if (state.subscribed) return null;
    Object.assign(state, { caughtUp: false, inFlight: null, paused: false, subscribed: true, waitingForKeySince: null });
    const length = state.keyring.log.length;
    const fromStart = isPrivate || this.anchor(room) !== null;
    return { type: "join", room, after, ...(length > 0 ? { logLength: length } : fromStart ? { logLength: 0 } : {}) };
  }

  /** Rooms this page joined before the connection dropped, to join again. */
  get rejoining() { return [...this.states.entries()].filter(([, state]) => state.wasSubscribed).map(([room]) => room); }

  /** Joined on this connection and caught up: messages to it may go now. */
  isJoined(room) { return Boolean(this.states.get(room)?.subscribed && this.states.get(room)?.caughtUp); }

  /** What this device last verified of the room's log: { length, head }, or null. */
  anchor(room) { return JSON.parse(this.storage.getItem(`haven.log.${room}`) ?? "null"); }

  /** After a join: the log must still hold what this device verified before. A log the server
   *  compacted past it (the device stayed away longer than the room log's retention period) can
   *  no longer be checked: the device starts again from its checkpoint, as a first visit does. */
  checkAnchor(room) {
    const state = this.state(room);
    const anchor = this.anchor(room);
    const log = state.keyring.log;
    if (anchor && log.start < anchor.length) {
      const head = log.headAt(anchor.length);
      if (!(head && b64(head) === anchor.head)) {
        state.distrusted = true;
        this.changed(room, { kind: "warning", warning: { kind: "rewritten" } });
        return;
      }
    }
    this.storage.setItem(`haven.log.${room}`, JSON.stringify({ length: log.length, head: b64(log.head) }));
  }

  /** Handles the frames that concern rooms; returns false for any other. */
  received(frame) {
    switch (frame.type) {
      case "joined": {
        const state = this.state(frame.room);
        Object.assign(state, { modeHint: frame.mode ?? "open", serverEpoch: frame.epoch, serverHasHolders: frame.keyHolders.length > 0,
          online: new Set(frame.members.map((m) => m.member)) });
        return false;
      }
      case "logEntries": {
        // A long log comes in pages: ask for the next before acting on a partial one.
        this.state(frame.room).readingLog = frame.more === true;
        if (frame.more && frame.entries.length > 0) this.send({ type: "getLog", room: frame.room, logLength: frame.entries.at(-1).seq + 1 });
        this.receiveEntries(frame.room, frame.entries);
        return true;
      }
      case "logEntry": this.receiveEntries(frame.entry.room, [frame.entry]); return true;
      case "keyBundle": this.receiveBundle(frame.bundle); return true;
      case "synced":
        if (!frame.room || !this.states.has(frame.room)) return false;
        this.state(frame.room).caughtUp = true;
        if (!this.state(frame.room).readingLog) this.checkAnchor(frame.room);
        this.reconcile(frame.room);
        return false;
      case "epochChanged": {
        const state = this.state(frame.room);
        Object.assign(state, { serverEpoch: frame.epoch, serverHasHolders: false, rotationRequested: true });
        this.reconcile(frame.room);
        return true;
      }
      case "memberJoined": this.state(frame.room).online.add(frame.member.member); return false;
      case "memberLeft":
        // The key holder someone waits for may just have gone.
        this.states.get(frame.room)?.online.delete(frame.member);
        this.reconcile(frame.room);
        return false;
      case "moderated": this.relay(frame); return false;
      case "error":
        if (!frame.room || !this.states.has(frame.room)) return false;
        if (frame.code.startsWith("log_") || ["not_a_member", "not_staff", "sender_mismatch", "store_failed"].includes(frame.code)) this.refused(frame.room, frame.code);
        // The room's own bookkeeping (a lost race for a log position, a key the server would not
        // pass on, a moderator's action that lapsed with their staff status): handled here, never
        // shown to the member as an error.
        return frame.code.startsWith("log_") || ["not_a_member", "not_staff", "epoch_key_exists", "not_a_key_holder"].includes(frame.code);
      default: return false;
    }
  }

  receiveEntries(room, entries) {
    const state = this.state(room);
    for (const entry of entries) {
      const receipt = state.keyring.receive(entry);
      if (entry.author === this.me && state.inFlight && state.keyring.log.length > entry.seq) state.inFlight = null;
      if (receipt.changes.length > 0) state.paused = false;
      for (const change of receipt.changes) {
        if (change.kind === "epochStarted") {
          state.serverEpoch = Math.max(state.serverEpoch, change.record.epoch);
          state.rotationRequested = false;
        }
        this.changed(room, { kind: "log", change });
      }
      for (const warning of receipt.warnings) this.changed(room, { kind: "warning", warning });
    }
    if (state.caughtUp && !state.readingLog && !state.distrusted) this.checkAnchor(room);
    this.keyArrived(room);
    this.reconcile(room);
  }

  receiveBundle(bundle) {
    if (!this.states.has(bundle.room)) return;
    // A key to an epoch started by someone whose staff grounds lapsed is not taken: they would
    // read everything said under it.
    const log = this.state(bundle.room).keyring.log;
    if (this.lapsed(log, log.epochs.get(bundle.epoch)?.author)) {
      this.changed(bundle.room, { kind: "warning", warning: { kind: "entryRefused" } });
      return;
    }
    const result = this.state(bundle.room).keyring.receiveBundle(bundle);
    if (result.kind === "stored") this.keyArrived(bundle.room);
    if (result.kind === "refused" && result.warning) this.changed(bundle.room, { kind: "warning", warning: result.warning });
    // A key for an epoch this browser's log does not have: entries are being held back.
    if (result.kind === "held" && this.state(bundle.room).keyring.isBehind) this.changed(bundle.room, { kind: "warning", warning: { kind: "behind" } });
    this.reconcile(bundle.room);
  }

  keyArrived(room) {
    const state = this.state(room);
    const waiting = state.waiting;
    state.waiting = [];
    this.changed(room, { kind: "keys", waiting });
  }

  /** A moderation action for the logs of rooms this browser is in. */
  relay(frame) {
    if (!frame.by || !["remove", "ban", "admit", "lift"].includes(frame.action.kind)) return;
    for (const room of frame.action.room ? [frame.action.room] : [...this.states.keys()]) {
      if (!this.states.has(room)) continue;
      this.state(room).relays.push(frame);
      this.reconcile(room);
    }
  }

  /** The server refused our entry: drop it, and write again once the log has moved past the
   *  position it was for (at once, if the entry that took it has already arrived). */
  refused(room, code) {
    const state = this.state(room);
    if (!state.inFlight) return;
    const inFlight = state.inFlight;
    state.inFlight = null;
    if (inFlight.kind === "epoch") state.keyring.dropProposal();
    if (inFlight.action && code !== "log_conflict") state.relays = state.relays.filter((relay) => relay.action.id !== inFlight.action);
    if (state.keyring.log.length > inFlight.seq) this.reconcile(room); else state.paused = true;
  }

  /** Signed `leave` entries for every room this member is in, for when they leave for good. */
  leaveAll() {
    for (const state of this.states.values()) {
      if (state.subscribed && state.keyring.log.members.has(this.me)) this.send({ type: "appendLog", entry: state.keyring.entry("leave") });
    }
  }

  /** The connection is gone: every room must be joined again. */
  disconnected() {
    for (const state of this.states.values()) {
      Object.assign(state, { wasSubscribed: state.subscribed || state.wasSubscribed, subscribed: false, caughtUp: false, inFlight: null });
    }
  }

  /** Encrypts a message for `room` (with `id`: a resend, which keeps its number), numbering it
   *  after this member's last message there (kept across reloads, so a new page does not look
   *  like a replay to the others). */
  seal(room, body, id, counter = undefined) {
    const keyring = this.state(room).keyring;
    const key = `haven.counter.${room}`;
    keyring.sentCounter = Math.max(keyring.sentCounter, Number(this.storage.getItem(key) ?? 0));
    // A message kept from before a reload goes again under the counter it was first sealed with,
    // so the others see no gap where it was.
    if (Number.isInteger(counter)) keyring.assignedCounters.set(b64(id), counter);
    const envelope = keyring.seal(body, id);
    this.storage.setItem(key, String(keyring.sentCounter));
    return envelope;
  }

  /** Whether `member` is online in any room this browser is in (by the server's word). */
  isOnline(member) { return [...this.states.values()].some((state) => state.online.has(member)); }

  /** Whether this browser may send in `room`: it holds the current key and nobody given it has left. */
  canSend(room) {
    const state = this.states.get(room);
    const keyring = state?.keyring;
    return Boolean(keyring?.currentKey && !keyring.mustRotate && !keyring.isBehind && keyring.log.members.has(this.me) && !state.distrusted
      && !this.lapsed(keyring.log, keyring.log.currentEpoch?.author));
  }

  /** In a private room: `member`'s place rests on staff grounds that no longer hold. */
  lapsed(log, member) {
    const grounds = member && log.mode === "private" ? log.grounds.get(member) : null;
    return Boolean(grounds && !this.staffNow(grounds.proof, grounds.at));
  }

  dueEpoch(state) {
    const current = state.keyring.log.currentEpoch;
    const established = current?.epoch === state.serverEpoch || state.serverHasHolders;
    // The server's word is believed only up to 1,000 epochs past the log's (a claim of 2^53 would
    // leave the room no epoch to move to).
    const afterLog = current ? current.epoch + 1 : 0;
    return Math.max(afterLog, Math.min(established ? state.serverEpoch + 1 : state.serverEpoch, afterLog + 1000));
  }

  /** Does the one next thing the room needs, as the verified log gives it. */
  reconcile(room) {
    const state = this.states.get(room);
    if (!state || !state.caughtUp || state.readingLog || state.inFlight || state.paused || state.distrusted) return;
    const keyring = state.keyring;
    const log = keyring.log;
    if (log.length === 0) { this.propose(room, state, "first"); return; }
    state.relays = state.relays.filter((relay) => {
      try {
        log.check(keyring.entry(relay.action.kind, { action: relay.action, proof: relay.by }));
        return true;
      } catch { return false; }
    });
    if (state.relays.length > 0) {
      const relay = state.relays[0];
      this.write(state, keyring.entry(relay.action.kind, { action: relay.action, proof: relay.by }), { kind: "entry", action: relay.action.id });
      return;
    }
    if (!log.members.has(this.me)) {
      const own = this.ownInfo();
      if (!log.excluded.has(this.me) && (log.mode === "open" || own?.staff)) {
        this.write(state, keyring.entry("join", own?.staff ? { proof: own } : {}), { kind: "entry" });
      }
      return;
    }
    if (keyring.mustRotate || (state.rotationRequested && this.dueEpoch(state) > (log.currentEpoch?.epoch ?? 0))) {
      this.propose(room, state, keyring.mustRotate ? "removal" : "schedule");
      return;
    }
    // A fresh checkpoint now and then, so a newcomer never has far to verify (RoomLog.checkpointInterval).
    if (log.length - (log.currentEpoch?.seq ?? 0) >= 500 && keyring.currentKey) {
      this.propose(room, state, "checkpoint");
      return;
    }
    const key = keyring.currentKey;
    const epoch = log.currentEpoch?.epoch;
    if (!key) {
      // Wait for a key holder who is online to seal the key to us, but not for ever: one whose
      // phone is locked never will, so after a while a new epoch is started instead.
      const holders = new Set([...keyring.holdersOf(epoch ?? 0), ...(log.currentEpoch ? [log.currentEpoch.author] : [])]);
      const holderOnline = [...state.online].some((member) => member !== this.me && holders.has(member));
      state.waitingForKeySince ??= Date.now();
      if (!holderOnline || Date.now() - state.waitingForKeySince >= Rooms.keyPatience) {
        state.waitingForKeySince = null;
        this.propose(room, state, "no_holder");
      } else {
        setTimeout(() => this.reconcile(room), Rooms.keyPatience + 100);
      }
      return;
    }
    state.waitingForKeySince = null;
    for (const recipient of keyring.membersWithoutKey) {
      // In a private room, a place that rests on staff who are staff no longer (revoked, expired,
      // or a second key from one invite) gets no key, whatever the log took in; nor does one whose
      // grounds this browser never saw (a member listed in a checkpoint it started from).
      const grounds = keyring.log.grounds.get(recipient);
      if (keyring.log.mode === "private" && (!grounds || !this.staffNow(grounds.proof, grounds.at))) continue;
      const value = { room, epoch, recipient, sealer: this.me,
        sealed: b64(this.sodium.seal(key, this.sodium.publicKeyToCurve25519(unb64(recipient)))) };
      value.signature = b64(this.sodium.sign(this.protocol.bundleSignedBytes(value), this.identity.secretKey));
      keyring.sealed(recipient, epoch);
      this.send({ type: "keyBundle", bundle: value });
    }
  }

  propose(room, state, reason) {
    const own = this.ownInfo();
    this.write(state, state.keyring.proposeEpoch(this.dueEpoch(state), reason, state.modeHint, own?.staff ? own : undefined), { kind: "epoch" });
  }

  write(state, entry, inFlight) {
    state.inFlight = { ...inFlight, seq: entry.seq };
    this.send({ type: "appendLog", entry });
  }
}

/** How long a member without the room key waits for an online holder before starting a new epoch. */
Rooms.keyPatience = 8000;
