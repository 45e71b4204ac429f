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
import { quickExit, forgetVisit, config as settings } from "./safety-first.js";
import { Attachments } from "./attachments.js";
import { StaffTools } from "./staff-tools.js";
import { Threads } from "./threads.js";
import { MessageList } from "./message-list.js";
import { CallOffers } from "./call-offers.js";
import { CounsellorHelp } from "./counsellor-help.js";
import { CounsellorInbox } from "./counsellor-inbox.js";
import { Attention } from "./attention.js";
import { locale, t } from "./strings.js";
import { ReportMenus } from "./report-menu.js";
import { RoomView } from "./room-view.js";
import { Composer } from "./composer.js";
import { PrivateMessages } from "./private-messages.js";
import { Session } from "./session.js";
import { reasonText } from "./reasons.js";

const $ = (id) => document.getElementById(id);
// The page's words, the crisis contacts and quick exit are safety-first.js's: they work before
// this module and the encryption have loaded, and if they never do.
const anchors = readAnchors(document, location, history);
let sodium, config;
try {
  [sodium, config] = await Promise.all([sodiumBytes().then(loadSodium), settings]);
} catch (error) {
  if (!$("status").dataset.problem) $("status").textContent = t("widgetNotLoaded");
  $("crisis").hidden = false;
  $("crisis-toggle").setAttribute("aria-expanded", "true");
  throw error;
}
const protocol = haven(sodium);
const organisationKey = pinnedKey(anchors.organisationKey);
const inviteFragment = anchors.invite;

