// "Talk to a counsellor", as a member sees it, before and after Start: how many counsellors are
// online (or when they usually are), a button that puts the member in line, their place while they
// wait, and who came. The server's word that a counsellor came counts only if the counsellor's
// proof verifies on this device; otherwise the member is told to treat them as anyone else.
import { t } from "./strings.js";

export class CounsellorHelp {
  /** `element(id)` finds the strip's parts; `openingHours` is the operator's text (or null);
   *  `ask()` puts the member in line (starting the session first if need be); `leave()` stops
   *  waiting; `open(member)` opens the private conversation with the counsellor who came. */
  constructor({ element, openingHours, ask, leave, open }) {
    // `came`: who came, once a counsellor took this member (it stays said for this visit).
    Object.assign(this, { element, openingHours, waiting: false, numbers: null, came: null });
    element("ask-counsellor").addEventListener("click", () => {
      this.waiting = true;
      this.show();
      ask();
    });
    element("open-counsellor").addEventListener("click", () => open(this.counsellor));
    element("leave-queue").addEventListener("click", () => {
      this.waiting = false;
      this.show();
      leave();
    });
  }

  /** Counsellors online and members waiting, from /v1/availability or an `availability` frame. */
  availability(numbers) {
    this.numbers = numbers;
    this.show();
  }

  /** Counsellor `member` (named `name`) took this member; `verified` whether their proof checked
   *  out here (only then is there a conversation to open from here). */
  taken(member, name, verified) {
    this.waiting = false;
    this.counsellor = verified ? member : null;
    this.counsellorName = name;
    // The server's word that they are coming; "with you" once their own signed words arrive.
    this.came = verified ? t("counsellorComing", { name }) : t("counsellorUnverified", { name });
    this.show();
  }

  /** A private message from `member` arrived (signed by them): if it is the counsellor who came,
   *  they are with this member now. */
  wrote(member) {
    if (!this.counsellor || member !== this.counsellor) return;
    this.came = t("counsellorWithYou", { name: this.counsellorName });
    this.show();
  }

  /** A refusal of the line (full, too many changes): said, and the member may ask again. */
  refused(text) {
    this.waiting = false;
    this.show();
    this.element("availability").textContent = text;
  }

  /** Staff do not wait in the line: the strip is for members. */
  hide() { this.element("help-strip").hidden = true; }

  show() {
    const numbers = this.numbers;
    const position = numbers?.position;
    this.element("ask-counsellor").hidden = this.waiting || Boolean(this.came);
    this.element("leave-queue").hidden = !this.waiting;
    this.element("open-counsellor").hidden = !this.came || !this.counsellor;
    this.element("availability").textContent = this.came ?? (this.waiting ? this.waitingText(position) : this.availableText());
  }

  availableText() {
    if (!this.numbers) return t("counsellorsChecking");
    if (this.numbers.counsellorsOnline > 0) return t("counsellorsOnline", { count: this.numbers.counsellorsOnline });
    return this.openingHours ? t("noCounsellorOnlineWithHours", { hours: this.openingHours }) : t("noCounsellorOnline");
  }

  waitingText(position) {
    if (!position) return t("queueJoining");
    if (this.numbers.counsellorsOnline === 0) return t("queueNobodyOnline", { position });
    return position === 1 ? t("queueNext") : t("queuePosition", { position });
  }
}
