// The conversation's list as a chat shows it: a separator at each new day, a "New messages" line
// above the first message that arrived while the member was away or reading back, and a "New
// messages" button to jump down. The list follows new messages while the member is at its end and
// stays put while they read back.
import { locale, t } from "./strings.js";

const nearEnd = 80;   // pixels from the end that still count as "at the end"

export class MessageList {
  /** `list` is the conversation's list; `jump` the button that takes the member to the end. */
  constructor({ document, window, list, jump }) {
    Object.assign(this, { document, window, list, jump, following: true, lastDay: null });
    list.addEventListener("scroll", () => {
      this.following = list.scrollHeight - list.scrollTop - list.clientHeight < nearEnd;
      if (this.following) jump.hidden = true;
    });
    jump.addEventListener("click", () => this.toEnd());
    new window.MutationObserver(() => { if (this.following) list.scrollTop = list.scrollHeight; })
      .observe(list, { childList: true, subtree: true });
  }

  /** A message sent at `at` (milliseconds); `mine` for this member's own (which always shows,
   *  and means everything above it was read). */
  add(item, at, { mine = false } = {}) {
    const day = new Date(at).toDateString();
    if (day !== this.lastDay) {
      this.lastDay = day;
      this.list.append(this.separator("day", this.dayName(at)));
    }
    if (mine) {
      this.list.querySelector(".unread")?.remove();
      this.following = true;
    } else if ((this.document.hidden || !this.following) && !this.list.querySelector(".unread")) {
      this.list.append(this.separator("unread", t("unreadMarker")));
    }
    this.list.append(item);
    if (!this.following) this.jump.hidden = false;
  }

  /** A line that is not a message (a warning, a note): added where the conversation is. */
  note(item) { this.list.append(item); }

  /** Jumps to the end (to the first unread message if it is further up) and follows again. */
  toEnd() {
    this.following = true;
    this.jump.hidden = true;
    const unread = this.list.querySelector(".unread");
    if (unread && unread.offsetTop < this.list.scrollTop) unread.scrollIntoView({ block: "start" });
    else this.list.scrollTop = this.list.scrollHeight;
  }

  separator(kind, text) {
    const item = Object.assign(this.document.createElement("li"), { className: kind, textContent: text });
    item.setAttribute("role", "separator");
    return item;
  }

  // "Today", "Yesterday", or the date.
  dayName(at) {
    const day = new Date(at).toDateString();
    if (day === new Date().toDateString()) return t("today");
    if (day === new Date(Date.now() - 86_400_000).toDateString()) return t("yesterday");
    return new Date(at).toLocaleDateString(locale, { weekday: "long", day: "numeric", month: "long" });
  }
}
