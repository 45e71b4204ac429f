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

const maxReasonBytes = 300;   // the protocol's limit (ProtocolLimits.maxReasonBytes)
const encoder = new TextEncoder();

/** The reason to sign: the code, and the moderator's words if they wrote any, without the
 *  invisible characters the server refuses and cut to the protocol's 300 bytes. */
export function reasonToSign(code, words) {
  let reason = words ? `${code}: ${words.replace(/[\p{Cc}\p{Cf}]/gu, "")}` : code;
  while (encoder.encode(reason).length > maxReasonBytes) reason = [...reason].slice(0, -1).join("");
  return reason;
}

/** A signed reason in the reader's language. */
export function reasonText(reason) {
  const split = reason.indexOf(":");
  const code = split < 0 ? reason : reason.slice(0, split);
  if (!reasonKeys.has(code)) return reason;
  const words = split < 0 ? "" : reason.slice(split + 1).trim();
  return words ? `${t(reasonKeys.get(code))}: ${words}` : t(reasonKeys.get(code));
}
