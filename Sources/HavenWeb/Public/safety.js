// Help that is always one tap away, and a way out that is one tap too: the crisis contacts (a
// number becomes a tap-to-call link), and "quick exit", a button or Escape twice, which closes
// the chat, clears this visit and replaces the page with a neutral one, leaving no way "back" to
// it, as domestic-abuse and mental-health sites do.
import { t } from "./strings.js";

const phoneNumber = /^\+?[0-9][0-9 ()-]{1,18}$/;
const textLine = /^text\s+(\S+)\s+to\s+(\+?[0-9][0-9 ]{1,18})$/i;   // "Text SHOUT to 85258"

/** Fills `list` with the provider's contacts (or general ones, said to be general): a number is
 *  a tap-to-call link, and "Text WORD to NUMBER" a tap-to-text one with the word filled in. */
export function showCrisisContacts(document, list, note, contacts, general) {
  list.replaceChildren(...contacts.map(({ name, contact }) => {
    const item = document.createElement("li");
    item.append(t("crisisContactName", { name }), " ");
    const text = textLine.exec(contact);
    if (phoneNumber.test(contact)) {
      item.append(Object.assign(document.createElement("a"), { href: `tel:${contact.replace(/[^+0-9]/g, "")}`, textContent: contact }));
    } else if (text) {
      const number = text[2].replace(/[^+0-9]/g, "");
      item.append(Object.assign(document.createElement("a"), { href: `sms:${number}?&body=${encodeURIComponent(text[1])}`, textContent: contact }));
    } else {
      item.append(contact);
    }
    return item;
  }));
  note.hidden = !general;
}

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