// The WebAssembly module a provider-hosted widget runs must be the one its page pins.
async function sodiumBytes() {
  const bytes = await (await fetch("./sodium.wasm")).arrayBuffer();
  if (!anchors.sodium) return bytes;
  const digest = `sha512-${btoa(String.fromCharCode(...new Uint8Array(await crypto.subtle.digest("SHA-512", bytes))))}`;
  if (digest !== anchors.sodium) {
    document.getElementById("status").textContent = t("encryptionModuleAltered");
    document.getElementById("status").dataset.problem = "altered";
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
const roomKinds = new Map(); // room -> "support" or "private", from the room list
const send = (frame) => session.send(frame);
const turnWaiters = [];
const rooms = new Rooms({
  sodium, protocol, identity: me, organisationKey, staffNow: (proof, at) => Boolean(staff.role(proof, at ?? undefined)), send, ownInfo: () => ownInfo, storage,
  changed: (room, event) => {
    if (event.kind === "keys") { event.waiting.forEach((frame) => roomView.show(frame)); composer.update(); outbox.restore(room); outbox.retry(); }
    if (event.kind === "warning") { roomView.warn(room, event.warning); composer.update(); }
    if (event.kind === "log") { composer.update(); roomView.readers(room); roomView.unreadableHistory(room, event.change); outbox.retry(); }
  },
});
const threads = new Threads({ document, list: $("direct"), people, storage, reply: (member) => privateMessages.writeTo(member) });
const unsentPrivately = threads.restore(storage.keys());
const attention = new Attention({ document, window, baseTitle: config.name });
const messageList = new MessageList({ document, window, list: $("messages"), jump: $("new-messages") });
const staffTools = new StaffTools({
  document, protocol, people, attention,
  act: (fields) => {
    const action = protocol.moderationAction(fields, me);
    return send({ type: "moderate", action }) ? action.id : null;
  },
  done: (text) => { $("status").textContent = text; },
  roomMessage: (room, id) => roomView.message(room, id),
  showMessage: (id) => { setDrawer(false); roomView.highlight(id); },
});
const reports = new ReportMenus({ document, file: (report) => send({ type: "report", report }), randomID: () => b64(sodium.randomBytes(16)) });
const attachments = new Attachments({ sodium, protocol, document, window, origin: anchors.origin, send });
const outbox = new Outbox({
  rooms, send, render: (envelope, body) => roomView.render(envelope, body), randomID: () => sodium.randomBytes(16), online: () => session.isOpen,
  storage, shown: (room, id) => Boolean(roomView.message(room, id)),
});
const said = (text) => { $("status").textContent = text; };
const composer = new Composer({
  element: $, rooms, outbox, attachments, said, room: () => currentRoom, name: () => names.get(myID),
  spoken: () => panel.spoken(), quoted: (id) => roomView.message(currentRoom, id)?.text,
});
// Before Start the widget asks the server over HTTP how many counsellors are online; after it,
// the session's `availability` frames keep it current.
const help = new CounsellorHelp({
  element: $, openingHours: config.openingHours ?? null,
  ask: () => { if (session.isOpen) send({ type: "askCounsellor" }); else if (!session.started) start(); },
  leave: () => send({ type: "leaveQueue" }),
  open: (member) => privateMessages.writeTo(member),
});
async function checkAvailability() {
  if (session.isOpen) return;
  try { help.availability(await (await fetch(`${anchors.origin}/v1/availability`)).json()); } catch { /* said again in 30 s */ }
  setTimeout(checkAvailability, 30_000);
}
const inbox = new CounsellorInbox({
  document, element: $, people, attention,
  take: (member) => send({ type: "takeFromQueue", member }),
  showMessage: (id) => roomView.highlight(id),
  writeTo: (member) => privateMessages.writeTo(member),
});

// A counsellor took a member from the line: the member sees who (if their proof verifies here)
// and their private thread opens; the counsellor's opens too, addressed to the member.
function queueTaken(frame) {
  if (frame.counsellor.member === myID) {
    if (!names.has(frame.member) && !nameProblem(frame.displayName)) people.setName(frame.member, frame.displayName);
    inbox.took(frame.member);
    return;
  }
  // Only while this member waits: the server cannot make a counsellor turn up unasked.
  if (frame.member !== myID || !help.waiting) return;
  const counsellor = frame.counsellor.member;
  if (!nameProblem(frame.counsellor.displayName)) people.setName(counsellor, frame.counsellor.displayName);
  noteRole(frame.counsellor);
  const verified = roles.get(counsellor) === "counsellor";
  help.taken(counsellor, people.name(counsellor), verified);
  if (verified) {
    threads.note(counsellor, t("counsellorThreadNote", { name: people.name(counsellor) }), "note");
    privateMessages.writeTo(counsellor);
  }
}

const calls = new Calls({
  sodium, protocol, me, send, relayAvailable: Boolean(config.relayAvailable),
  relayOnly: () => config.relayOnlyCalls || (roles.get(myID) !== "counsellor" && !$("direct-calls").checked),
  nameOf: (id) => t(roles.has(id) ? "callPeerVerified" : "callPeerMember", { name: people.name(id), role: roleName(roles.get(id)) }),
  turn: (call) => new Promise((resolve) => { turnWaiters.push(resolve); send({ type: "requestTurn", call }); }),
});
const callOffers = new CallOffers({
  relayAvailable: Boolean(config.relayAvailable),
  document, element: $, storage, people, myID, send, isConnected: () => session.isOpen, start: (member, media) => calls.start(member, media), said,
});
const roomView = new RoomView({
  document, element: $, rooms, people, myID, storage, messageList, staffTools, callOffers, reports, attachments, composer,
  room: () => currentRoom, writeTo: (member) => privateMessages.writeTo(member),
});
const privateMessages = new PrivateMessages({
  element: $, window, protocol, sodium, me, myID, people, staff, counters: directCounters, threads, reports, callOffers, outbox, storage, sendFrame: send,
  noteRole: (info) => noteRole(info), ownInfo: () => ownInfo, openDrawer: () => setDrawer(true), fits: (text) => composer.fits(text),
  spoken: () => panel.spoken(), arrived: (sender) => privateMessageArrived(sender),
});
const session = new Session({
  anchors, sodium, protocol, me, rooms, calls, outbox, name: () => $("pseudonym").value,
  roomKind: (room) => roomKinds.get(room), frame: (frame) => received(frame), welcomed: () => welcomed(), said, bar: $("connection-bar"),
  dropped: () => attachments.connectionLost(),
});
// Private messages a page reloaded before they went are sent once it connects, exactly once.
privateMessages.resend(unsentPrivately);
checkAvailability();

// Staff away in another tab hear a private message and see it counted in the tab's title. Members
// do not: a sound or a count could give away, to someone nearby, that they are here.
let unseenPrivate = 0;
function privateMessageArrived(sender) {
  help.wrote(sender);
  if (!roles.has(myID) || !document.hidden) return;
  attention.set("private", ++unseenPrivate);
  attention.chime();
}
document.addEventListener("visibilitychange", () => {
  if (document.hidden) return;
  unseenPrivate = 0;
  attention.set("private", 0);
});

// A moderation action is applied only if it verifies: signed by its moderator, whose proof (sent
// with it) chains to the organisation key as staff or an appointed moderator. A forged deletion or
// suspension changes nothing.
function verifiedModeration(frame) {
  const { action, by } = frame;
  return Boolean(by && by.member === action.moderator && protocol.verifyAction(action) && staff.role(by));
}

let banned = null;         // what this member was told of their ban, once it happened

// An action concerning this member is said to them in plain words, with the moderator's reason.
function moderated(action) {
  const mine = action.target === myID;
  const reason = typeof action.reason === "string" && action.reason.trim() ? reasonText(action.reason.trim()) : null;
  const time = new Date((action.until ?? 0) * 1000).toLocaleTimeString(locale, { hour: "2-digit", minute: "2-digit" });
  const told = (plain, withReason) => t(reason ? withReason : plain, { reason, time });
  if (action.kind === "deleteMessage") {
    roomView.deleted(action, reason);
    outbox.forget(action.message);   // stored and deleted: a copy kept from before a reload must not bring it back
  } else if (action.kind === "suspend" && mine) {
    $("status").textContent = told("suspendedNotice", "suspendedNoticeReason");
    composer.suspend(action.until * 1000);
  } else if (action.kind === "remove" && mine) {
    $("status").textContent = told("removedNotice", "removedNoticeReason");
    if (action.room === currentRoom) {
      roomView.note(told("removedNotice", "removedNoticeReason"), { alert: true });
      $("composer").disabled = $("send").disabled = true;
    }
  } else if (action.kind === "ban" && mine) {
    banned = told("bannedNotice", "bannedNoticeReason");
    $("status").textContent = banned;
    composer.ban();
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
  document.body.dataset.role = role;   // for whoever looks at the page: this device is verified staff
  $("accept-calls-label").hidden = role === "counsellor";   // counsellors call; they are not called
  $("staff-only-messages-label").hidden = Boolean(role);   // staff hear from the members they help
  privateMessages.sendPreferences();
  send({ type: "listRooms" });
  $("reports-section").hidden = false;
  help.hide();
  $("offer-calls-label").hidden = role !== "counsellor";
  callOffers.sendPreferences();
  callOffers.show();
}

let enterWhenListed = false;   // Start was pressed: the default room opens when the list comes

// Start: the name is checked, kept, and the session begins.
function start() {
  const problem = nameProblem($("pseudonym").value);
  if (problem) {
    said(problem);
    return;
  }
  names.set(myID, $("pseudonym").value);
  storage.setItem("haven.name", $("pseudonym").value);
  $("pseudonym").disabled = $("start").disabled = true;
  // Staff redeeming an invite enter once certified, so the room knows them as staff from the start.
  enterWhenListed = !inviteFragment;
  panel.start();
  session.start();
}

function defaultRoomButton() {
  const listed = [...$("rooms").querySelectorAll("button")];
  return listed.find((button) => button.dataset.room === config.rooms[0]) ?? listed.find((button) => button.dataset.kind === "support");
}

// Logged in (again): the rest of what the page asks for, and its settings.
function welcomed() {
  // The line lives in the server's memory: after a restart (or a Start from the help button)
  // this member asks again; a place already held is kept.
  if (help.waiting) send({ type: "askCounsellor" });
  callOffers.sendPreferences();
  privateMessages.sendPreferences();
  if (inviteFragment) send({ type: "getInvite", id: b64(unb64(inviteFragment).slice(0, 16)) });
}

// Every frame the session does not handle itself, each to the part of the page it is for.
function received(frame) {
  switch (frame.type) {
    case "invite": redeem(frame); break;
    case "certified": certified(frame); break;
    case "rooms": listRooms(frame); break;
    case "joined":
      showHereCount(frame.room);
      frame.members.forEach((member) => memberArrived(member));
      showRetention(frame.retentionSeconds);
      break;
    case "memberJoined":
      showHereCount(frame.room);
      roomView.readers(frame.room);
      memberArrived(frame.member);
      break;
    case "memberLeft":
      showHereCount(frame.room);
      roomView.readers(frame.room);
      if (!rooms.isOnline(frame.member)) callOffers.note(frame.member, false);
      break;
    case "synced":
      if (!frame.room) break;
      said(t("inRoom", { room: document.querySelector(`#rooms button[data-room="${CSS.escape(frame.room)}"]`)?.dataset.name ?? frame.room }));
      roomView.readers(frame.room);
      composer.update();
      outbox.roomSynced(frame.room);
      outbox.retry();
      break;
    case "message": roomView.show(frame); break;
    case "direct": privateMessages.received(frame.message); break;
    case "reports": staffTools.reports($("reports"), frame, $("older-reports")); break;
    case "audit": staffTools.audit($("audit"), frame, $("older-audit")); break;
    case "callSignal": callSignal(frame); break;
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
    case "error": refused(frame); break;
  }
}

// A staff invite this page opened: redeemed for this device's key, against the pinned key.
function redeem(frame) {
  if (!organisationKey) { said(t("inviteMissingKey")); return; }
  try {
    send({ type: "redeemInvite", certificate: protocol.redeemInvite(frame.certificate, unb64(inviteFragment).slice(16), me, organisationKey) });
  } catch (error) { said(error.message); }
}

function certified(frame) {
  noteRole({ member: myID, displayName: $("pseudonym").value, staff: frame.certificate });
  storage.setItem("haven.staff", JSON.stringify(frame.certificate));
  said(t("connectedAsVerified", { role: roleName(frame.certificate.invite.role) }));
  enterWhenListed = !currentRoom;
  // A staff identity is kept (the invite it used works once); staff can untick this.
  panel.remember().catch(() => {});
}

// The rooms this page offers (the operator's choice; staff see every one), each a button that
// enters it; after Start the member lands in the default room (the operator's first, or the
// first support room), the message box ready.
function listRooms(frame) {
  frame.rooms.forEach((room) => roomKinds.set(room.room, room.kind));
  const shown = frame.rooms.filter((room) => config.rooms.length === 0 || config.rooms.includes(room.room) || roles.has(myID));
  $("rooms").replaceChildren(...shown.map((room) => {
    const item = document.createElement("li");
    const button = document.createElement("button");
    Object.assign(button.dataset, { room: room.room, name: room.name, online: room.online, kind: room.kind });
    showHereCount(room.room, button);
    button.addEventListener("click", () => enterRoom(room));
    item.append(button);
    return item;
  }));
  if (enterWhenListed && !currentRoom) defaultRoomButton()?.click();
  enterWhenListed = false;
}

function enterRoom(room) {
  enterRoomLayout();
  currentRoom = room.room;
  document.body.dataset.room = room.room;
  $("room-title").textContent = room.name;
  const join = rooms.joinFrame(room.room, { private: room.kind === "private" });
  if (join) send(join); else { roomView.readers(room.room); composer.update(); }
}

function memberArrived(info) {
  names.set(info.member, info.displayName);
  noteRole(info);
  callOffers.note(info.member, info.offersCalls);
}

function showRetention(seconds) {
  const days = seconds ? Math.round(seconds / 86400) : null;
  $("retention").textContent = days ? t("retentionDays", { count: days }) : t("retentionKept");
}

function callSignal(frame) {
  let opened;
  try { opened = protocol.openCallSignal(frame, me); } catch { return; }
  calls.received(opened.signal, opened.sender);
}

// The server refused something: said next to what it concerns where there is such a place (a
// message, a report, an action, a call), plainly in the status line otherwise.
function refused(frame) {
  if (["turn_unavailable", "no_call"].includes(frame.code)) { turnWaiters.splice(0).forEach((resolve) => resolve(null)); return; }
  if (frame.code === "too_many_tokens") { attachments.tokenRefused(); return; }
  if (frame.call) { calls.refused(frame); return; }
  if (frame.id && (reports.refused(frame) || staffTools.refused(frame) || outbox.refused(frame))) return;
  if (frame.code === "queue_full") { help.refused(t("queueFull")); return; }
  if (frame.code === "rate_limited") {
    // Said in the page's words; a place in the line asked for too fast can be asked for again.
    if (!frame.room && help.waiting) help.refused(t("queueSlowDown")); else said(t("slowDown"));
    return;
  }
  // The database was away for a moment: before the welcome the login was not stored (the page
  // connects again by itself); after it, whatever was asked can be asked again.
  if (frame.code === "store_failed") { said(t(document.body.dataset.session === "open" ? "notSavedTryAgain" : "loginNotRecorded")); return; }
  // The login was turned back for want of a proof of work: the server closes the connection, and
  // the page, connecting again by itself, shows one this time.
  if (frame.code === "proof_required") { session.forgotten(); return; }
  if (frame.code === "banned") {
    session.stop();   // no reconnecting as this identity
    composer.ban();
    banned ??= t("bannedNotice");
    said(banned);
    return;
  }
  said(frame.message);
}

$("start").addEventListener("click", start);
$("pseudonym").addEventListener("keydown", (event) => { if (event.key === "Enter" && !$("start").disabled) start(); });
$("start").disabled = false;   // ready: the identity, the keys and the page are all set up
$("load-reports").addEventListener("click", () => { staffTools.looked(); send({ type: "listReports" }); });
$("older-reports").addEventListener("click", () => send(staffTools.olderPage()));
$("load-audit").addEventListener("click", () => { if (currentRoom) send({ type: "listAudit", room: currentRoom }); });
$("older-audit").addEventListener("click", () => send(staffTools.olderAudit()));
// In a room the conversation is the page; the rest opens from "Rooms and settings".
function enterRoomLayout() {
  composer.entering();
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



quickExit.leave = () => { panel.leavingNow(); session.stop(); forgetVisit(); };

const panel = new DevicePanel({
  element: $, device, storage, window, name: () => $("pseudonym").value,
  leaveRooms: () => { if (session.isOpen) rooms.leaveAll(); },
  disconnect: () => session.stop(),
});

$("anchor-warning").hidden = Boolean(organisationKey);
// An invite link is for staff: their page offers no line to a counsellor, and the name they type
// is the one members will see next to their badge.
if (inviteFragment) {
  help.hide();
  if (!storage.getItem("haven.name")) $("pseudonym").value = "";
  said(t("inviteStartHint"));
}
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
