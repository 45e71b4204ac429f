// The member's widget: an identity for this visit (or remembered on this device, if the member
// asks), rooms, end-to-end-encrypted chat. All cryptography is libsodium's (sodium.wasm); the
// server only ever sees ciphertext, and the trust anchors never come from it (anchors.js).
import { readAnchors, fingerprint } from "./anchors.js";
import { loadSodium } from "./sodium.js";
import { haven, b64, unb64 } from "./haven-protocol.js";
import { Calls } from "./calls.js";
import { Rooms } from "./rooms.js";
import { DirectCounters } from "./direct-counters.js";
import { Outbox } from "./outbox.js";
import { DeviceIdentity } from "./device-identity.js";
import { StaffTrust } from "./staff-trust.js";
import { nameProblem } from "./names.js";
import { People, roleName } from "./people.js";
import { DevicePanel } from "./device-panel.js";
import { Connection } from "./connection.js";
import { QuickExit, showCrisisContacts } from "./safety.js";
import { linkedText, timeLabel, youTubeCard, youTubeVideos } from "./message-text.js";
import { Attachments } from "./attachments.js";
import { StaffTools } from "./staff-tools.js";
import { Threads } from "./threads.js";
import { MessageList } from "./message-list.js";
import { CallOffers } from "./call-offers.js";
import { CounsellorHelp } from "./counsellor-help.js";
import { CounsellorInbox } from "./counsellor-inbox.js";
import { Attention } from "./attention.js";
import { locale, t } from "./strings.js";
import { translatePage } from "./page-words.js";
import { ReportMenus } from "./report-menu.js";

const $ = (id) => document.getElementById(id);
translatePage(document);
const anchors = readAnchors(document, location, history);
const sodium = await loadSodium(await sodiumBytes());
const protocol = haven(sodium);
const config = await (await fetch(`${anchors.origin}/config.json`)).json();
const organisationKey = pinnedKey(anchors.organisationKey);
const inviteFragment = anchors.invite;

// The WebAssembly module a provider-hosted widget runs must be the one its page pins.
async function sodiumBytes() {
  const bytes = await (await fetch("./sodium.wasm")).arrayBuffer();
  if (!anchors.sodium) return bytes;
  const digest = `sha512-${btoa(String.fromCharCode(...new Uint8Array(await crypto.subtle.digest("SHA-512", bytes))))}`;
  if (digest !== anchors.sodium) {
    document.getElementById("status").textContent = t("encryptionModuleAltered");
    throw new Error("sodium.wasm does not match the pinned digest");
  }
  return bytes;
}

function pinnedKey(text) {
  try { return text && unb64(text).length === 32 ? unb64(text) : null; } catch { return null; }
}
const listItem = (text) => Object.assign(document.createElement("li"), { textContent: text });
$("service-name").textContent = config.name;
document.title = config.name;
document.querySelector("header").style.setProperty("background", config.colour);
$("rules").replaceChildren(...config.rules.map(listItem));
if (config.logo) { $("logo").src = config.logo; $("logo").hidden = false; }
showCrisisContacts(document, $("crisis-contacts"), $("crisis-general"), config.crisisContacts, config.crisisContactsAreGeneral);
let ownRole = null;          // this device's verified role, once shown
const adjectives = ["Quiet", "Calm", "Gentle", "Kind", "Brave", "Steady", "Warm", "Bright"];
const animals = ["Otter", "Heron", "Fox", "Owl", "Wren", "Badger", "Hare", "Robin"];

const device = new DeviceIdentity({ randomBytes: sodium.randomBytes, subtle: window.isSecureContext ? crypto.subtle : null, indexedDB: window.indexedDB, localStorage });
const storage = device.storage;
const me = protocol.identity(await device.load());
const myID = b64(me.publicKey);
$("you").dataset.member = myID;   // public: the key every message of this member is signed with
const pick = (list) => list[sodium.randomBytes(1)[0] % list.length];
// A name suggested (or remembered), unless the member already started typing their own.
if (!$("pseudonym").value) $("pseudonym").value = storage.getItem("haven.name") ?? `${pick(adjectives)} ${pick(animals)}`;

