// What a counsellor sees of the people who need one: the line of members waiting to talk (oldest
// first, with how long they have waited and a "Talk now" each), and alerts when someone reports a
// message as worrying. Anything new chimes and counts in the tab's title.
import { nameProblem } from "./names.js";
import { t } from "./strings.js";

export class CounsellorInbox {
  /** `element(id)` finds the inbox's parts; `people` names and badges; `attention` chimes and
   *  titles; `take(member)` asks the server for a waiting member; `showMessage(id)` brings a room
   *  message into view (false if it is not on this page); `writeTo(member)` opens a private thread. */
  constructor({ document, element, people, attention, take, showMessage, writeTo }) {
    Object.assign(this, { document, element, people, attention, take, showMessage, writeTo, waiting: new Set(), concerns: 0 });
  }

  /** The line as the server sent it. A member not seen in it before chimes. */
  queue(entries) {
    const fresh = entries.some((entry) => !this.waiting.has(entry.member));
    this.waiting = new Set(entries.map((entry) => entry.member));
    // The server's word for a name: taken only if it is one a member may have (no role words).
    entries.filter((entry) => !this.people.names.has(entry.member) && !nameProblem(entry.displayName))
      .forEach((entry) => this.people.setName(entry.member, entry.displayName));
    this.element("queue").replaceChildren(...entries.map((entry) => this.entry(entry)));
    this.element("queue-title").textContent = entries.length
      ? t("queueTitleWaiting", { count: entries.length }) : t("queueTitleEmpty");
    this.reveal();
    this.attention.set("queue", entries.length);
    if (fresh) this.attention.chime();
  }

  entry(entry) {
    const item = this.document.createElement("li");
    const minutes = Math.max(0, Math.round((Date.now() / 1000 - entry.waitingSince) / 60));
    item.append(this.people.nameLabel(entry.member), " ",
      !entry.connected ? t("queueReconnecting") : minutes < 1 ? t("queueJustAsked") : t("queueWaitingFor", { count: minutes }), " ");
    const talk = Object.assign(this.document.createElement("button"), { className: "take", textContent: t("talkNowButton") });
    talk.setAttribute("aria-label", t("talkNowLabel", { name: this.people.name(entry.member) }));
    talk.addEventListener("click", () => {
      talk.disabled = true;
      this.take(entry.member);
    });
    item.append(talk);
    return item;
  }

  /** Someone reported a message as worrying: said at the top, with a way to the message and to
   *  the person. */
  concern(frame) {
    const item = this.document.createElement("li");
    item.className = "concern";
    item.setAttribute("role", "alert");
    const name = typeof frame.displayName === "string" && !nameProblem(frame.displayName) ? frame.displayName : this.people.name(frame.member);
    item.append(frame.room ? t("concernInRoom", { name, room: frame.room }) : t("concernPrivate", { name }), " ");
    if (frame.room) {
      const show = Object.assign(this.document.createElement("button"), { textContent: t("showMessageButton") });
      show.addEventListener("click", () => { if (!this.showMessage(frame.message)) show.textContent = t("messageNotHere"); });
      item.append(show, " ");
    }
    const write = Object.assign(this.document.createElement("button"), { textContent: t("messagePrivatelyButton") });
    write.setAttribute("aria-label", t("messagePrivatelyLabel", { name }));
    write.addEventListener("click", () => this.writeTo(frame.member));
    const done = Object.assign(this.document.createElement("button"), { textContent: t("concernDoneButton") });
    done.addEventListener("click", () => {
      item.remove();
      this.attention.set("concerns", --this.concerns);
    });
    item.append(write, " ", done);
    this.element("concerns").prepend(item);
    this.reveal();
    this.attention.set("concerns", ++this.concerns);
    this.attention.chime();
  }

  /** This counsellor took `member` from the line: their private thread opens. */
  took(member) { this.writeTo(member); }

  reveal() { this.element("counsellor-inbox").hidden = false; }
}
