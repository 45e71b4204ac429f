// The member's messages on their way. Each shows its state next to it: "sending…" until the
// server has stored it, "waiting for the connection…" while there is none, "sent" once stored, or
// why it was not sent, in plain words. Room messages go one at a time per room, in the order they
// were written, so a burst the rate limit slows still arrives whole and in order; what is held up
// (the limit, a new room key, a lost connection) goes again with the same id, which the server
// stores once, under the key the room has then. Room messages not yet stored are kept on the
// device as private ones are (in memory, or in its storage when it remembers the member), so a
// page reloaded before they went shows them again and sends them then, with the same ids.
import { t } from "./strings.js";

// Where the room messages on their way are kept: [{ room, id, envelope, counter, body }].
const keptKey = "haven.unsentRoomMessages";

// The server's refusal codes, each with the catalog key of what a member reads for it.
const refusals = {
  rate_limited: "notSentRateLimited",
  store_failed: "notSentStoreFailed",
  suspended: "notSentSuspended",
  not_a_member: "notSentNotAMember",
  banned: "notSentBanned",
  not_accepting_messages: "notSentNotAccepting",
};

// A private message the service has not confirmed in this long lets the next one to the same
// person go (it is sent again on the next connection).
const unconfirmedAfter = 20000;

export class Outbox {
  /** `rooms` seals and says whether a room can be written to, `send(frame)` writes a frame (false
   *  when offline), `render(envelope, body)` shows a message and returns its list item,
   *  `randomID()` draws a message id, `online()` says whether there is a connection,
   *  `later(f, ms)` schedules. */
  constructor({ rooms, send, render, randomID, online = () => true, later = (run, ms) => setTimeout(run, ms), storage = null, shown = () => false }) {
    Object.assign(this, { rooms, send, render, randomID, online, later, storage, shown, pending: new Map(), queues: new Map(), synced: new Set() });
  }

  /** Shows `body` in `room` at once, and sends it when its turn comes. */
  post(room, body) {
    const id = this.randomID();
    const envelope = this.rooms.seal(room, body, id);
    this.keep([...this.kept(), { room, id: Array.from(id), envelope: envelope.id, counter: envelope.counter, body: new TextDecoder().decode(body) }]);
    this.enqueue(envelope.id, this.roomEntry(room, body, id, envelope));
  }

  /** A room message on its way, shown now; `envelope` as first sealed (it is sealed again when
   *  it goes). */
  roomEntry(room, body, id, envelope) {
    return { room, queue: room, body, id, item: this.render(envelope, body), inFlight: false, stale: 0 };
  }

  /** `room` is synced here: its history is shown, so room messages kept from before a reload
   *  can be told apart from those the server had already stored (``restore(room)``). */
  roomSynced(room) {
    this.synced.add(room);
    this.restore(room);
  }

  /** Room messages kept from before this page was reloaded that have not gone yet: shown again
   *  and sent, with the same ids, once `room` is synced and can be written to. One the server's
   *  history already showed was stored after all, and is let go. */
  restore(room) {
    if (!this.synced.has(room) || !this.rooms.canSend(room)) return;
    const waiting = this.kept().filter((entry) => entry.room === room && !this.pending.has(entry.envelope));
    // Written before anything typed since the reload, they go first: the last kept goes to the
    // front of the line first, the one before it ahead of it, and so on.
    for (const kept of waiting.reverse()) {
      if (this.shown(room, kept.envelope)) { this.forget(kept.envelope); continue; }
      const id = Uint8Array.from(kept.id);
      const body = new TextEncoder().encode(kept.body);
      const envelope = this.rooms.seal(room, body, id, kept.counter);
      this.enqueue(envelope.id, this.roomEntry(room, body, id, envelope), { first: true });
    }
  }

  kept() {
    try {
      const entries = JSON.parse(this.storage?.getItem(keptKey) ?? "[]");
      return Array.isArray(entries) ? entries : [];
    } catch {
      return [];
    }
  }

  // A device whose storage is full still sends what was written: it only cannot keep it for a reload.
  keep(entries) {
    try {
      if (entries.length) this.storage?.setItem(keptKey, JSON.stringify(entries)); else this.storage?.removeItem(keptKey);
    } catch {
      // Kept in the page's memory only, as for a member the device does not remember.
    }
  }

  forget(envelopeID) { this.keep(this.kept().filter((entry) => entry.envelope !== envelopeID)); }

  /** Sends a sealed direct message, shown in `item`, after those before it to the same person
   *  (so they arrive in the order written, and a pause for one holds back the next); a resend is
   *  the same sealed message. `settled(refusal)` runs once it is stored (no refusal), or refused
   *  for good (the words shown for it). One the service leaves unconfirmed for 20 s is said to
   *  be so, and the next may go: a service that swallows one message cannot hold back the rest. */
  postDirect(message, item, settled = () => {}) {
    this.enqueue(message.id, { direct: message, queue: `direct:${message.recipient}`, item, settled, inFlight: false, unconfirmed: false });
  }

