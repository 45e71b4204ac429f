// Private conversations, one thread per person: their messages and yours, in time order, under
// their name and verified role, with a "Reply" that addresses the message box to them. What you
// sent is kept on this device (in memory, or in its storage when it remembers you), since the
// server keeps private messages only for their recipient; so is, until the server has it, the
// sealed message itself, so that a page reloaded before it went sends it then, exactly once.

import { timeLabel } from "./message-text.js";
import { t } from "./strings.js";

const kept = 200;   // messages of your own kept per person

export class Threads {
  /** `list` holds the threads; `people` names and badges; `reply(member)` opens the message box. */
  constructor({ document, list, people, storage, reply }) {
    // `lines`: the line showing each of your messages still on its way, by id.
    Object.assign(this, { document, list, people, storage, reply, threads: new Map(), lines: new Map() });
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
    for (const sent of this.saved(member)) {
      const line = this.place(messages, this.line(t("yourMessage", { text: sent.text }), sent.at, "mine"));
      if (sent.message) this.lines.set(sent.message.id, line);
      if (sent.refusal) {
        const state = Object.assign(this.document.createElement("span"), { textContent: sent.refusal });
        state.classList.add("state", "failed");
        line.append(" ", state);
      }
    }
    return messages;
  }

  /** A message from `member`; returns its line, for the buttons that go with it. */
  received(member, text, at) { return this.place(this.thread(member), this.line(text, at)); }

  /** A note in `member`'s thread: a warning about their messages, or (`kind` "note") a word on
   *  who they are. */
  note(member, text, kind = "warning") { return this.place(this.thread(member), this.line(text, Date.now(), kind)); }

  /** A message of yours to `member` (`message`, sealed, and its `counter`, until ``settled``),
   *  kept on this device; returns its line, for its state. */
  sent(member, text, at, message, counter) {
    // The thread first: made now, it shows what was kept before, and this message once, below.
    const messages = this.thread(member);
    this.save(member, [...this.saved(member), { text, at, message, counter }].slice(-kept));
    const line = this.place(messages, this.line(t("yourMessage", { text }), at, "mine"));
    this.lines.set(message.id, line);
    return line;
  }

  /** The people you wrote to from this page (a message of yours that was not refused), newest
   *  threads last, at most `limit`: they may go on writing back to you. */
  writtenTo(limit) {
    return [...this.threads.keys()].filter((member) => this.saved(member).some((sent) => !sent.refusal)).slice(-limit);
  }

  /** The server has your message `id` to `member`, or refused it for good (`refusal`, the words
   *  shown for it, kept so a reloaded page says it too): it is not to be sent again. */
  settled(member, id, refusal = null) {
    this.save(member, this.saved(member).map(({ message, counter, ...kept }) => {
      if (message?.id !== id) return { ...kept, message, counter };
      return refusal ? { ...kept, refusal } : kept;
    }));
  }

  /** Threads with people this device kept messages to (for a page that comes back), and your
   *  messages in them that had not reached the server: [{ member, message, counter, line }], to send. */
  restore(keys) {
    const unsent = [];
    for (const key of keys.filter((name) => name.startsWith("haven.thread."))) {
      const member = key.slice("haven.thread.".length);
      this.thread(member);
      for (const { message, counter } of this.saved(member)) if (message) unsent.push({ member, message, counter, line: this.lines.get(message.id) });
    }
    return unsent;
  }

  save(member, saved) { this.storage.setItem(`haven.thread.${member}`, JSON.stringify(saved)); }

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