let ownInfo = null;          // this member's staff proof, as the server relays it
const directCounters = new DirectCounters(storage);
const staff = new StaffTrust(protocol, organisationKey, storage);
const people = new People({ staff, me: myID, verifying: Boolean(organisationKey), document });
const { names, roles } = people;
names.set(myID, $("pseudonym").value);
let currentRoom = null;
let directTarget = null;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
let connection = null;        // made at Start; reconnects by itself after a drop
const cursors = new Map();   // room -> the last message position this page has, to resume from
let directCursor = 0;        // the same for private messages
const roomKinds = new Map(); // room -> "support" or "private", from the room list
const send = (frame) => connection?.send(frame) ?? false;
const turnWaiters = [];
const rooms = new Rooms({
  sodium, protocol, identity: me, organisationKey, staffNow: (proof, at) => Boolean(staff.role(proof, at ?? undefined)), send, ownInfo: () => ownInfo, storage,
  changed: (room, event) => {
    if (event.kind === "keys") { event.waiting.forEach((frame) => show(frame)); updateComposer(); outbox.retry(); }
    if (event.kind === "warning") { warn(room, event.warning); updateComposer(); }
    if (event.kind === "log") { updateComposer(); showReaders(room); noteUnreadableHistory(room, event.change); outbox.retry(); }
  },
});
const threads = new Threads({ document, list: $("direct"), people, storage, reply: (member) => writePrivatelyTo(member) });
threads.restore(storage.keys());
const attention = new Attention({ document, window, baseTitle: config.name });
const messageList = new MessageList({ document, window, list: $("messages"), jump: $("new-messages") });
const shownMessages = new Map();   // room message id -> { text, sender }, as this page shows it
const staffTools = new StaffTools({
  document, protocol, people, attention,
  act: (fields) => {
    const action = protocol.moderationAction(fields, me);
    return send({ type: "moderate", action }) ? action.id : null;
  },
  done: (text) => { $("status").textContent = text; },
  roomMessage: (id) => shownMessages.get(id),
});
const reports = new ReportMenus({ document, file: (report) => send({ type: "report", report }), randomID: () => b64(sodium.randomBytes(16)) });
const attachments = new Attachments({ sodium, document, window, origin: anchors.origin, send });
const outbox = new Outbox({
  rooms, send, render: (envelope, body) => render(envelope, body), randomID: () => sodium.randomBytes(16), online: () => Boolean(connection?.isOpen),
});
// Before Start the widget asks the server over HTTP how many counsellors are online; after it,
// the session's `availability` frames keep it current.
const help = new CounsellorHelp({
  element: $, openingHours: config.openingHours ?? null,
  ask: () => { if (connection?.isOpen) send({ type: "askCounsellor" }); else if (!connection) connect(); },
  leave: () => send({ type: "leaveQueue" }),
});
async function checkAvailability() {
  if (connection?.isOpen) return;
  try { help.availability(await (await fetch(`${anchors.origin}/v1/availability`)).json()); } catch { /* said again in 30 s */ }
  setTimeout(checkAvailability, 30_000);
}
checkAvailability();
const inbox = new CounsellorInbox({
  document, element: $, people, attention,
  take: (member) => send({ type: "takeFromQueue", member }),
  showMessage: (id) => {
    const item = document.querySelector(`#messages li[data-id="${CSS.escape(id)}"]`);
    if (!item) return false;
    item.classList.add("highlight");
    item.scrollIntoView({ block: "center" });
    return true;
  },
  writeTo: (member) => writePrivatelyTo(member),
});

// A counsellor took a member from the line: the member sees who (if their proof verifies here)
// and their private thread opens; the counsellor's opens too, addressed to the member.
function queueTaken(frame) {
  if (frame.counsellor.member === myID) {
    if (!names.has(frame.member)) people.setName(frame.member, frame.displayName);
    inbox.took(frame.member);
    return;
  }
  if (frame.member !== myID) return;
  const counsellor = frame.counsellor.member;
  if (!nameProblem(frame.counsellor.displayName)) people.setName(counsellor, frame.counsellor.displayName);
  noteRole(frame.counsellor);
  const verified = roles.get(counsellor) === "counsellor";
  help.taken(people.name(counsellor), verified);
  if (verified) {
    threads.note(counsellor, t("counsellorThreadNote", { name: people.name(counsellor) }), "note");
    writePrivatelyTo(counsellor);
  }
}

