// A way out that is one tap away: "quick exit", a button or Escape twice, which closes the chat,
// clears this visit and replaces the page with a neutral one, leaving no way "back" to it, as
// domestic-abuse and mental-health sites do. It imports nothing, so it works as soon as it arrives.

export class QuickExit {
  /** `leave()` closes the chat at once (the connection, this page's identity); `url` is where to go. */
  constructor({ window, button, url, leave }) {
    Object.assign(this, { window, url, leave, lastEscape: 0 });
    button.addEventListener("click", () => this.exit());
    window.addEventListener("keydown", (event) => {
      if (event.key !== "Escape") return;
      const now = Date.now();
      if (now - this.lastEscape < 1000) this.exit(); else this.lastEscape = now;
    });
  }

  exit() {
    this.leave();
    this.window.document.body.replaceChildren();
    const target = new URL(this.url, this.window.location.href).href;
    // The provider's page around the widget goes too, when the browser lets an embedded page do that.
    try { this.window.top.location.replace(target); } catch { this.window.location.replace(target); }
  }
}
