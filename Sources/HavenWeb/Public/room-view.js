// The room on screen: each message opened with the room's key and checked (RoomKeyring), then
// shown with its sender's name and verified role, its time, what it replies to, its links, videos
// and attachments, and the actions that fit who is looking (reply, message privately, report;
// for staff, moderate; for a counsellor, call). Also what the room says about itself: who can read
// it, who is new, and anything that did not check out.
import { linkedText, timeLabel, youTubeCard, youTubeVideos } from "./message-text.js";
import { nameProblem } from "./names.js";
import { warningText } from "./room-warnings.js";
import { t } from "./strings.js";

const excerpt = (text) => (text.length > 120 ? `${text.slice(0, 120)}…` : text);

export class RoomView {
  /** `element(id)` finds the room's parts; `room()` is the room on screen; `rooms` holds each
   *  room's keyring and log; `people` names and badges; `myID` is this member; `messageList` lays
   *  the messages out; `staffTools`, `callOffers`, `reports`, `attachments` and `composer` are the
   *  page's; `writeTo(member)` opens a private conversation; `storage` remembers who could read a
   *  room when this device last looked. */
  constructor(options) {
    // `shown`: "room id" -> { text, sender } of each message shown (a deleted one's text is dropped).
    Object.assign(this, options, { decoder: new TextDecoder(), shown: new Map(), warned: new Set(), newSinceLastVisit: new Map() });
  }

  /** A `message` frame: shown once, if it opens under a key this page holds (it waits for the key
   *  otherwise). After a reconnect the server resumes from this page's position, and a message
   *  already here (this member's own, say) is not shown again. */
  show(frame) {
    const env = frame.envelope;
    if (this.shown.has(`${env.room} ${env.id}`)) return;
    const state = this.rooms.state(env.room);
    const opened = state.keyring.open(env);
    if (opened.kind === "needsKey") { state.waiting.push(frame); return; }
    if (opened.kind === "refused") { if (opened.warning) this.warn(env.room, opened.warning); return; }
    opened.warnings.forEach((warning) => this.warn(env.room, warning));
    this.render(env, opened.body);
  }

  /** A message as the page shows it; returns its line (the outbox adds its state). */
  render(env, plaintext) {
    const { document, people, myID } = this;
    let body;
    try { body = JSON.parse(this.decoder.decode(plaintext)); } catch { return undefined; }
    const { attachment, name, sentAt, reply } = body;
    const text = typeof body.text === "string" ? body.text : "";
    const mine = env.sender === myID;
    // The sender signed their name inside the message: past senders keep their names.
    if (typeof name === "string" && !nameProblem(name) && !people.names.has(env.sender)) people.setName(env.sender, name);
    const item = document.createElement("li");
    item.dataset.id = env.id;
    if (mine) item.classList.add("mine");
    // The sender's clock places the message, but never later than now.
    const at = Math.min(Number.isFinite(sentAt) ? sentAt : Date.now(), Date.now());
    const words = Object.assign(document.createElement("span"), { className: "text" });
    words.append(...linkedText(document, text));
    item.append(this.sender(env.sender), timeLabel(document, at), " ");
    if (typeof reply?.id === "string") item.append(this.quote(env.room, reply.id));
    item.append(words);
    for (const video of youTubeVideos(text)) item.append(youTubeCard(document, video));
    if (attachment) item.append(this.attachments.view(attachment));
    this.shown.set(`${env.room} ${env.id}`, { text, sender: env.sender });
    item.append(...this.actions(env));
    this.messageList.add(item, at, { mine });
    return item;
  }

  // The sender's name (a tap writes to them privately) and badge.
  sender(member) {
    const who = Object.assign(this.document.createElement("span"), { className: "who" });
    who.append(this.people.nameLabel(member));
    if (member !== this.myID) {
      who.tabIndex = 0;
      who.setAttribute("role", "button");
      who.title = t("messagePrivatelyButton");
      who.addEventListener("click", () => this.writeTo(member));
      who.addEventListener("keydown", (event) => { if (event.key === "Enter") this.writeTo(member); });
    }
    who.append(" ", this.people.badge(member));
    return who;
  }

  // What the one looking can do with this message. On a phone they fold behind "⋯", so the
  // conversation, not its buttons, fills the screen.
  actions(env) {
    const { people, myID } = this;
    const name = people.name(env.sender);
    const fromOther = env.sender !== myID;
    const staff = people.roles.has(myID);
    const actions = [this.button("reply", t("replyButton"), t("replyToLabel", { name }), () => this.composer.replyTo(env.id, name))];
    if (fromOther) {
      if (staff) actions.push(this.staffTools.menu(env));
      if (people.roles.get(myID) === "counsellor" && !people.roles.has(env.sender)) actions.push(...this.callOffers.buttons(env.sender).filter((part) => part !== " "));
      // A visible way to talk to this person alone (tapping the name does the same).
      actions.push(this.button("privately", t("messagePrivatelyButton"), t("messagePrivatelyLabel", { name }), () => this.writeTo(env.sender)));
      if (!staff) actions.push(this.reports.menu(name, { room: env.room, message: env.id, sender: env.sender }));
    }
    const folded = Object.assign(this.document.createElement("span"), { className: "actions" });
    folded.append(...actions.flatMap((action) => [" ", action]));
    const more = this.button("more", "⋯", t("moreActionsLabel", { name }), () => {
      const open = folded.classList.toggle("open");
      more.setAttribute("aria-expanded", String(open));
      if (open) folded.querySelector("button")?.focus();
    });
    more.setAttribute("aria-expanded", "false");
    return [" ", more, folded];
  }