const calls = new Calls({
  sodium, protocol, me, send, relayOnly: config.relayOnlyCalls,
  nameOf: (id) => t(roles.has(id) ? "callPeerVerified" : "callPeerMember", { name: people.name(id), role: roleName(roles.get(id)) }),
  turn: () => new Promise((resolve) => { turnWaiters.push(resolve); send({ type: "requestTurn" }); }),
});
const callOffers = new CallOffers({
  document, element: $, storage, people, myID, send, isConnected: () => Boolean(connection?.isOpen),
  start: (member, media) => calls.start(member, media), said: (text) => { $("status").textContent = text; },
});

function showDirect(message) {
  let opened, text, counter, name, staffProof, sentAt;
  try {
    opened = protocol.openDirectWithEvidence(message, me);
    ({ text, counter, name, staff: staffProof, sentAt } = JSON.parse(decoder.decode(opened.body)));
  } catch { return; }
  // The sender signed their name and staff proof inside the message: a role is shown only if the
  // roster binds the proof's invite to this sender and it verifies here, and a name only if it is
  // one a member may have.
  if (typeof name === "string" && !nameProblem(name) && !names.has(message.sender)) people.setName(message.sender, name);
  if (staffProof?.member === message.sender && staff.boundByRoster(staffProof)) noteRole(staffProof);
  const warnings = directCounters.receive(message.sender, message.id, counter);
  if (warnings === null) return;
  for (const warning of warnings) threads.note(message.sender, `⚠ ${warningText(warning.kind)}`);
  // The sender's clock places the message in the thread, but never later than now: a sender
  // cannot push their words to the end of a conversation.
  const item = threads.received(message.sender, typeof text === "string" ? text : "", Math.min(Number.isFinite(sentAt) ? sentAt : Date.now(), Date.now()));
  item.append(" ", reports.menu(people.name(message.sender), { message: message.id, sender: message.sender, evidence: opened.evidence }));
  if (roles.get(myID) === "counsellor" && !roles.has(message.sender)) {
    item.append(" ", ...callOffers.buttons(message.sender));
  }
  announcePrivateMessage(message.sender, item);
}

// A private message out of sight is announced where the member is looking, with a way to it.
function announcePrivateMessage(sender, item) {
  const box = item.getBoundingClientRect();
  if (item.offsetParent !== null && box.top >= 0 && box.bottom <= window.innerHeight) return;
  $("direct-notice").textContent = t("newPrivateMessageNotice", { name: people.name(sender) });
  $("direct-notice").hidden = false;
  $("direct-notice").onclick = () => {
    $("direct-notice").hidden = true;
    setDrawer(true);
    item.scrollIntoView({ block: "center" });
  };
}

// A moderation action is applied only if it verifies: signed by its moderator, whose proof (sent
// with it) chains to the organisation key as staff or an appointed moderator. A forged deletion or
// suspension changes nothing.
function verifiedModeration(frame) {
  const { action, by } = frame;
  return Boolean(by && by.member === action.moderator && protocol.verifyAction(action) && staff.role(by));
}

let suspendedUntil = 0;   // milliseconds: this member may not post before then
let banned = null;         // what this member was told of their ban, once it happened

// An action concerning this member is said to them in plain words, with the moderator's reason.
function moderated(action) {
  const mine = action.target === myID;
  const reason = typeof action.reason === "string" && action.reason.trim() ? action.reason.trim() : null;
  const time = new Date((action.until ?? 0) * 1000).toLocaleTimeString(locale, { hour: "2-digit", minute: "2-digit" });
  const said = (plain, withReason) => t(reason ? withReason : plain, { reason, time });
  if (action.kind === "deleteMessage") {
    for (const item of document.querySelectorAll(`#messages li[data-id="${CSS.escape(action.message)}"]`)) {
      item.replaceChildren(Object.assign(document.createElement("em"), { textContent: mine && reason ? t("yourMessageRemovedReason", { reason }) : t("messageRemovedByModerator") }));
    }
  } else if (action.kind === "suspend" && mine) {
    suspendedUntil = action.until * 1000;
    setTimeout(updateComposer, Math.max(0, suspendedUntil - Date.now()) + 1000);
    $("status").textContent = said("suspendedNotice", "suspendedNoticeReason");
    updateComposer();
  } else if (action.kind === "remove" && mine) {
    $("status").textContent = said("removedNotice", "removedNoticeReason");
    if (action.room === currentRoom) {
      const item = listItem(said("removedNotice", "removedNoticeReason"));
      item.setAttribute("role", "alert");
      messageList.note(item);
      $("composer").disabled = $("send").disabled = true;
    }
  } else if (action.kind === "ban" && mine) {
    banned = said("bannedNotice", "bannedNoticeReason");
    $("status").textContent = banned;
  }
}

