// Why a moderator acted, as the action carries it: one of a few reasons by code ("harassment"),
// optionally with the moderator's own words after a colon ("harassment: repeated insults"). Each
// reader's page puts the code into its own language; a reason that is not one of these codes
// (from another client) is shown as it was written.
import { t } from "./strings.js";

/** Code → catalog key, in the order a moderator is offered them. */
export const reasonKeys = new Map([
  ["harassment", "reasonHarassment"],
  ["harmful", "reasonHarmful"],
  ["spam", "reasonSpam"],
  ["personal-details", "reasonPersonalDetails"],
  ["wellbeing", "reasonWellbeing"],
  ["rules", "reasonOther"],
]);

/** The reason to sign: the code, and the moderator's words if they wrote any. */
export function reasonToSign(code, words) {
  return words ? `${code}: ${words}` : code;
}

/** A signed reason in the reader's language. */
export function reasonText(reason) {
  const split = reason.indexOf(":");
  const code = split < 0 ? reason : reason.slice(0, split);
  if (!reasonKeys.has(code)) return reason;
  const words = split < 0 ? "" : reason.slice(split + 1).trim();
  return words ? `${t(reasonKeys.get(code))}: ${words}` : t(reasonKeys.get(code));
}
