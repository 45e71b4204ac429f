// "Report", for a message from someone else: one tap opens the reasons, a second sends it. "I'm
// worried about this person" goes to the counsellors online at once; the others to staff's
// report inbox. The member is thanked once the service has the report, and told plainly if it
// did not take it; a report cannot be sent twice.
import { t } from "./strings.js";

const categories = [
  ["self_harm_risk", "reportWorried"],
  ["harassment", "reportHarassment"],
  ["spam", "reportSpam"],
  ["other", "reportOther"],
];

export class ReportMenus {
  /** `file(report)` sends a report frame's payload (false: not connected); `randomID()` names
   *  each report. */
  constructor({ document, file, randomID }) {
    Object.assign(this, { document, file, randomID, pending: new Map() });
  }

  /** The Report button and its choices for a message from `who`; `fields` name the message
   *  (and carry the evidence, for a private one). */
  menu(who, fields) {
    const document = this.document;
    const box = Object.assign(document.createElement("span"), { className: "report-menu" });
    const report = Object.assign(document.createElement("button"), { className: "report", textContent: t("reportButton") });
    report.setAttribute("aria-label", t("reportLabel", { name: who }));
    report.setAttribute("aria-expanded", "false");
    const choices = Object.assign(document.createElement("span"), { className: "report-choices", hidden: true });
    choices.setAttribute("role", "group");
    choices.setAttribute("aria-label", t("reportWhy"));
    const said = (text) => box.replaceChildren(Object.assign(document.createElement("span"), { className: "reported", textContent: text }));
    for (const [category, key] of categories) {
      const choice = Object.assign(document.createElement("button"), { textContent: t(key) });
      choice.addEventListener("click", () => {
        const id = this.randomID();
        this.pending.set(id, { said, category });
        said(t("reportSending"));
        if (this.file({ id, category, ...fields })) return;
        this.pending.delete(id);
        said(t("reportNotSent"));
      });
      choices.append(choice);
    }
    report.addEventListener("click", () => {
      choices.hidden = !choices.hidden;
      report.setAttribute("aria-expanded", String(!choices.hidden));
      if (!choices.hidden) choices.firstChild.focus();
    });
    box.append(report, choices);
    return box;
  }

  /** The service stored report `id` (false: not a report of this page). */
  acknowledged(id) {
    const report = this.pending.get(id);
    if (!report) return false;
    this.pending.delete(id);
    report.said(t(report.category === "self_harm_risk" ? "reportedWorried" : "reportedThanks"));
    return true;
  }

  /** The service refused report `frame.id` (false: not a report of this page). */
  refused(frame) {
    const report = this.pending.get(frame.id);
    if (!report) return false;
    this.pending.delete(frame.id);
    report.said(t("reportNotSent"));
    return true;
  }
}
