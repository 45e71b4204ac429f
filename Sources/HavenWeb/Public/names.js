// What a display name may not be, as DisplayName in Swift decides (the server refuses the same):
// nothing invisible that could make it read as another name, no check mark that could pass for
// the verified badge, and no word the service uses for a role, even spelt with look-alike letters.

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
  "ԁ": "d", "ӏ": "l", "ԛ": "q", "ԝ": "w", "к": "k", "м": "m", "т": "t", "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i",
  "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ω": "w", "ı": "i", "ɡ": "g", "ɩ": "i", "ʟ": "l",
  "0": "o", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g", "$": "s", "@": "a",
}));
// "1", "|" and "!" read as l or as i: both readings are checked.
const eitherLOrI = new Set(["1", "|", "!"]);

/** The role word a name claims, however it is spelt, or null. */
export function claimedRole(name) {
  const letters = [...name.normalize("NFKC").toLowerCase().replace(unseen, (c) => (/\s/u.test(c) ? " " : ""))];
  for (const reading of ["l", "i"]) {
    const skeleton = letters.map((c) => (eitherLOrI.has(c) ? reading : lookAlikes.get(c) ?? c)).join("");
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
  if (!visible) return "Please choose a name with at least one letter or emoji in it.";
  if (new TextEncoder().encode(name).length > 64) return "Please choose a shorter name.";
  if (formatting.test(name) || fillers.test(name)) return "Please choose another name: it contains invisible characters that could make it look like someone else's.";
  if (checkMarks.test(name)) return "Please choose another name: check marks are kept for the verified badge.";
  const role = claimedRole(name);
  if (role) return `Please choose another name: "${role}" is a word for a role here, and the green badge is what shows who is staff.`;
  return null;
}
