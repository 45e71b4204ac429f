// The member's say over what this device keeps: "Remember me on this device" (off by default),
// "Leave and forget this device" (asks first, wipes every trace, in every tab), and, while nothing
// is remembered and the member has written something, a question from the browser before the page
// is left, since leaving ends this identity and its conversation. The storage itself is DeviceIdentity's (device-identity.js).
import { t } from "./strings.js";

export class DevicePanel {
  /** `element(id)` finds the page's controls; `leaveRooms()` signs this identity out of its rooms
   *  (when connected); `disconnect()` closes the connection; `name()` is the chosen pseudonym. */
  constructor({ element, device, storage, window, leaveRooms, disconnect, name }) {
    Object.assign(this, { element, device, storage, window, leaveRooms, disconnect, name, started: false, spoke: false, leaving: false });
    this.tabs = "BroadcastChannel" in window ? new window.BroadcastChannel("haven") : null;
    // Forgetting reaches every tab of this widget, so none writes the identity back afterwards.
    this.tabs?.addEventListener("message", (event) => { if (event.data === "forgotten") this.forget(); });
    const $ = element;
    $("forget").addEventListener("click", () => { $("forget-confirm").hidden = false; $("forget-no").focus(); });
    $("forget-no").addEventListener("click", () => { $("forget-confirm").hidden = true; $("forget").focus(); });
    $("forget-yes").addEventListener("click", async () => {
      // Leave every room for good first, so the others stop giving this identity the room's key.
      this.leaveRooms();
      await this.forget();
    });
    $("remember-label").hidden = !device.canRemember;
    $("remember").checked = device.remembered;
    $("remember").addEventListener("change", async () => {
      try {
        if ($("remember").checked) {
          storage.setItem("haven.name", this.name());
          await device.remember();
        } else {
          await device.stopRemembering();
        }
      } catch { $("remember").checked = device.remembered; }
      this.show();
    });
    window.addEventListener("beforeunload", (event) => {
      if (this.spoke && !device.remembered && !this.leaving) event.preventDefault();
    });
    // On the way out the rooms are told this identity has gone (best effort), so they do not keep
    // sealing keys to it.
    window.addEventListener("pagehide", (event) => { if (!event.persisted && !device.remembered) this.leaveRooms(); });
    if (window.sessionStorage.getItem("haven.forgotten")) {
      window.sessionStorage.removeItem("haven.forgotten");
      $("status").textContent = t("forgottenStatus");
    }
    this.show();
  }

  /** The member pressed Start: from now on leaving the page ends something. */
  start() {
    this.started = true;
    this.show();
  }

  /** The member wrote something: leaving now loses a conversation, so the browser asks first. */
  spoken() { this.spoke = true; }

  /** Leaving on purpose (quick exit): no question. */
  leavingNow() { this.leaving = true; }

  /** Remembers this device's identity now (a counsellor who just redeemed an invite). */
  async remember() {
    if (!this.device.canRemember || this.device.remembered) return;
    this.storage.setItem("haven.name", this.name());
    await this.device.remember();
    this.element("remember").checked = true;
    this.show();
  }

  show() {
    this.element("remember-note").textContent = this.device.remembered ? t("rememberedNote") : t("notRememberedNote");
    this.element("forget").hidden = !this.device.remembered && !this.started;
  }

  async forget() {
    this.leaving = true;
    this.disconnect();
    await this.device.forgetEverything({ sessionStorage: this.window.sessionStorage, caches: this.window.caches });
    this.tabs?.postMessage("forgotten");
    this.window.sessionStorage.setItem("haven.forgotten", "1");   // only to say so after the reload; removed there
    this.window.location.reload();
  }
}
