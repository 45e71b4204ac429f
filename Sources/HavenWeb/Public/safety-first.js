// Help and a way out before anything else: this small module runs as soon as it and its few
// words have arrived, ahead of the chat's code and its encryption, so on a slow connection the
// crisis contacts and quick exit work from the first seconds, and they still work if the rest
// never loads. widget.js takes over quick exit once the chat runs.
import { QuickExit, showCrisisContacts } from "./safety.js";
import { serverOrigin } from "./anchors.js";
import { translatePage } from "./page-words.js";

const $ = (id) => document.getElementById(id);
translatePage(document);
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
config.then((settings) => {
  showCrisisContacts(document, $("crisis-contacts"), $("crisis-general"), settings.crisisContacts, settings.crisisContactsAreGeneral);
  quickExit.url = settings.quickExit ?? quickExit.url;
}, () => {});

// Only now the chat itself, so its code does not compete with help on a slow connection.
import("./widget.js");
