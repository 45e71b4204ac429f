// The page's own words (index.html marks them with data-text, data-label and data-title keys)
// in the language the widget speaks; the page says which language it is in.
import { language, t } from "./strings.js";

/** Puts every marked word of `document` into the widget's language. */
export function translatePage(document) {
  document.documentElement.lang = language;
  for (const element of document.querySelectorAll("[data-text]")) element.textContent = t(element.dataset.text);
  for (const element of document.querySelectorAll("[data-label]")) element.setAttribute("aria-label", t(element.dataset.label));
  for (const element of document.querySelectorAll("[data-title]")) element.title = t(element.dataset.title);
}
