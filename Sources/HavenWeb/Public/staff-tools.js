// What staff see that members do not: a "Moderate" menu on each message, and the report inbox.
// Every action asks first, with a reason the member concerned is shown (signed into the action),
// and says "Done" only once the service has applied it. A report names its sender only as far as
// the evidence proves it.
import { unb64 } from "./haven-protocol.js";
import { reasonKeys, reasonText, reasonToSign } from "./reasons.js";
import { locale, t } from "./strings.js";

const actions = [
  { kind: "deleteMessage", button: "modDelete", question: "modDeleteQuestion", confirm: "modDeleteConfirm", done: "modDeleteDone" },
  { kind: "suspend", button: "modSuspend", question: "modSuspendQuestion", confirm: "modSuspendConfirm", done: "modSuspendDone" },
  { kind: "remove", button: "modRemove", question: "modRemoveQuestion", confirm: "modRemoveConfirm", done: "modRemoveDone" },
  { kind: "ban", button: "modBan", question: "modBanQuestion", confirm: "modBanConfirm", done: "modBanDone" },
];
const auditKeys = {
  deleteMessage: "auditDeleted", suspend: "auditSuspended", ban: "auditBanned", remove: "auditRemoved",
  admit: "auditAdmitted", appoint: "auditAppointed", lift: "auditLifted",
};
const categoryKeys = { self_harm_risk: "reportWorried", harassment: "reportHarassment", spam: "reportSpam", other: "reportOther" };

export class StaffTools {
  /** `act(fields)` signs and sends a moderation action and returns its id (null: not sent);
   *  `done(text)` tells staff how it went; `people` names and badges members; `roomMessage(id)`
   *  is a room message as this page shows it ({ text, sender }), if it does, and
   *  `showMessage(id)` brings it into view; `attention` chimes and counts new reports. */
  constructor({ document, protocol, people, act, done, roomMessage, showMessage, attention }) {
    Object.assign(this, { document, protocol, people, act, done, roomMessage, showMessage, attention, decoder: new TextDecoder() });
    this.pending = new Map();      // action id -> what to say once the service applied it
    this.seenReports = new Set();  // report ids already in the inbox
    this.newReports = 0;
    this.nextPage = null;          // where the next older page of reports starts, if any
    this.askedOlder = false;       // the page on its way is an older one, to add below
  }

  /** The "Moderate" button for the message `env`, and the panel it opens. */
  menu(env) {
    const who = this.people.name(env.sender);
    const box = Object.assign(this.document.createElement("span"), { className: "moderation" });
    const open = Object.assign(this.document.createElement("button"), { className: "moderate", textContent: t("moderateButton") });
    open.setAttribute("aria-label", t("moderateLabel", { name: who }));
    open.setAttribute("aria-expanded", "false");
    const panel = Object.assign(this.document.createElement("div"), { className: "moderation-panel", hidden: true });
    open.addEventListener("click", () => {
      panel.hidden = !panel.hidden;
      open.setAttribute("aria-expanded", String(!panel.hidden));
      if (!panel.hidden) this.choose(panel, env);
    });
    box.append(open, panel);
    return box;
  }

  // The four actions; one tap asks the question.
  choose(panel, env) {
    const who = this.people.name(env.sender);
    panel.replaceChildren(...actions.map((action) => {
      const button = Object.assign(this.document.createElement("button"), { textContent: t(action.button) });
      button.setAttribute("aria-label", t("moderateActionLabel", { action: t(action.button), name: who }));
      button.addEventListener("click", () => this.ask(panel, env, action));
      return button;
    }));
    panel.firstChild.focus();
  }

  // The question, the reason (shown to the member) and the confirming button.
  ask(panel, env, action) {
    const who = this.people.name(env.sender);
    const document = this.document;
    const question = Object.assign(document.createElement("p"), { className: "question", textContent: t(action.question, { name: who }) });
    question.id = `question-${env.id}`;
    const pick = Object.assign(document.createElement("select"), { id: `reason-${env.id}`, required: true });
    // No reason is chosen for the moderator: the member will read it.
    pick.append(Object.assign(document.createElement("option"), { value: "", textContent: t("reasonChoose"), disabled: true, selected: true }));
    pick.append(...[...reasonKeys].map(([code, key]) => Object.assign(document.createElement("option"), { value: code, textContent: t(key) })));
    const pickLabel = Object.assign(document.createElement("label"), { htmlFor: pick.id, textContent: t("reasonLabel") });
    const words = Object.assign(document.createElement("input"), { id: `words-${env.id}`, maxLength: 200, autocomplete: "off" });
    const wordsLabel = Object.assign(document.createElement("label"), { htmlFor: words.id, textContent: t("reasonWordsLabel") });
    const confirm = Object.assign(document.createElement("button"), { className: "confirm-action", textContent: t(action.confirm) });
    confirm.setAttribute("aria-describedby", question.id);
    const cancel = Object.assign(document.createElement("button"), { textContent: t("cancelButton") });
    cancel.addEventListener("click", () => this.choose(panel, env));
    confirm.addEventListener("click", () => {
      if (!pick.value) {
        this.done(t("reasonNeeded"));
        pick.focus();
        return;
      }
      const reason = reasonToSign(pick.value, words.value.trim());
      const id = this.act({ ...this.fields(action.kind, env), reason });
      if (!id) { this.done(t("modNotConnected")); return; }
      this.pending.set(id, t(action.done, { name: who }));
      this.done(t("modSending"));
      panel.hidden = true;
      panel.previousSibling.setAttribute("aria-expanded", "false");
      panel.previousSibling.focus();
    });
    panel.replaceChildren(question, pickLabel, pick, wordsLabel, words, confirm, cancel);
    pick.focus();
  }

