// Calls as the page offers them: this device's standing call settings (kept in its storage), the
// verified counsellors who take calls now (a member sees call buttons for each), and the call
// buttons a counsellor has on a member's messages.
import { t } from "./strings.js";

const settings = [
  ["accept-calls", "haven.acceptCalls"], ["audio-only", "haven.audioOnly"], ["direct-calls", "haven.directCalls"], ["offer-calls", "haven.offerCalls"],
];

export class CallOffers {
  /** `element(id)` finds the settings and the list; `people` names, badges and knows roles;
   *  `myID` is this member; `send(frame)` sends; `isConnected()` says whether a call can start;
   *  `start(member, media)` rings; `said(text)` tells the member why not. */
  constructor({ document, element, storage, people, myID, send, isConnected, start, said, relayAvailable }) {
    Object.assign(this, { document, element, people, myID, send, isConnected, start, said, relayAvailable, offers: new Set() });
    this.describeCalls();
    for (const [id, key] of settings) {
      if (storage.getItem(key) !== null) element(id).checked = storage.getItem(key) === "true";
      element(id).addEventListener("change", () => {
        storage.setItem(key, String(element(id).checked));
        this.describeCalls();
        this.sendPreferences();
        this.show();
      });
    }
  }

  /** Tells the server whether this device takes calls (and, for a counsellor, offers them). A
   *  member takes none that would show their address: without a relay, only once they allow a
   *  direct connection (so a counsellor hears so before anyone is rung). */
  sendPreferences() {
    const role = this.people.roles.get(this.myID);
    const offerCalls = role === "counsellor" && this.element("offer-calls").checked;
    const private_ = this.relayAvailable || this.element("direct-calls").checked || Boolean(role);
    this.send({ type: "callPreferences", acceptCalls: this.element("accept-calls").checked && private_, offerCalls });
  }

  /** What the calls settings say depends on whether calls can keep a member's address private. */
  describeCalls() {
    const direct = this.element("direct-calls").checked;
    const waiting = !this.relayAvailable && !direct && this.element("accept-calls").checked && !this.people.roles.get(this.myID);
    this.element("calls-note").textContent = t(waiting ? "callsNoteNotYet"
      : this.relayAvailable && !direct ? "callsNote" : direct ? "callsNoteDirect" : "callsNoteNoRelay");
    // A word about a call that could not start is out of date once the settings change.
    if (!this.element("call-controls").hidden || !this.element("call-incoming").hidden) return;
    this.element("call").hidden = true;
  }

  /** `member` started or stopped offering calls (counted only while verified as a counsellor). */
  note(member, offersCalls) {
    if (offersCalls && this.people.roles.get(member) === "counsellor") this.offers.add(member); else this.offers.delete(member);
    this.show();
  }

  /** Members see the verified counsellors who offer calls, with a call button for each. */
  show() {
    const callable = this.people.roles.has(this.myID) ? [] : [...this.offers];
    this.element("call-offers").replaceChildren(...callable.map((member) => {
      const item = this.document.createElement("li");
      item.append(this.people.nameLabel(member), " ", this.people.badge(member), " ", t("takesCalls"), " ", this.button(member, "audio", "voiceCallButton"));
      if (!this.element("audio-only").checked) item.append(" ", this.button(member, "video", "videoCallButton"));
      return item;
    }));
  }

  /** A counsellor's video and audio call buttons for a member. */
  buttons(member) {
    return [this.button(member, "video", "videoCallButton"), " ", this.button(member, "audio", "audioCallButton")];
  }

  button(member, media, key) {
    const button = Object.assign(this.document.createElement("button"), { className: "call", textContent: t(key) });
    button.setAttribute("aria-label", t("callWithLabel", { call: t(key), name: this.people.name(member) }));
    button.addEventListener("click", () => {
      if (!this.isConnected()) { this.said(t("cannotCallOffline")); return; }
      this.start(member, media);
    });
    return button;
  }
}
