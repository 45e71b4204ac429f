// The member's messages on their way. Each shows its state next to it: "sending…" until the
// server has stored it, "waiting for the connection…" while there is none, "sent" once stored, or
// why it was not sent, in plain words. Room messages go one at a time per room, in the order they
// were written, so a burst the rate limit slows still arrives whole and in order; what is held up
// (the limit, a new room key, a lost connection) goes again with the same id, which the server
// stores once, under the key the room has then.
import { t } from "./strings.js";

// The server's refusal codes, each with the catalog key of what a member reads for it.
const refusals = {
  rate_limited: "notSentRateLimited",
  store_failed: "notSentStoreFailed",
  suspended: "notSentSuspended",
  not_a_member: "notSentNotAMember",
  banned: "notSentBanned",
};

export class Outbox {
  /** `rooms` seals and says whether a room can be written to, `send(frame)` writes a frame (false
   *  when offline), `render(envelope, body)` shows a message and returns its list item,
   *  `randomID()` draws a message id, `online()` says whether there is a connection,
   *  `later(f, ms)` schedules. */
  constructor({ rooms, send, render, randomID, online = () => true, later = (run, ms) => setTimeout(run, ms) }) {
    Object.assign(this, { rooms, send, render, randomID, online, later, pending: new Map(), queues: new Map() });
  }

  /** Shows `body` in `room` at once, and sends it when its turn comes. */
  post(room, body) {
    const id = this.randomID();
    const envelope = this.rooms.seal(room, body, id);
    const entry = { room, body, id, item: this.render(envelope, body), inFlight: false, stale: 0 };
    this.pending.set(envelope.id, entry);
    if (!this.queues.has(room)) this.queues.set(room, []);
    this.queues.get(room).push(entry);
    Outbox.mark(entry.item, t(this.online() ? "sending" : "waitingForConnection"));
    this.pump(room);
  }

  /** Sends a sealed direct message, shown in `item`; a resend is the same sealed message. */
  postDirect(message, item) {
    const entry = { direct: message, item, inFlight: false };
    this.pending.set(message.id, entry);
    this.sendDirect(entry);
  }

  sendDirect(entry) {
    entry.inFlight = this.send({ type: "direct", message: entry.direct });
    Outbox.mark(entry.item, t(entry.inFlight ? "sending" : "waitingForConnection"));
  }

  /** Sends the oldest unsent message of `room`, if the room can take one now. */
  pump(room) {
    const head = this.queues.get(room)?.[0];
    if (!head || head.inFlight || head.pausedUntil > Date.now() || !this.rooms.canSend(room)) return;
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
    if (entry.room) this.pump(entry.room);
    return true;
  }

  /** An `error` about one of our messages; returns false for an id this outbox does not hold. */
  refused(frame) {
    const entry = this.pending.get(frame.id);
    if (!entry) return false;
    entry.inFlight = false;
    if (frame.code === "stale_epoch") {
      // Once at once (the new key is usually here already); after that with growing pauses, so a
      // server that keeps saying "stale" is not answered with a flood.
      entry.stale += 1;
      Outbox.mark(entry.item, t("sendingNewRoomKey"));
      this.retryLater(entry, entry.stale === 1 ? 0 : Math.min(250 * 2 ** entry.stale, 8000));
    } else if (frame.code === "rate_limited" || frame.code === "store_failed") {
      Outbox.mark(entry.item, t(refusals[frame.code]));
      this.retryLater(entry, 2000);
    } else {
      this.finish(frame.id, entry);
      Outbox.mark(entry.item, t(refusals[frame.code] ?? "notSentRefused"), true);
      if (entry.room) this.pump(entry.room);
    }
    return true;
  }

  retryLater(entry, pause) {
    entry.pausedUntil = Date.now() + pause;
    this.later(() => { entry.pausedUntil = 0; this.retry(); }, pause);
  }

  /** After a reconnect: whatever was on its way may not have arrived; it goes again (same ids). */
  reconnected() {
    for (const entry of this.pending.values()) entry.inFlight = false;
    this.retry();
  }

  /** Sends what waits: each room's next message, and private messages not yet sent. */
  retry() {
    for (const room of this.queues.keys()) this.pump(room);
    for (const entry of this.pending.values()) if (entry.direct && !entry.inFlight) this.sendDirect(entry);
  }

  finish(id, entry) {
    this.pending.delete(id);
    if (!entry.room) return;
    const queue = this.queues.get(entry.room);
    queue.splice(queue.indexOf(entry), 1);
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
