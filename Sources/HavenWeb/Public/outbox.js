// The member's room messages on their way: each shows "sending…" until the server has stored
// it; what the server refuses is said next to it in plain words, and a message refused only
// because the room moved to a new key, or because it came too fast, goes again with the same id
// (and so the same counter), under the key the room has then.
const refusals = {
  rate_limited: "Not sent yet: you are sending quickly. Trying again…",
  suspended: "Not sent: a moderator has paused your posting for now.",
  not_a_member: "Not sent: you are no longer in this room.",
  store_failed: "Not sent: the service could not save it. Trying again…",
};

export class Outbox {
  /** `rooms` seals, `send` writes a frame, `render(envelope, body)` shows a message and returns
   *  its list item, `randomID()` draws a message id. */
  constructor({ rooms, send, render, randomID }) {
    Object.assign(this, { rooms, send, render, randomID, pending: new Map() });
  }

  /** Seals `body` for `room`, shows it as sending, and sends it. */
  post(room, body, resend = null) {
    const id = resend?.id ?? this.randomID();
    const envelope = this.rooms.seal(room, body, id);
    const item = resend?.item ?? this.render(envelope, body);
    this.pending.set(envelope.id, { room, body, item, id, waitingForKey: false });
    Outbox.mark(item, "sending…");
    this.send({ type: "send", envelope });
  }

  /** Sends a sealed direct message, shown in `item` as sending until the server stores it; a
   *  resend is the same sealed message (the same id), which the server stores once. */
  postDirect(message, item) {
    this.pending.set(message.id, { item, direct: message, waitingForKey: false });
    Outbox.mark(item, "sending…");
    this.send({ type: "direct", message });
  }

  /** An `ack`: the message is stored. Returns false for an id this outbox does not hold. */
  acknowledged(frame) {
    const pending = this.pending.get(frame.id);
    if (!pending) return false;
    this.pending.delete(frame.id);
    Outbox.mark(pending.item, "sent");
    return true;
  }

  /** An `error` about one of our messages; returns false for an id this outbox does not hold. */
  refused(frame) {
    const pending = this.pending.get(frame.id);
    if (!pending) return false;
    if (frame.code === "stale_epoch") {
      pending.waitingForKey = true;
      Outbox.mark(pending.item, "sending… (the room is changing its key)");
      // Once at once (the new key is usually here already); after that with growing pauses, so
      // a server that keeps saying "stale" is not answered with a flood.
      pending.stale = (pending.stale ?? 0) + 1;
      if (pending.stale === 1) this.retry(); else setTimeout(() => this.retry(), Math.min(250 * 2 ** pending.stale, 8000));
    } else if (frame.code === "rate_limited" || frame.code === "store_failed") {
      Outbox.mark(pending.item, refusals[frame.code]);
      setTimeout(() => { pending.waitingForKey = true; this.retry(); }, 2000);
    } else {
      this.pending.delete(frame.id);
      Outbox.mark(pending.item, refusals[frame.code] ?? "Not sent: the service refused it.", true);
    }
    return true;
  }

  /** Sends again what waits for its room's key, once the room has one to send under. */
  retry() {
    for (const pending of this.pending.values()) {
      if (!pending.waitingForKey || (!pending.direct && !this.rooms.canSend(pending.room))) continue;
      pending.waitingForKey = false;
      if (pending.direct) this.postDirect(pending.direct, pending.item); else this.post(pending.room, pending.body, pending);
    }
  }

  static mark(item, text, failed = false) {
    let state = item.querySelector(".state");
    if (!state) { state = Object.assign(document.createElement("span"), { className: "state" }); item.append(" ", state); }
    state.textContent = text;
    state.classList.toggle("failed", failed);
  }
}
