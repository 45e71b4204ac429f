// Help that is always one tap away: the crisis contacts, a number becoming a tap-to-call link
// (the way out, quick exit, is quick-exit.js).
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