function noteRole(info) {
  const role = people.note(info);
  // This member's own proof goes into the log entries they write, while it holds.
  if (info.member === myID) ownInfo = role && (info.staff || info.appointment) ? info : null;
  // Staff coming back on this device: the room's member list carries their verified chain.
  if (info.member === myID && role && role !== ownRole) showOwnRole(role);
}

// "N here" on a room's button: the server's count in the list, then this page's own count of the
// members online once it is in the room (kept current as people come and go).
function showHereCount(room, button = document.querySelector(`#rooms button[data-room="${CSS.escape(room)}"]`)) {
  if (!button) return;
  const state = rooms.states.get(room);
  const here = state?.subscribed ? state.online.size : Number(button.dataset.online ?? 0);
  button.textContent = t("roomHere", { room: button.dataset.name, count: here });
}

function showOwnRole(role) {
  ownRole = role;
  $("accept-calls-label").hidden = role === "counsellor";   // counsellors call; they are not called
  send({ type: "listRooms" });
  $("reports-section").hidden = false;
  help.hide();
  $("offer-calls-label").hidden = role !== "counsellor";
  callOffers.sendPreferences();
  callOffers.show();
}

let focusWhenReady = false;   // a room was just entered: the composer takes focus once it can be used

function updateComposer() {
  $("composer").disabled = $("send").disabled = !currentRoom || !rooms.canSend(currentRoom) || Date.now() < suspendedUntil || Boolean(banned);
  if (focusWhenReady && !$("composer").disabled) {
    focusWhenReady = false;
    $("composer").focus();
  }
}

const warningKeys = {
  forked: "warningForked", entryRefused: "warningEntryRefused", counterRepeated: "warningCounterRepeated",
  messagesWithheld: "warningMessagesWithheld", keyMismatch: "warningKeyMismatch", notEntitled: "warningNotEntitled",
  rewritten: "warningRewritten", behind: "warningBehind",
};
const warningText = (kind) => (Object.hasOwn(warningKeys, kind) ? t(warningKeys[kind]) : null);
const warned = new Set();    // room, kind and member of each warning shown, so each is said once

// What the browser noticed that did not check out, said once in the room in plain words.
function warn(room, warning) {
  const text = warningText(warning.kind);
  const key = `${room} ${warning.kind} ${warning.sender ?? ""}`;
  if (room !== currentRoom || !text || warned.has(key)) return;
  warned.add(key);
  const item = Object.assign(document.createElement("li"), { className: "warning", textContent: `⚠ ${text}` });
  item.setAttribute("role", "alert");
  messageList.note(item);
}

// How many people can read the room (its verified log's members: whoever holds its key, here
// or not), how many are here now, and who became a reader since this device last looked (worked
// out once per visit, when this member's own place in the room is settled).
const newSinceLastVisit = new Map();   // room -> names, for this visit
function showReaders(room) {
  if (room !== currentRoom) return;
  const log = rooms.state(room).keyring.log;
  if (!log.members.has(myID)) return;
  const seenKey = `haven.seen.${room}`;
  if (!newSinceLastVisit.has(room)) {
    const seen = JSON.parse(storage.getItem(seenKey) ?? "null");
    const fresh = seen ? [...log.members].filter((member) => member !== myID && !seen.includes(member)) : [];
    const known = fresh.filter((member) => names.has(member)).map((member) => names.get(member));
    const others = fresh.length - known.length;
    newSinceLastVisit.set(room, [...known, ...(others > 0 ? [t("othersCount", { count: others })] : [])].join(", "));
  }
  storage.setItem(seenKey, JSON.stringify([...log.members]));
  const here = rooms.state(room).online.size || 1;
  const readers = t(log.mode === "open" ? "readersOpen" : "readers", { count: log.members.size, here });
  const newcomers = newSinceLastVisit.get(room);
  $("readers").textContent = newcomers ? `${readers} ${t("newSinceLastLooked", { names: newcomers })}` : readers;
}

