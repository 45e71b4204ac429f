// Per-pair counters for direct messages, as DirectCounters in Swift: the next number for each
// message to a member (kept on this device, so a reload does not start again at 1), and the last
// number seen from each, so a message delivered twice is shown once and a replay or a withheld
// message is noticed.
export class DirectCounters {
  /** `storage` keeps the sent counters (localStorage in the widget). */
  constructor(storage) {
    // `missing`: counters a later message skipped; one of them arriving after came late (a dropped
    // connection, a message sent again), it was not replayed.
    Object.assign(this, { storage, received: new Map(), missing: new Map(), seen: new Set(), refusedCounters: new Map() });
  }

  /** The counter for the next message to `recipient` (1, 2, 3, ...). */
  next(recipient) {
    const key = `haven.sent.${recipient}`;
    const counter = Number(this.storage.getItem(key) ?? 0) + 1;
    this.storage.setItem(key, String(counter));
    return counter;
  }

  /** A message to `recipient` the server refused for good (it was never stored): its counter is
   *  given back once it is the last handed out (with any refused before it), so the next message
   *  leaves no gap that the recipient would take for a message withheld. */
  refused(recipient, counter) {
    const refused = this.refusedCounters.get(recipient) ?? new Set();
    this.refusedCounters.set(recipient, refused.add(counter));
    const key = `haven.sent.${recipient}`;
    let last = Number(this.storage.getItem(key) ?? 0);
    while (refused.delete(last)) last -= 1;
    this.storage.setItem(key, String(last));
  }

  /** null when the message was already shown, else the warnings its counter gives. */
  receive(sender, id, counter) {
    const seenKey = `${sender} ${id}`;
    if (this.seen.has(seenKey)) return null;
    this.seen.add(seenKey);
    if (counter === undefined) return [];
    const warnings = [];
    const last = this.received.get(sender);
    const missing = this.missing.get(sender) ?? new Set();
    this.missing.set(sender, missing);
    if (last !== undefined) {
      if (counter <= last && !missing.delete(counter)) warnings.push({ kind: "counterRepeated", sender });
      if (counter > last + 1) {
        warnings.push({ kind: "messagesWithheld", sender, missing: counter - last - 1 });
        for (let skipped = Math.max(last + 1, counter - 100); skipped < counter; skipped += 1) missing.add(skipped);
      }
    }
    this.received.set(sender, Math.max(last ?? 0, counter));
    return warnings;
  }
}
