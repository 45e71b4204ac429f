// Private conversations, as this member has them: what arrives is opened and checked (the
// sender's signature inside the seal, their count of messages, the name and staff proof they
// signed inside), then shown in the thread with that person; what this member writes is sealed
// to the recipient, kept on this device and sent through the outbox like any message.
import { unb64 } from "./haven-protocol.js";
import { nameProblem } from "./names.js";
import { warningText } from "./room-warnings.js";
import { t } from "./strings.js";

export class PrivateMessages {
  /** `element(id)` finds the form, the label and the notice; `staff` is the StaffTrust;
   *  `counters` the DirectCounters; `threads`, `reports`, `callOffers` and `outbox` the page's;
   *  `noteRole(info)` takes in a verified proof; `ownInfo()` is this member's proof to sign in;
   *  `openDrawer()` shows the private conversations on a phone; `fits(text)` refuses a text too
   *  long to send; `spoken()` notes that the member wrote something; `arrived(sender)` is told of
   *  each message shown. */
  constructor(options) {
    Object.assign(this, options, { decoder: new TextDecoder(), encoder: new TextEncoder(), target: null });
    this.element("direct-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.send();
    });
    const staffOnly = this.element("staff-only-messages");
    staffOnly.checked = this.storage.getItem("haven.staffOnlyMessages") === "true";
    staffOnly.addEventListener("change", () => {
      this.storage.setItem("haven.staffOnlyMessages", String(staffOnly.checked));
      this.sendPreferences();
    });
  }

  /** Tells the server from whom this member takes private messages (kept in its memory, not
   *  stored), and whom this page wrote to before (they may go on writing back after a reload or
   *  a dropped connection). The choice is read from storage, which another tab of a remembered
   *  member shares. */
  sendPreferences() {
    const box = this.element("staff-only-messages");
    box.checked = this.storage.getItem("haven.staffOnlyMessages") === "true";
    const staffOnly = box.checked && !this.element("staff-only-messages-label").hidden;
    this.sendFrame({ type: "directPreferences", from: staffOnly ? "staff_only" : "anyone", writtenTo: this.threads.writtenTo(256) });
  }

  /** A `direct` frame's message: shown in its sender's thread if it opens and checks out. */
  received(message) {
    const { protocol, me, people } = this;
    let opened, body;
    try {
      opened = protocol.openDirect(message, me);
      body = JSON.parse(this.decoder.decode(opened.body));
    } catch { return; }
    const { text, counter, name, staff: staffProof, sentAt } = body;
    const sender = opened.sender;
    // The sender signed their name and staff proof inside the message: a role is shown only if the
    // roster binds the proof's invite to this sender and it verifies here, and a name only if it is
    // one a member may have.
    if (typeof name === "string" && !nameProblem(name) && !people.names.has(sender)) people.setName(sender, name);
    if (staffProof?.member === sender && this.staff.boundByRoster(staffProof)) this.noteRole(staffProof);
    const warnings = this.counters.receive(sender, message.id, counter);
    if (warnings === null) return;
    for (const warning of warnings) this.threads.note(sender, `⚠ ${warningText(warning.kind)}`);
    // The sender's clock places the message in the thread, but never later than now: a sender
    // cannot push their words to the end of a conversation.
    const at = Math.min(Number.isFinite(sentAt) ? sentAt : Date.now(), Date.now());
    const item = this.threads.received(sender, typeof text === "string" ? text : "", at);
    item.append(" ", this.reports.menu(people.name(sender), { message: message.id, sender, evidence: opened.evidence }));
    if (people.roles.get(this.myID) === "counsellor" && !people.roles.has(sender)) item.append(" ", ...this.callOffers.buttons(sender));
    this.announce(sender, item);
    this.arrived(sender);
  }

  /** Opens the private message box addressed to `member`, and puts the cursor in it. */
  writeTo(member) {
    this.target = member;
    this.element("direct-label").replaceChildren(t("privateMessageTo", { name: this.people.name(member) }), " ", this.people.badge(member));
    this.element("direct-form").hidden = false;
    this.openDrawer();
    this.element("direct-composer").focus();
  }

  send() {
    const box = this.element("direct-composer");
    const text = box.value.trim();
    if (!text || !this.target || !this.fits(text)) return;
    const sentAt = Date.now();
    const own = this.ownInfo();
    const counter = this.counters.next(this.target);
    const body = this.encoder.encode(JSON.stringify({
      text, counter, name: this.people.names.get(this.myID), sentAt, ...(own ? { staff: own } : {}),
    }));
    const message = this.protocol.sealDirect(body, this.me, unb64(this.target), this.sodium.randomBytes(16), this.sodium.randomBytes(32));
    this.post(this.target, message, counter, this.threads.sent(this.target, text, sentAt, message, counter));
    this.spoken();
    box.value = "";
  }

  /** Messages a page reloaded before they reached the server ([{ member, message, counter, line }]
   *  from ``Threads/restore``): they go now, exactly once. */
  resend(unsent) {
    for (const { member, message, counter, line } of unsent) this.post(member, message, counter, line);
  }

  /** Hands a sealed message to `member` to the outbox; once it is stored or refused for good, its
   *  thread keeps the outcome, and a refused one gives its counter back. */
  post(member, message, counter, line) {
    this.outbox.postDirect(message, line, (refusal) => {
      if (refusal && counter !== undefined) this.counters.refused(member, counter);
      this.threads.settled(member, message.id, refusal);
    });
  }

  // A private message out of sight is announced where the member is looking, with a way to it.
  announce(sender, item) {
    const box = item.getBoundingClientRect();
    if (item.offsetParent !== null && box.top >= 0 && box.bottom <= this.window.innerHeight) return;
    const notice = this.element("direct-notice");
    // The role goes with the name, so a member who took a counsellor's name is seen as a member.
    notice.textContent = t("newPrivateMessageNotice", { name: `${this.people.name(sender)} (${this.people.badge(sender).textContent})` });
    notice.hidden = false;
    // The conversation opens with the box to answer in.
    notice.onclick = () => {
      notice.hidden = true;
      this.writeTo(sender);
      item.scrollIntoView({ block: "nearest" });
    };
  }
}