// Messages under a key nobody online could share with this member stay unreadable: said once,
// plainly, when this member starts the room's next key itself.
function noteUnreadableHistory(room, change) {
  if (change.kind !== "epochStarted" || change.record.author !== myID || room !== currentRoom) return;
  const state = rooms.state(room);
  const unreadable = state.waiting.filter((frame) => frame.envelope.epoch < change.record.epoch);
  if (unreadable.length === 0) return;
  state.waiting = state.waiting.filter((frame) => frame.envelope.epoch >= change.record.epoch);
  messageList.note(listItem(t("earlierMessagesPrivate")));
}



function show(frame) {
  const env = frame.envelope;
  // Once on screen is enough: after a reconnect the server resumes from this page's position, and
  // a message that was already here (this member's own, say) is not shown again.
  if (document.querySelector(`#messages li[data-id="${CSS.escape(env.id)}"]`)) return;
  const state = rooms.state(env.room);
  const opened = state.keyring.open(env);
  if (opened.kind === "needsKey") { state.waiting.push(frame); return; }
  if (opened.kind === "refused") { if (opened.warning) warn(env.room, opened.warning); return; }
  opened.warnings.forEach((warning) => warn(env.room, warning));
  render(env, opened.body);
}

function render(env, plaintext) {
  let text, attachment, name, sentAt, reply;
  try { ({ text, attachment, name, sentAt, reply } = JSON.parse(decoder.decode(plaintext))); } catch { return; }
  text = typeof text === "string" ? text : "";
  // The sender signed their name inside the message: past senders keep their names.
  if (typeof name === "string" && !nameProblem(name) && !names.has(env.sender)) people.setName(env.sender, name);
  const item = document.createElement("li");
  item.dataset.id = env.id;
  if (env.sender === myID) item.classList.add("mine");
  const who = document.createElement("span");
  who.className = "who";
  who.append(people.nameLabel(env.sender));
  if (env.sender !== myID) {
    who.tabIndex = 0;
    who.setAttribute("role", "button");
    who.title = t("messagePrivatelyButton");
    who.addEventListener("click", () => writePrivatelyTo(env.sender));
    who.addEventListener("keydown", (event) => { if (event.key === "Enter") writePrivatelyTo(env.sender); });
  }
  who.append(" ", people.badge(env.sender));
  const body = document.createElement("span");
  body.className = "text";
  body.append(...linkedText(document, text));
  // The sender's clock places the message, but never later than now.
  const at = Math.min(Number.isFinite(sentAt) ? sentAt : Date.now(), Date.now());
  item.append(who, timeLabel(document, at), " ");
  if (typeof reply?.id === "string") item.append(quote(reply.id));
  item.append(body);
  for (const video of youTubeVideos(text)) item.append(youTubeCard(document, video));
  if (attachment) item.append(attachments.view(attachment));
  shownMessages.set(env.id, { text, sender: env.sender });
  if (roles.has(myID) && env.sender !== myID) item.append(" ", staffTools.menu(env));
  if (roles.get(myID) === "counsellor" && env.sender !== myID && !roles.has(env.sender)) {
    item.append(" ", ...callOffers.buttons(env.sender));
  }
  item.append(" ", replyButton(env.id, env.sender));
  if (env.sender !== myID) {
    // A visible way to talk to this person alone (tapping the name does the same).
    const privately = Object.assign(document.createElement("button"), { className: "privately", textContent: t("messagePrivatelyButton") });
    privately.setAttribute("aria-label", t("messagePrivatelyLabel", { name: people.name(env.sender) }));
    privately.addEventListener("click", () => writePrivatelyTo(env.sender));
    item.append(" ", privately);
  }
  if (!roles.has(myID) && env.sender !== myID) {
    item.append(" ", reports.menu(people.name(env.sender), { room: env.room, message: env.id, sender: env.sender }));
  }
  messageList.add(item, at, { mine: env.sender === myID });
  return item;
}

// A reply quotes the message as this page showed it (never the replier's account of it); a
// message this page never showed is only pointed at.
function quote(id) {
  const original = shownMessages.get(id);
  const block = Object.assign(document.createElement("blockquote"), { className: "quote" });
  block.textContent = original
    ? t("quotedMessage", { name: people.name(original.sender), text: excerpt(original.text) })
    : t("quotedUnknown");
  return block;
}
const excerpt = (text) => (text.length > 120 ? `${text.slice(0, 120)}…` : text);

