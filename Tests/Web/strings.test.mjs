// Checks the widget's catalog (strings.js): both languages hold the same keys and placeholders,
// the language follows the browser's, `t` fills and falls back, every key is used, and the modules
// that take their words from the catalog hold no English sentence of their own.
// Run: node Tests/Web/strings.test.mjs
import { readFileSync, readdirSync } from "node:fs";
import assert from "node:assert/strict";
import { catalog, chooseLanguage, language, t, translator } from "../../Sources/HavenWeb/Public/strings.js";

const folder = new URL("../../Sources/HavenWeb/Public/", import.meta.url);
const converted = ["people.js", "device-panel.js", "connection.js", "safety.js", "attachments.js", "calls.js",
  "outbox.js", "threads.js", "message-text.js", "names.js", "widget.js", "staff-tools.js", "counsellor-help.js",
  "counsellor-inbox.js", "report-menu.js", "attention.js", "call-offers.js", "message-list.js", "page-words.js", "rooms.js",
  "room-view.js", "composer.js", "private-messages.js", "session.js", "room-warnings.js", "reasons.js"];
let checks = 0;
const check = (condition, what) => { assert.ok(condition, what); checks += 1; };
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

// Both languages: the same keys, the same plural forms, the same placeholders, and Spanish words
// wherever the English has words (a text equal to the English may hold placeholders and signs only).
const forms = (entry) => (typeof entry === "string" ? { other: entry } : entry);
const placeholders = (text) => [...new Set(text.match(/\{\w+\}/g) ?? [])].sort();
const words = (text) => text.replace(/\{\w+\}/g, "").match(/\p{L}/u);
check(same(Object.keys(catalog).sort(), ["en", "es"]), "the catalog has English and Spanish");
check(same(Object.keys(catalog.en).sort(), Object.keys(catalog.es).sort()), "English and Spanish have the same keys");
for (const [key, english] of Object.entries(catalog.en)) {
  const spanish = forms(catalog.es[key]);
  for (const [form, text] of Object.entries(forms(english))) {
    check(typeof spanish[form] === "string" || (form !== "other" && typeof spanish.other === "string"), `${key}: Spanish has a text for "${form}"`);
    check(same(placeholders(text), placeholders(spanish[form] ?? spanish.other)), `${key} (${form}): the same placeholders in both languages`);
    check(text !== (spanish[form] ?? spanish.other) || !words(text), `${key} (${form}): translated`);
  }
}

// The language: the first of the browser's whose primary subtag the catalog has.
check(chooseLanguage(["es-MX", "en"]) === "es", "es-MX speaks Spanish");
check(chooseLanguage(["de-DE"]) === "en", "German, not in the catalog, gets English");
check(chooseLanguage([]) === "en", "no language gets English");
check(chooseLanguage(["de-DE", "ES", "en"]) === "es", "the first language the catalog has wins, whatever its case");
check(language === "en", "Node, with no navigator, gets English");
globalThis.navigator = { languages: ["es-MX", "en"] };
const mexicanPage = await import(new URL("strings.js?browser=es-MX", folder));   // a fresh copy of the module
delete globalThis.navigator;
check(mexicanPage.language === "es" && mexicanPage.locale === "es-MX", "a Mexican browser gets Spanish, and its own locale for dates");
check(mexicanPage.t("replyButton") === "Responder", "a Spanish page's t speaks Spanish");