  /** Puts `entry` in its line: last, or (`first`) ahead of everything in it. */
  enqueue(id, entry, { first = false } = {}) {
    this.pending.set(id, entry);
    if (!this.queues.has(entry.queue)) this.queues.set(entry.queue, []);
    if (first) this.queues.get(entry.queue).unshift(entry); else this.queues.get(entry.queue).push(entry);
    Outbox.mark(entry.item, t(this.online() ? "sending" : "waitingForConnection"));
    this.pump(entry.queue);
  }

  /** Sends the oldest unsent message of a queue (a room's, or a person's private ones), if it
   *  can go now. */
  pump(queue) {
    // Private messages left unconfirmed for long are stepped over, so what follows still goes.
    const head = this.queues.get(queue)?.find((entry) => !entry.unconfirmed);
    if (!head || head.inFlight || head.pausedUntil > Date.now()) return;
    if (head.direct) {
      head.inFlight = this.send({ type: "direct", message: head.direct });
      Outbox.mark(head.item, t(head.inFlight ? "sending" : "waitingForConnection"));
      if (head.inFlight) {
        // Only this sending counts: one sent again after a reconnect has its own 20 s.
        const attempt = head.attempt = (head.attempt ?? 0) + 1;
        this.later(() => {
          if (!head.inFlight || head.attempt !== attempt || this.pending.get(head.direct.id) !== head) return;
          head.unconfirmed = true;
          Outbox.mark(head.item, t("notConfirmedYet"));
          this.pump(queue);
        }, unconfirmedAfter);
      }
      return;
    }
    const room = head.room;
    if (!this.rooms.canSend(room)) return;
    if (!this.rooms.isJoined(room)) {
      Outbox.mark(head.item, t("waitingForConnection"));
      return;
    }
    const envelope = this.rooms.seal(room, head.body, head.id);
    head.inFlight = this.send({ type: "send", envelope });
    if (!head.inFlight) Outbox.mark(head.item, t("waitingForConnection"));
  }

  /** An `ack`: the message is stored. Returns false for an id this outbox does not hold. */
  acknowledged(frame) {
    const entry = this.pending.get(frame.id);
    if (!entry) return false;
    this.finish(frame.id, entry);
    Outbox.mark(entry.item, t("sent"));
    entry.settled?.(null);
    this.pump(entry.queue);
    return true;
  }

  /** An `error` about one of our messages; returns false for an id this outbox does not hold. */
  refused(frame) {
    const entry = this.pending.get(frame.id);
    if (!entry) return false;
    // Answered after all: it takes its place in line again.
    Object.assign(entry, { inFlight: false, unconfirmed: false });
    if (frame.code === "stale_epoch") {
      // Once at once (the new key is usually here already); after that with growing pauses, so a
      // server that keeps saying "stale" is not answered with a flood.
      entry.stale += 1;
      Outbox.mark(entry.item, t("sendingNewRoomKey"));
      this.retryLater(entry, entry.stale === 1 ? 0 : Math.min(250 * 2 ** entry.stale, 8000));
    } else if (frame.code === "rate_limited" || frame.code === "store_failed") {
      Outbox.mark(entry.item, t(refusals[frame.code]));
      // After the pause the server asks for, within bounds: a server cannot hold a message back
      // for long by asking for a long one.
      const hint = Number.isFinite(frame.retryAfterMs) ? frame.retryAfterMs : 2000;
      this.retryLater(entry, Math.min(Math.max(hint, 250), 10000));
    } else {
      this.finish(frame.id, entry);
      const words = t(refusals[frame.code] ?? "notSentRefused");
      Outbox.mark(entry.item, words, true);
      entry.settled?.(words);   // refused for good: not to be sent again after a reload either
      this.pump(entry.queue);
    }
    return true;
  }

  retryLater(entry, pause) {
    entry.pausedUntil = Date.now() + pause;
    this.later(() => { entry.pausedUntil = 0; this.retry(); }, pause);
  }

  /** After a reconnect: whatever was on its way may not have arrived; it goes again (same ids),
   *  in order. */
  reconnected() {
    for (const entry of this.pending.values()) Object.assign(entry, { inFlight: false, unconfirmed: false });
    this.retry();
  }

  /** Sends what waits: the next message of each room and of each person written to. */
  retry() {
    for (const queue of this.queues.keys()) this.pump(queue);
  }

  finish(id, entry) {
    this.pending.delete(id);
    if (entry.room) this.forget(id);
    const queue = this.queues.get(entry.queue);
    const index = queue.indexOf(entry);
    if (index >= 0) queue.splice(index, 1);
  }

  static mark(item, text, failed = false) {
    let state = item.querySelector(".state");
    if (!state) {
      // Right after the words, before any buttons the line carries.
      state = Object.assign(document.createElement("span"), { className: "state" });
      const words = item.querySelector(".text");
      if (words) words.after(" ", state); else item.append(" ", state);
    }
    state.textContent = text;
    state.classList.toggle("failed", failed);
  }
}