// "Reply": the next message quotes this one, said above the message box until sent or cancelled.
let replyingTo = null;
function replyButton(id, sender) {
  const button = Object.assign(document.createElement("button"), { className: "reply", textContent: t("replyButton") });
  button.setAttribute("aria-label", t("replyToLabel", { name: people.name(sender) }));
  button.addEventListener("click", () => {
    replyingTo = id;
    $("replying-text").textContent = t("replyingTo", { name: people.name(sender), text: excerpt(shownMessages.get(id)?.text ?? "") });
    $("replying").hidden = false;
    $("composer").focus();
  });
  return button;
}
$("replying-cancel").addEventListener("click", () => {
  replyingTo = null;
  $("replying").hidden = true;
  $("composer").focus();
});

// A text over the protocol's 16 KiB could not be stored, and resent after every reconnect it
// would close the connection each time: it is kept in the box, with a word on why.
function tooLong(text) {
  if (encoder.encode(text).length <= 16 * 1024) return false;
  $("status").textContent = t("messageTooLong");
  return true;
}

// Opens the private message box addressed to `member`, and puts the cursor in it.
function writePrivatelyTo(member) {
  directTarget = member;
  $("direct-label").textContent = t("privateMessageTo", { name: people.name(member) });
  $("direct-form").hidden = false;
  setDrawer(true);
  $("direct-composer").focus();
}

function connect() {
  const problem = nameProblem($("pseudonym").value);
  if (problem) {
    $("status").textContent = problem;
    return;
  }
  names.set(myID, $("pseudonym").value);
  storage.setItem("haven.name", $("pseudonym").value);
  $("pseudonym").disabled = $("start").disabled = true;
  $("status").textContent = t("connecting");
  panel.start();
  connection = new Connection({ url: anchors.webSocket, onFrame: received, onDown: connectionLost });
  connection.open();
}

// The connection dropped: what is typed is kept and sent when it is back (the outbox), and the
// page says so while it reconnects by itself.
function connectionLost() {
  $("connection-bar").hidden = false;
  $("status").textContent = t("reconnecting");
  rooms.disconnected();
  calls.disconnected();
}

// Back in: the rooms this page was in are joined again from where it was, private messages
// resume from the last one here, and what waited goes out (the same ids, stored once).
function reconnected() {
  connection.established();
  $("connection-bar").hidden = true;
  for (const room of rooms.rejoining) {
    const join = rooms.joinFrame(room, { private: roomKinds.get(room) === "private", after: cursors.get(room) ?? 0 });
    if (join) send(join);
  }
  outbox.reconnected();
}

