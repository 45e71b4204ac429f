// Help and a way out before anything else: this small module and the two it imports (which
// import nothing) run as soon as they arrive, ahead of the words of the page, the chat's code and
// its encryption, so on a slow connection the crisis panel and quick exit work from the first
// second, and they still work if the rest never loads. widget.js takes over quick exit once the
// chat runs.
import { QuickExit } from "./quick-exit.js";
import { serverOrigin } from "./anchors.js";

const $ = (id) => document.getElementById(id);
$("crisis-toggle").addEventListener("click", () => {
  const open = $("crisis").hidden;
  $("crisis").hidden = !open;
  $("crisis-toggle").setAttribute("aria-expanded", String(open));
});

/** Forgets this visit: every `haven.` key in this tab's storage. */
export const forgetVisit = () => {
  for (const key of Object.keys(sessionStorage).filter((name) => name.startsWith("haven."))) sessionStorage.removeItem(key);
};

/** Quick exit, at once; widget.js adds closing the chat to its `leave`. */
export const quickExit = new QuickExit({ window, button: $("quick-exit"), url: "https://www.google.com/", leave: forgetVisit });

/** The service's settings, asked for first: its own crisis contacts and quick-exit page come with them. */
export const config = fetch(`${serverOrigin(document)}/config.json`).then((response) => response.json());

config.then((settings) => { quickExit.url = settings.quickExit ?? quickExit.url; }, () => {});

// Then the page's words (in the reader's language) and the service's own crisis contacts.
const help = Promise.all([import("./page-words.js"), import("./safety.js")]).then(([{ translatePage }, { showCrisisContacts }]) => {
  translatePage(document);
  return config.then((settings) => {
    showCrisisContacts(document, $("crisis-contacts"), $("crisis-general"), settings.crisisContacts, settings.crisisContactsAreGeneral);
  }, () => {});
});

// Only then the chat itself, so its code does not compete with help on a slow connection.
help.catch(() => {}).then(() => import("./widget.js"));
