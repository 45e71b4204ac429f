// Every word the widget shows, in one catalog: English, and Spanish (warm, informal "tú": people
// may write here in distress, in the middle of the night). The page speaks the first of the
// browser's languages that the catalog has, English otherwise. A key missing in Spanish falls back
// to English; a key missing in both shows the key itself, so a slip never blanks the page.
// Placeholders are written {name} and filled from `t`'s params. A text that depends on a number is
// an object of plural forms ({ one, other }), chosen by the `count` param with the language's
// plural rules (Intl.PluralRules); "other" stands in for any form a language leaves out.

import { en } from "./strings-en.js";
import { es } from "./strings-es.js";

export const catalog = { en, es };

const primarySubtag = (tag) => tag.toLowerCase().split("-")[0];

/** The catalog language for `languages` (BCP 47 tags, best first, as `navigator.languages`): the
 *  first whose primary subtag the catalog has ("es-MX" → "es"), else "en". */
export function chooseLanguage(languages) {
  return languages.map(primarySubtag).find((code) => Object.hasOwn(catalog, code)) ?? "en";
}

// Node (the tests) has no navigator.
const browserLanguages = globalThis.navigator?.languages ?? [];

/** The language the widget speaks; also the page's `<html lang>`. */
export const language = chooseLanguage(browserLanguages);

/** The browser's own tag for that language ("es-MX", "en-GB"), so dates and times keep the
 *  member's local style (a 24-hour clock in Britain, say). */
export const locale = browserLanguages.find((tag) => primarySubtag(tag) === language) ?? language;

/** A `t` for `language` over `tables` (language → key → text or plural forms), falling back to
 *  `tables.en`, then to the key itself. Placeholders are filled in one pass, so a filled-in value
 *  (a member's name, say) is never read as a placeholder itself. */
export function translator(tables, language) {
  const plurals = new Intl.PluralRules(language);
  return (key, params = {}) => {
    const entry = tables[language]?.[key] ?? tables.en?.[key] ?? key;
    const text = typeof entry === "string" ? entry : entry[plurals.select(params.count)] ?? entry.other;
    return text.replace(/\{(\w+)\}/g, (placeholder, name) => (Object.hasOwn(params, name) ? String(params[name]) : placeholder));
  };
}

/** The text for `key` in the chosen language, its `{name}` placeholders filled from `params`
 *  (and its plural form chosen by `params.count`). */
export const t = translator(catalog, language);
