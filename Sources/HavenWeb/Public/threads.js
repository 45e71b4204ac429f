// Private conversations, one thread per person: their messages and yours, in time order, under
// their name and verified role, with a "Reply" that addresses the message box to them. What you
// sent is kept on this device (in memory, or in its storage when it remembers you), since the
// server keeps private messages only for their recipient.

import { timeLabel } from "./message-text.js";
import { t } from "./strings.js";

const kept = 200;   // messages of your own kept per person

export class Threads {
  /** `list` holds the threads; `people` names and badges; `reply(member)` opens the message box. */
  constructor({ document, list, people, storage, reply }) {
    Object.assign(this, { document, list, people, storage, reply, threads: new Map() });
  }

  /** The thread with `member`, made on first use. */
  thread(member) {
    if (this.threads.has(member)) return this.threads.get(member);
    const item = this.document.createElement("li");
    item.className = "thread";
    item.dataset.peer = member;
    const heading = this.document.createElement("h3");
    heading.append(this.people.nameLabel(member), " ", this.people.badge(member));
    const messages = this.document.createElement("ol");
    messages.className = "thread-messages";
    const reply = Object.assign(this.document.createElement("button"), { className: "reply", textContent: t("replyButton") });
    reply.setAttribute("aria-label", t("replyPrivatelyLabel", { name: this.people.name(member) }));
    reply.addEventListener("click", () => this.reply(member));
    item.append(heading, messages, reply);
    this.list.append(item);
    this.threads.set(member, messages);
    for (const sent of this.saved(member)) this.place(messages, this.line(t("yourMessage", { text: sent.text }), sent.at, "mine"));
    return messages;
  }

  /** A message from `member`; returns its line, for the buttons that go with it. */
  received(member, text, at) { return this.place(this.thread(member), this.line(text, at)); }

  /** A note in `member`'s thread: a warning about their messages, or (`kind` "note") a word on
   *  who they are. */
  note(member, text, kind = "warning") { return this.place(this.thread(member), this.line(text, Date.now(), kind)); }

  /** A message of yours to `member`, kept on this device; returns its line, for its state. */
  sent(member, text, at) {
    // The thread first: made now, it shows what was kept before, and this message once, below.
    const messages = this.thread(member);
    const saved = [...this.saved(member), { text, at }].slice(-kept);
    this.storage.setItem(`haven.thread.${member}`, JSON.stringify(saved));
    return this.place(messages, this.line(t("yourMessage", { text }), at, "mine"));
  }

  /** Threads with people this device kept messages to (for a page that comes back). */
  restore(keys) {
    for (const key of keys.filter((name) => name.startsWith("haven.thread."))) this.thread(key.slice("haven.thread.".length));
  }

  saved(member) {
    try { return JSON.parse(this.storage.getItem(`haven.thread.${member}`) ?? "[]"); } catch { return []; }
  }

  line(text, at, kind = "") {
    const item = this.document.createElement("li");
    if (kind) item.className = kind;
    item.dataset.at = String(at);
    item.append(timeLabel(this.document, at), " ", Object.assign(this.document.createElement("span"), { className: "text", textContent: text }));
    return item;
  }

  // In time order, whatever order they arrive in (kept ones first, the server's replay after).
  place(messages, line) {
    const later = [...messages.children].find((other) => Number(other.dataset.at) > Number(line.dataset.at));
    messages.insertBefore(line, later ?? null);
    return line;
  }
}
