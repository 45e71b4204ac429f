// What a display name may not be, as DisplayName in Swift decides (the server refuses the same):
// nothing invisible that could make it read as another name, no check mark that could pass for
// the verified badge, and no word the service uses for a role, even spelt with look-alike letters.
import { t } from "./strings.js";

const checkMarks = /[\u2713\u2714\u2705\u2611\u221A\u237B\u{1F5F8}\u{1F5F9}]/u;
// Blank letters and invisible joiners that are not format characters (Cf).
const fillers = /[\u034F\u115F\u1160\u17B4\u17B5\u180E\u3164\uFFA0]/u;
// Format characters but two: the joiners Persian, Indic scripts and emoji sequences need.
const formatting = /(?![\u200C\u200D])\p{Cf}/u;
const unseen = /[\p{Mn}\p{Me}\p{Cf}\uFE00-\uFE0F\s]/gu;

/** Whole words that name a role, and longer ones refused even inside another word. */
export const roleWords = ["staff", "admin", "mod", "official", "verified", "doctor", "dr", "nurse"];
export const roleStems = ["counsellor", "counselor", "moderator", "administrator", "therapist", "psychologist", "psychiatrist", "helpline"];

const lookAlikes = new Map(Object.entries({
  "а": "a", "с": "c", "е": "e", "ѕ": "s", "і": "i", "ї": "i", "ј": "j", "о": "o", "р": "p", "х": "x", "у": "y", "һ": "h",
  "ԁ": "d", "ӏ": "l", "ԛ": "q", "ԝ": "w", "к": "k", "м": "m", "т": "t", "п": "n", "г": "r", "α": "a", "β": "b", "ε": "e",
  "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ω": "w", "ı": "i", "ɡ": "g",
  "ɩ": "i", "ø": "o", "ł": "l", "đ": "d", "ħ": "h", "ŧ": "t", "ƀ": "b",
  "ᴀ": "a", "ʙ": "b", "ᴄ": "c", "ᴅ": "d", "ᴇ": "e", "ꜰ": "f", "ɢ": "g", "ʜ": "h", "ɪ": "i", "ᴊ": "j", "ᴋ": "k", "ʟ": "l",
  "ᴍ": "m", "ɴ": "n", "ᴏ": "o", "ᴘ": "p", "ʀ": "r", "ꜱ": "s", "ᴛ": "t", "ᴜ": "u", "ᴠ": "v", "ᴡ": "w", "ʏ": "y", "ᴢ": "z",
  "0": "o", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g", "$": "s", "@": "a",
}));
// Letters in squares and circles that no normalisation takes apart (🅲, 🄲, 🅒).
const boxedLetters = [0x1F130, 0x1F150, 0x1F170];
// "1", "|" and "!" read as l or as i, and a capital I looks like an l: every reading is checked.
const eitherLOrI = new Set(["1", "|", "!"]);
const readings = [{ ambiguous: "l", i: "i" }, { ambiguous: "i", i: "i" }, { ambiguous: "l", i: "l" }];

function plainLetter(character) {
  const code = character.codePointAt(0);
  const box = boxedLetters.find((first) => code >= first && code < first + 26);
  return box ? String.fromCharCode(97 + code - box) : lookAlikes.get(character) ?? character;
}

/** The role word a name claims, however it is spelt, or null. */
export function claimedRole(name) {
  // Compatibility forms taken apart (fullwidth, maths letters, ligatures), accents and other marks
  // dropped, spacing kept as a word break, everything else read as the Latin letter it looks like.
  const letters = [...name.normalize("NFKD").toLowerCase().replace(unseen, (c) => (/\s/u.test(c) ? " " : ""))].map(plainLetter);
  for (const reading of readings) {
    const skeleton = letters.map((c) => (eitherLOrI.has(c) ? reading.ambiguous : c === "i" ? reading.i : c)).join("");
    const words = skeleton.split(/[^\p{L}]+/u).filter(Boolean);
    const word = words.find((w) => roleWords.includes(w) || (w.endsWith("s") && roleWords.includes(w.slice(0, -1))));
    if (word) return word;
    const stem = roleStems.find((candidate) => words.join("").includes(candidate));
    if (stem) return stem;
  }
  return null;
}

/** Why a member may not use `name`, in plain words, or null when it is fine. */
export function nameProblem(name) {
  const visible = name.replace(unseen, "").replace(fillers, "");
  if (!visible) return t("nameNeedsLetter");
  if (new TextEncoder().encode(name).length > 64) return t("nameTooLong");
  if (formatting.test(name) || fillers.test(name)) return t("nameInvisibleCharacters");
  if (checkMarks.test(name)) return t("nameCheckMark");
  const role = claimedRole(name);
  if (role) return t("nameRoleWord", { word: role });
  return null;
}