  fields(kind, env) {
    switch (kind) {
      case "deleteMessage": return { kind, room: env.room, target: env.sender, message: env.id };
      case "suspend": return { kind, target: env.sender, until: Math.floor(Date.now() / 1000) + 3600 };
      case "remove": return { kind, room: env.room, target: env.sender };
      default: return { kind, target: env.sender };
    }
  }

  /** The service applied an action: if it was this page's, say it is done. */
  applied(action) {
    const text = this.pending.get(action.id);
    if (!text) return;
    this.pending.delete(action.id);
    this.done(text);
  }

  /** The service refused an action of this page's (false: not one of them). */
  refused(frame) {
    if (!this.pending.has(frame.id)) return false;
    this.pending.delete(frame.id);
    this.done(t("modRefused", { reason: frame.message }));
    return true;
  }

  /** The report inbox, newest first: what was reported and why. A private message's evidence is
   *  checked against what the server stored (the sender's signature over the franking
   *  commitment); a room message is quoted as this page shows it. A page asked for replaces the
   *  inbox (or, for older reports, follows it; `older` is the button that asks for the next); a
   *  report just filed (`frame.live`) is added at the top, chimes and counts until staff look
   *  (`looked`). */
  reports(list, frame, older) {
    if (!frame.live) {
      // A page asked for: the newest replace the inbox, older ones follow what it shows.
      if (!this.askedOlder) this.seenReports.clear();
      const page = frame.reports.filter((entry) => !this.seenReports.has(entry.report.id));
      page.forEach((entry) => this.seenReports.add(entry.report.id));
      if (this.askedOlder) list.append(...page.map((entry) => this.report(entry)));
      else list.replaceChildren(...page.map((entry) => this.report(entry)));
      this.askedOlder = false;
      this.nextPage = frame.next ?? null;
      older.hidden = !this.nextPage;
      return;
    }
    const fresh = frame.reports.filter((entry) => !this.seenReports.has(entry.report.id));
    if (fresh.length === 0) return;
    fresh.forEach((entry) => this.seenReports.add(entry.report.id));
    list.prepend(...fresh.map((entry) => this.report(entry)));
    this.newReports += fresh.length;
    this.attention.set("reports", this.newReports);
    this.attention.chime();
  }

  /** The page request for the reports older than those shown (after "Show older reports"). */
  olderPage() {
    this.askedOlder = true;
    return { type: "listReports", before: this.nextPage };
  }

  /** Staff opened the inbox: nothing new is waiting any more. */
  looked() {
    this.newReports = 0;
    this.attention.set("reports", 0);
  }

  report(entry) {
    const item = this.document.createElement("li");
    const category = t(categoryKeys[entry.report.category] ?? "reportOther");
    if (entry.report.category === "self_harm_risk") item.className = "concern";
    if (!entry.report.evidence) {
      const shown = this.roomMessage(entry.report.room, entry.report.message);
      if (!shown) {
        item.textContent = t("reportRoomElsewhere", { category, room: entry.report.room ?? "" });
        return item;
      }
      const show = Object.assign(this.document.createElement("button"), { textContent: t("showMessageButton") });
      show.addEventListener("click", () => this.showMessage(entry.report.message));
      item.append(t("reportQuoted", { category, text: shown.text, name: this.people.name(shown.sender) }), " ", this.people.badge(shown.sender), " ", show);
      return item;
    }
    if (!this.protocol.verifyReport(entry)) {
      item.textContent = t("reportEvidenceMismatch", { category });
      return item;
    }
    let text = "";
    try { text = JSON.parse(this.decoder.decode(unb64(entry.report.evidence.body))).text ?? ""; } catch { /* an attachment */ }
    const sender = entry.report.sender;
    item.append(t("reportQuoted", { category, text, name: this.people.names.get(sender) ?? sender.slice(0, 8) }), " ",
      this.people.badge(sender), " ", t("reportVerifiedNote", { id: entry.stored.id.slice(0, 8) }));
    return item;
  }

  /** A page of a room's audit trail: who did what to whom, when, why, and whether the signature
   *  holds. The newest page replaces the list; an older one goes before what it shows. */
  audit(list, frame, older) {
    const named = (member) => this.people.names.get(member) ?? t("memberWithKey", { key: member.slice(0, 8) });
    const items = frame.actions.map((action) => {
      const item = this.document.createElement("li");
      const what = t(auditKeys[action.kind] ?? "auditOther", { target: action.target ? named(action.target) : "" });
      item.textContent = t("auditEntry", {
        time: new Date(action.issuedAt * 1000).toLocaleString(locale), moderator: named(action.moderator), what,
      }) + (typeof action.reason === "string" && action.reason ? ` ${t("auditReason", { reason: reasonText(action.reason) })}` : "")
        + ` ${t(this.protocol.verifyAction(action) ? "auditSignatureValid" : "auditSignatureInvalid")}`;
      return item;
    });
    if (this.askedOlderAudit) list.prepend(...items); else list.replaceChildren(...items);
    this.askedOlderAudit = false;
    this.auditPage = frame.next ? { type: "listAudit", room: frame.room, before: frame.next } : null;
    older.hidden = !this.auditPage;
  }

  /** The frame that asks for the audit page before the ones shown. */
  olderAudit() {
    this.askedOlderAudit = true;
    return this.auditPage;
  }
}