// t: placeholders filled once, fallbacks, plural forms.
check(t("replyButton") === "Reply", "t gives the English text");
check(t("callConnecting", { name: "Sam" }) === "Connecting to Sam…", "t fills a placeholder");
check(t("yourMessage", { text: "{text} {name}" }) === "You: {text} {name}", "a filled-in value is not filled again");
check(t("callConnecting") === "Connecting to {name}…", "a placeholder without a value stays as it is");
check(t("noSuchKey") === "noSuchKey", "a key the catalog lacks shows itself");
check(translator(catalog, "es")("callConnecting", { name: "Sam" }) === "Conectando con Sam…", "Spanish is filled too");
const people = { one: "{count} person", other: "{count} people" };
const spanishOnly = translator({ en: { people, onlyEnglish: "English" }, es: { people: { one: "{count} persona", other: "{count} personas" } } }, "es");
check(spanishOnly("onlyEnglish") === "English", "a key missing in Spanish falls back to English");
check(spanishOnly("people", { count: 1 }) === "1 persona" && spanishOnly("people", { count: 3 }) === "3 personas", "the plural form follows count");
check(spanishOnly("people", { count: 1000000 }) === "1000000 personas", "a plural form the catalog leaves out reads as other");

// The string literals of every module that may use the catalog.
const modules = readdirSync(folder).filter((name) => name.endsWith(".js") && !name.startsWith("strings"));
const literalsOf = new Map(modules.map((name) => [name, stringLiterals(readFileSync(new URL(name, folder), "utf8"))]));

// The converted modules load, and every key they pass to t straight away exists.
// (widget.js is the page's entry point: it runs in a browser only, so it is read, not loaded.)
for (const name of converted) {
  if (name !== "widget.js") await import(new URL(name, folder));
  for (const { text } of literalsOf.get(name).filter((literal) => literal.tKey)) check(Object.hasOwn(catalog.en, text), `${name}: t("${text}") is in the catalog`);
}