function received(frame) {
  if (frame.type === "message" && frame.cursor) cursors.set(frame.envelope.room, Math.max(cursors.get(frame.envelope.room) ?? 0, frame.cursor));
  if (frame.type === "synced" && frame.room && frame.cursor) cursors.set(frame.room, Math.max(cursors.get(frame.room) ?? 0, frame.cursor));
  if (frame.type === "direct" && frame.cursor) directCursor = Math.max(directCursor, frame.cursor);
  if (rooms.received(frame)) return;
  switch (frame.type) {
    case "challenge": {
      if (anchors.serverName && frame.server !== anchors.serverName) {
        $("status").textContent = t("wrongService");
        connection.stop();
        break;
      }
      const signature = sodium.sign(protocol.authSignedBytes(frame.server, unb64(frame.nonce), me.publicKey), me.secretKey);
      send({ type: "auth", member: myID, signature: b64(signature), displayName: $("pseudonym").value });
      break;
    }
    case "welcome":
      $("status").textContent = t("connected");
      // The line lives in the server's memory: after a restart (or a Start from the help button)
      // this member asks again; a place already held is kept.
      if (help.waiting) send({ type: "askCounsellor" });
      callOffers.sendPreferences();
      send({ type: "listRooms" });
      send({ type: "syncDirect", after: directCursor });
      reconnected();
      if (inviteFragment) send({ type: "getInvite", id: b64(unb64(inviteFragment).slice(0, 16)) });
      break;
    case "invite":
      if (!organisationKey) { $("status").textContent = t("inviteMissingKey"); break; }
      try {
        const certificate = protocol.redeemInvite(frame.certificate, unb64(inviteFragment).slice(16), me, organisationKey);
        send({ type: "redeemInvite", certificate });
      } catch (error) { $("status").textContent = error.message; }
      break;
    case "certified":
      noteRole({ member: myID, displayName: $("pseudonym").value, staff: frame.certificate });
      storage.setItem("haven.staff", JSON.stringify(frame.certificate));
      $("status").textContent = t("connectedAsVerified", { role: roleName(frame.certificate.invite.role) });
      // A staff identity is kept (the invite it used works once); staff can untick this.
      panel.remember().catch(() => {});
      break;
    case "rooms":
      frame.rooms.forEach((room) => roomKinds.set(room.room, room.kind));
      $("rooms").replaceChildren(...frame.rooms.filter((room) => config.rooms.length === 0 || config.rooms.includes(room.room) || roles.has(myID)).map((room) => {
        const item = document.createElement("li");
        const button = document.createElement("button");
        button.dataset.room = room.room;
        button.dataset.name = room.name;
        button.dataset.online = room.online;
        showHereCount(room.room, button);
        button.addEventListener("click", () => {
          enterRoomLayout();
          currentRoom = room.room;
          $("room-title").textContent = room.name;
          const join = rooms.joinFrame(room.room, { private: room.kind === "private" });
          if (join) send(join); else { showReaders(room.room); updateComposer(); }
        });
        item.append(button);
        return item;
      }));
      break;
    case "joined": {
      showHereCount(frame.room);
      frame.members.forEach((m) => { names.set(m.member, m.displayName); noteRole(m); callOffers.note(m.member, m.offersCalls); });
      const days = frame.retentionSeconds ? Math.round(frame.retentionSeconds / 86400) : null;
      $("retention").textContent = days ? t("retentionDays", { count: days }) : t("retentionKept");
      break;
    }
    case "memberLeft":
      showHereCount(frame.room);
      if (!rooms.isOnline(frame.member)) callOffers.note(frame.member, false);
      break;
    case "synced":
      if (frame.room) {
        $("status").textContent = t("inRoom", { room: frame.room });
        showReaders(frame.room);
        updateComposer();
        outbox.retry();
      }
      break;
    case "memberJoined": {
      showHereCount(frame.room);
      names.set(frame.member.member, frame.member.displayName);
      noteRole(frame.member);
      callOffers.note(frame.member.member, frame.member.offersCalls);
      break;
    }
    case "message": show(frame); break;
    case "direct": showDirect(frame.message); break;
    case "reports": staffTools.reports($("reports"), frame.reports); break;
    case "audit":
      staffTools.audit($("audit"), frame.actions);
      break;
    case "callSignal": {
      let signal;
      try { signal = protocol.openCallSignal(frame, me); } catch { break; }
      calls.received(signal, frame.message.sender);
      break;
    }
    case "callEnded": calls.serverEnded(frame); break;
    case "callAvailability": callOffers.note(frame.member, frame.offersCalls); break;
    case "turn": turnWaiters.splice(0).forEach((resolve) => resolve(frame)); break;
    case "uploadToken": attachments.tokenArrived(frame); break;
    case "moderated":
      if (!verifiedModeration(frame)) break;
      staffTools.applied(frame.action);
      moderated(frame.action);
      break;
    case "staffRoster": if (staff.adopt(frame.roster)) { people.recheck(noteRole); showOrganisation(); } break;
    case "ack": if (!reports.acknowledged(frame.id)) outbox.acknowledged(frame); break;
    case "availability": help.availability(frame); break;
    case "counsellorQueue": if (roles.get(myID) === "counsellor") inbox.queue(frame.entries); break;
    case "queueTaken": queueTaken(frame); break;
    case "concern": if (roles.get(myID) === "counsellor") inbox.concern(frame); break;
    case "error":
      if (frame.code === "turn_unavailable") { turnWaiters.splice(0).forEach((resolve) => resolve(null)); break; }
      if (frame.call) { calls.refused(frame); break; }
      if (frame.id && (reports.refused(frame) || staffTools.refused(frame) || outbox.refused(frame))) break;
      if (frame.code === "queue_full") { help.refused(t("queueFull")); break; }
      if (frame.code === "banned") {
        connection.stop();   // no reconnecting as this identity
        $("connection-bar").hidden = true;
        $("composer").disabled = $("send").disabled = true;
        banned ??= t("bannedNotice");
        $("status").textContent = banned;
        break;
      }
      $("status").textContent = frame.message;
      break;
  }
}

