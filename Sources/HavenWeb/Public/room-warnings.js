// What the member is told, in plain words, when something in a room or a private conversation
// did not check out (RoomKeyring and DirectCounters name the kind).
import { t } from "./strings.js";

const keys = {
  forked: "warningForked", entryRefused: "warningEntryRefused", counterRepeated: "warningCounterRepeated",
  messagesWithheld: "warningMessagesWithheld", keyMismatch: "warningKeyMismatch", notEntitled: "warningNotEntitled",
  rewritten: "warningRewritten", behind: "warningBehind",
};

/** The words for a warning of `kind`, or null for a kind this page does not know. */
export function warningText(kind) { return Object.hasOwn(keys, kind) ? t(keys[kind]) : null; }