// No English left in the converted modules: a string of two words or more ("Stay here", "Camera
// off") is taken for words a member reads, unless listed here as never shown to one. Keys are
// single words, so t's own arguments never count; a value passed to t still does.
const notShown = new Map([
  ["badge member", "CSS class names (people.js)"],
  ["fingerprint mismatch", "a hangup reason in the call protocol, read by the other browser (calls.js)"],
  ["hung up", "a hangup reason in the call protocol (calls.js)"],
  ["no relay", "a hangup reason in the call protocol: relayed calls only and no relay (calls.js)"],
  ["noopener noreferrer", "a link's rel attribute (message-text.js)"],
  ["encrypted-media; picture-in-picture", "an iframe's allow list (message-text.js)"],
  ["sodium.wasm does not match the pinned digest", "an Error for the console; the member reads encryptionModuleAltered (widget.js)"],
  ["no attachment token", "an Error caught in attachments.js; the member reads attachmentNotLoaded"],
  ["more than the stated length", "an Error caught in attachments.js; the member reads attachmentNotLoaded"],
  ["cut short", "an Error caught in attachments.js; the member reads attachmentNotLoaded"],
]);
const convertedLiterals = converted.flatMap((name) => literalsOf.get(name).map(({ text }) => text));
for (const text of notShown.keys()) check(convertedLiterals.includes(text), `"${text}" is still in use, or leaves the list above`);
for (const name of converted) {
  for (const { text, line } of literalsOf.get(name)) {
    const sentence = text.trim().split(/\s+/).filter((word) => /^[("“]?\p{L}/u.test(word)).length >= 2;
    check(!sentence || notShown.has(text), `${name}:${line}: "${text}" should come from the catalog (strings.js)`);
  }
}

// The page's own words carry their keys (data-text, data-label, data-title), each in the catalog;
// only the title and the service's name, which come from the operator's settings, carry none.
const page = readFileSync(new URL("index.html", folder), "utf8");
const pageKeys = [...page.matchAll(/data-(?:text|label|title)="(\w+)"/g)].map((match) => match[1]);
for (const key of pageKeys) check(Object.hasOwn(catalog.en, key), `index.html: ${key} is in the catalog`);
for (const [, tag, text] of page.matchAll(/(<[a-z0-9]+\b[^>]*>)([^<>]*\p{L}[^<>]*)</gu)) {
  check(tag.includes("data-text=") || /^<title>|id="service-name"/.test(tag), `index.html: "${text.trim()}" should carry a data-text key`);
}
for (const [, attribute, value] of page.matchAll(/(?<!data-)(aria-label|title)="([^"]*)"/g)) {
  check(new RegExp(`${attribute}="${value.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}" data-(label|title)=`).test(page), `index.html: ${attribute} "${value}" should carry a key`);
}

// A moderator's reason: signed as a code (and their words), read in each reader's language; the
// words lose what the server refuses (invisible characters) and fit the protocol's 300 bytes.
const { reasonText, reasonToSign } = await import(new URL("reasons.js", folder));
check(reasonText("harassment") === "Harassing other members", "a reason code reads in the page's words");
check(reasonText("harassment: repeated insults") === "Harassing other members: repeated insults", "with the moderator's own words");
check(reasonText("made up by another client") === "made up by another client", "a reason that is no code is shown as written");
const long = reasonToSign("rules", "a\u202Eb" + "é".repeat(400));
check(new TextEncoder().encode(long).length <= 300 && !long.includes("\u202E") && long.startsWith("rules: ab"), "a long reason with invisible characters is made one the server takes");

// Every key is used: a key misspelt where it is used leaves its real one unused.
const literals = [...[...literalsOf.values()].flatMap((found) => found.map(({ text }) => text)), ...pageKeys];
for (const key of Object.keys(catalog.en)) check(literals.includes(key), `${key} is used`);

console.log(`strings: ${checks} checks of the catalog and the modules that use it passed`);

/** The string literals in JavaScript `source` (quoted, and the text of template literals, with
 *  "{}" for each ${...}), skipping comments and regular expressions: [{ text, line, tKey }], where
 *  `tKey` says the literal is the first argument of a `t(` call. */
function stringLiterals(source) {
  const found = [];
  const note = (start, text) => found.push({
    text, line: source.slice(0, start).split("\n").length, tKey: /(?:^|[^\w.$])t\(\s*$/.test(source.slice(0, start)),
  });
  // Reads code from `i` to the end, or to the "}" closing a template's ${ (returned).
  const code = (i) => {
    for (let depth = 0; i < source.length;) {
      const c = source[i];
      if (source.startsWith("//", i)) i = source.includes("\n", i) ? source.indexOf("\n", i) : source.length;
      else if (source.startsWith("/*", i)) i = source.indexOf("*/", i) + 2;
      else if (c === "\"" || c === "'") i = quoted(i, c);
      else if (c === "`") i = template(i);
      else if (c === "/" && startsRegex(source.slice(0, i).trimEnd())) i = quoted(i, "/");
      else if (c === "}" && depth === 0) return i;
      else { depth += c === "{" ? 1 : c === "}" ? -1 : 0; i += 1; }
    }
    return i;
  };
  const quoted = (start, quote) => {
    let i = start + 1;
    let inClass = false;   // a regular expression's [...] may hold its closing "/"
    while (source[i] !== quote || inClass) {
      if (source[i] === "\\") i += 1;
      else if (quote === "/" && "[]".includes(source[i])) inClass = source[i] === "[";
      i += 1;
    }
    if (quote !== "/") note(start, source.slice(start + 1, i).replace(/\\(.)/g, "$1"));
    return i + 1;
  };
  const template = (start) => {
    let i = start + 1;
    let text = "";
    while (source[i] !== "`") {
      if (source[i] === "\\") { text += source[i + 1]; i += 2; } else if (source.startsWith("${", i)) { text += "{}"; i = code(i + 2) + 1; } else { text += source[i]; i += 1; }
    }
    note(start, text);
    return i + 1;
  };
  code(0);
  return found;
}

/** Whether a "/" after `before` opens a regular expression rather than dividing. */
function startsRegex(before) {
  return before === "" || /[(,=:[!&|?{};+\-*%<>~^]$/.test(before) || /\b(?:return|typeof|case|of|in)$/.test(before);
}