$("composer-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("composer").value.trim();
  if (!text || !rooms.canSend(currentRoom)) return;
  if (tooLong(text)) return;
  const body = encoder.encode(JSON.stringify({ text, name: names.get(myID), sentAt: Date.now(), ...(replyingTo ? { reply: { id: replyingTo } } : {}) }));
  outbox.post(currentRoom, body);
  replyingTo = null;
  $("replying").hidden = true;
  panel.spoken();
  $("composer").value = "";
});
$("start").addEventListener("click", connect);
$("start").disabled = false;   // ready: the identity, the keys and the page are all set up
$("attach").addEventListener("change", async () => {
  const file = $("attach").files[0];
  if (!file || !rooms.canSend(currentRoom)) return;
  const { attachment, problem } = await attachments.upload(file);
  if (problem) { $("status").textContent = problem; return; }
  outbox.post(currentRoom, encoder.encode(JSON.stringify({ attachment, name: names.get(myID), sentAt: Date.now() })));
  panel.spoken();
  $("attach").value = "";
});
$("load-reports").addEventListener("click", () => { staffTools.looked(); send({ type: "listReports" }); });
$("load-audit").addEventListener("click", () => { if (currentRoom) send({ type: "listAudit", room: currentRoom }); });
$("direct-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("direct-composer").value.trim();
  if (!text || !directTarget || tooLong(text)) return;
  const sentAt = Date.now();
  const body = encoder.encode(JSON.stringify({ text, counter: directCounters.next(directTarget), name: names.get(myID), sentAt, ...(ownInfo ? { staff: ownInfo } : {}) }));
  const message = protocol.sealDirect(body, me, unb64(directTarget), sodium.randomBytes(16), sodium.randomBytes(32));
  outbox.postDirect(message, threads.sent(directTarget, text, sentAt));
  panel.spoken();
  $("direct-composer").value = "";
});
// In a room the conversation is the page; the rest opens from "Rooms and settings".
function enterRoomLayout() {
  focusWhenReady = true;
  document.body.classList.add("in-room");
  document.body.classList.remove("drawer-open");
  $("drawer-toggle").hidden = false;
  $("drawer-toggle").setAttribute("aria-expanded", "false");
}
// On a phone the rest is a sheet over the chat; on a wide screen it sits beside it.
function setDrawer(open) {
  if (!document.body.classList.contains("in-room")) return;
  document.body.classList.toggle("drawer-open", open);
  $("drawer-toggle").setAttribute("aria-expanded", String(open));
}
$("drawer-toggle").addEventListener("click", () => {
  setDrawer(true);
  $("drawer-close").focus();
});
$("drawer-close").addEventListener("click", () => {
  setDrawer(false);
  $("composer").focus();
});



$("crisis-toggle").addEventListener("click", () => {
  const open = $("crisis").hidden;
  $("crisis").hidden = !open;
  $("crisis-toggle").setAttribute("aria-expanded", String(open));
});
new QuickExit({
  window, button: $("quick-exit"), url: config.quickExit ?? "https://www.google.com/",
  leave: () => { panel.leavingNow(); connection?.stop(); for (const key of Object.keys(sessionStorage).filter((name) => name.startsWith("haven."))) sessionStorage.removeItem(key); },
});

const panel = new DevicePanel({
  element: $, device, storage, window, name: () => $("pseudonym").value,
  leaveRooms: () => { if (connection?.isOpen) rooms.leaveAll(); },
  disconnect: () => connection?.stop(),
});

$("anchor-warning").hidden = Boolean(organisationKey);
// Staff coming back on a device that remembers them know their role before the room list comes.
const savedStaff = JSON.parse(storage.getItem("haven.staff") ?? "null");
if (savedStaff?.member === myID) noteRole({ member: myID, displayName: $("pseudonym").value, staff: savedStaff });
if (sessionStorage.getItem("haven.forgotten")) {
  sessionStorage.removeItem("haven.forgotten");
  $("status").textContent = t("forgottenStatus");
}

// Staff can compare this with the fingerprint their operator gave them (`haven keys show`).
function showOrganisation() {
  const roster = staff.roster ? ` ${t("rosterVersion", { version: staff.roster.sequence })}` : "";
  $("organisation").textContent = organisationKey
    ? `${t("organisationFingerprint", { fingerprint: fingerprint(sodium, organisationKey) })}${roster}`
    : t("organisationMissing");
}
showOrganisation();
