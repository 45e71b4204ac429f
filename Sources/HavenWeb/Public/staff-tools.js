// What staff see that members do not: the tools on each message, and the report inbox. Remove and
// Ban, which a click cannot undo, ask once more; a report names its sender only as far as the
// evidence proves it.
import { unb64 } from "./haven-protocol.js";

export class StaffTools {
  /** `act(fields)` signs and sends a moderation action; `done(text)` tells staff it went;
   *  `people` names and badges members. */
  constructor({ document, protocol, people, act, done = () => {} }) {
    Object.assign(this, { document, protocol, people, act, done, decoder: new TextDecoder() });
  }

  /** Delete, suspend for an hour, remove (asks again), ban (asks again), for the message `env`. */
  buttons(env) {
    const who = this.people.name(env.sender);
    return [
      this.button("Delete", who, { kind: "deleteMessage", room: env.room, target: env.sender, message: env.id }),
      this.button("Suspend 1 h", who, { kind: "suspend", target: env.sender, until: Math.floor(Date.now() / 1000) + 3600 }),
      this.button("Remove", who, { kind: "remove", room: env.room, target: env.sender }, "Really remove?"),
      this.button("Ban", who, { kind: "ban", target: env.sender }, "Really ban?"),
    ];
  }

  // The button turns into `confirm` for a few seconds, and only a second tap acts.
  button(label, who, fields, confirm = null) {
    const button = this.document.createElement("button");
    button.className = "moderate";
    const show = (text) => { button.textContent = text; button.setAttribute("aria-label", `${text} (message from ${who})`); };
    show(label);
    let armed = null;
    let armedAt = 0;
    button.addEventListener("click", () => {
      if (confirm && !armed) {
        show(confirm);
        armedAt = Date.now();
        armed = setTimeout(() => { armed = null; show(label); }, 5000);
        return;
      }
      // A double tap is not a second thought: the confirming tap counts only after a pause.
      if (confirm && Date.now() - armedAt < 600) return;
      clearTimeout(armed);
      armed = null;
      show(label);
      this.act(fields);
      this.done(`${label} (message from ${who}): sent to the service`);
    });
    return button;
  }

  /** The report inbox. A private message's evidence is checked against what the server stored
   *  (the sender's signature over the franking commitment), and the sender and id shown are the
   *  ones that check names, never the reporter's say-so. */
  reports(list, entries) {
    list.replaceChildren(...entries.map((entry) => {
      const item = this.document.createElement("li");
      const category = entry.report.category;
      if (!entry.report.evidence) {
        item.textContent = `${category}: a room message (${entry.report.room ?? "room"}), to look at in the room itself.`;
        return item;
      }
      if (!this.protocol.verifyReport(entry)) {
        item.textContent = `${category}: the evidence does not match any message that was sent, so it says nothing about anyone.`;
        return item;
      }
      let text = "";
      try { text = JSON.parse(this.decoder.decode(unb64(entry.report.evidence.body))).text ?? ""; } catch { /* an attachment */ }
      const sender = entry.stored.sender;
      item.append(`${category}: "${text}" from ${this.people.names.get(sender) ?? sender.slice(0, 8)} `, this.people.badge(sender),
        ` (message ${entry.stored.id.slice(0, 8)}) — verified: exactly what this sender signed`);
      return item;
    }));
  }
}