  button(className, text, label, click) {
    const button = Object.assign(this.document.createElement("button"), { className, textContent: text });
    button.setAttribute("aria-label", label);
    button.addEventListener("click", click);
    return button;
  }

  /** A reply quotes the message of the same room as this page showed it (never the replier's
   *  account of it); a message this page never showed is only pointed at, and a deleted one is
   *  said to be removed. */
  quote(room, id) {
    const original = this.shown.get(`${room} ${id}`);
    const block = Object.assign(this.document.createElement("blockquote"), { className: "quote" });
    if (!original) block.textContent = t("quotedUnknown");
    else if (original.removed) block.textContent = t("quotedRemoved");
    else block.textContent = t("quotedMessage", { name: this.people.name(original.sender), text: excerpt(original.text) });
    return block;
  }

  /** A message's text and sender as shown here in `room`, if it is (and was not deleted). */
  message(room, id) {
    const shown = this.shown.get(`${room} ${id}`);
    return shown?.removed ? undefined : shown;
  }

  /** Brings a message into view and marks it; false if this page does not show it. */
  highlight(id) {
    const item = this.element("messages").querySelector(`li[data-id="${CSS.escape(id)}"]`);
    if (!item) return false;
    item.classList.add("highlight");
    item.scrollIntoView({ block: "center" });
    return true;
  }

  /** A moderator deleted a message: everyone sees that it went (its text is not kept, nor quoted
   *  again); its sender also sees why. */
  deleted(action, reason) {
    const key = `${action.room} ${action.message}`;
    if (this.shown.has(key)) this.shown.set(key, { removed: true });
    const item = this.element("messages").querySelector(`li[data-id="${CSS.escape(action.message)}"]`);
    item?.replaceChildren(Object.assign(this.document.createElement("em"), {
      textContent: action.target === this.myID && reason ? t("yourMessageRemovedReason", { reason }) : t("messageRemovedByModerator"),
    }));
  }

  /** A line in the room that is not a message (`alert`: said at once by screen readers). */
  note(text, { alert = false, className = "" } = {}) {
    const item = Object.assign(this.document.createElement("li"), { className, textContent: text });
    if (alert) item.setAttribute("role", "alert");
    this.messageList.note(item);
  }

  /** What the browser noticed that did not check out, said once in the room in plain words. */
  warn(room, warning) {
    const text = warningText(warning.kind);
    const key = `${room} ${warning.kind} ${warning.sender ?? ""}`;
    if (room !== this.room() || !text || this.warned.has(key)) return;
    this.warned.add(key);
    this.note(`⚠ ${text}`, { alert: true, className: "warning" });
  }

  /** How many people can read the room (its verified log's members: whoever holds its key, here
   *  or not), how many are here now, and who became a reader since this device last looked
   *  (worked out once per visit, when this member's own place in the room is settled). */
  readers(room) {
    if (room !== this.room()) return;
    const { people, myID, storage } = this;
    const log = this.rooms.state(room).keyring.log;
    if (!log.members.has(myID)) return;
    const seenKey = `haven.seen.${room}`;
    if (!this.newSinceLastVisit.has(room)) {
      const seen = JSON.parse(storage.getItem(seenKey) ?? "null");
      const fresh = seen ? [...log.members].filter((member) => member !== myID && !seen.includes(member)) : [];
      const known = fresh.filter((member) => people.names.has(member)).map((member) => people.names.get(member));
      const others = fresh.length - known.length;
      this.newSinceLastVisit.set(room, [...known, ...(others > 0 ? [t("othersCount", { count: others })] : [])].join(", "));
    }
    storage.setItem(seenKey, JSON.stringify([...log.members]));
    const here = this.rooms.state(room).online.size || 1;
    const readers = t(log.mode === "open" ? "readersOpen" : "readers", { count: log.members.size, here });
    const newcomers = this.newSinceLastVisit.get(room);
    this.element("readers").textContent = newcomers ? `${readers} ${t("newSinceLastLooked", { names: newcomers })}` : readers;
  }

  /** Messages under a key nobody online could share with this member stay unreadable: said once,
   *  plainly, when this member starts the room's next key itself. */
  unreadableHistory(room, change) {
    if (change.kind !== "epochStarted" || change.record.author !== this.myID || room !== this.room()) return;
    const state = this.rooms.state(room);
    const unreadable = state.waiting.filter((frame) => frame.envelope.epoch < change.record.epoch);
    if (unreadable.length === 0) return;
    state.waiting = state.waiting.filter((frame) => frame.envelope.epoch >= change.record.epoch);
    this.note(t("earlierMessagesPrivate"));
  }
}
