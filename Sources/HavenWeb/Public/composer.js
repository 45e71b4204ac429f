// The room's message box: it is usable only when this member may write in the room now (its key
// held, its log settled, no suspension or ban), takes the focus once a room just entered allows
// it, quotes a message the member replies to, and hands what is written (text or a shared file)
// to the outbox, which keeps it until the server has it.
import { t } from "./strings.js";

const maxTextBytes = 16 * 1024;   // the protocol's limit for a message's text

export class Composer {
  /** `element(id)` finds the box and its parts; `room()` is the room on screen; `rooms` says
   *  whether this member may write there; `outbox.post(room, body)` sends; `attachments`
   *  encrypts and uploads a file; `name()` is this member's name; `said(text)` is the status line;
   *  `spoken()` notes that the member wrote something; `quoted(id)` is the text of a message
   *  on screen. */
  constructor(options) {
    Object.assign(this, options, { encoder: new TextEncoder(), replyingTo: null, focusWhenReady: false, suspendedUntil: 0, banned: false });
    const $ = this.element;
    $("composer-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.sendText();
    });
    $("attach").addEventListener("change", () => this.sendFile());
    $("replying-cancel").addEventListener("click", () => {
      this.stopReplying();
      $("composer").focus();
    });
  }

  /** Whether `text` may be sent; if not, the member is told why (and it stays in the box). A text
   *  over the protocol's limit could not be stored, and resent after every reconnect it would
   *  close the connection each time. */
  fits(text) {
    if (this.encoder.encode(text).length <= maxTextBytes) return true;
    this.said(t("messageTooLong"));
    return false;
  }

  /** A room was just entered: the box takes the focus as soon as it can be used. */
  entering() { this.focusWhenReady = true; }

  /** A suspension until `until` (milliseconds) or a ban: the box stays closed. */
  suspend(until) {
    this.suspendedUntil = until;
    setTimeout(() => this.update(), Math.max(0, until - Date.now()) + 1000);
    this.update();
  }

  ban() { this.banned = true; this.update(); }

  /** Opens or closes the box as the room now allows. */
  update() {
    const $ = this.element;
    const room = this.room();
    $("composer").disabled = $("send").disabled = !room || !this.rooms.canSend(room) || Date.now() < this.suspendedUntil || this.banned;
    if (this.focusWhenReady && !$("composer").disabled) {
      this.focusWhenReady = false;
      $("composer").focus();
    }
  }

  /** The next message quotes message `id` from `name`. */
  replyTo(id, name) {
    const $ = this.element;
    this.replyingTo = id;
    const text = this.quoted(id) ?? "";
    $("replying-text").textContent = t("replyingTo", { name, text: text.length > 120 ? `${text.slice(0, 120)}…` : text });
    $("replying").hidden = false;
    $("composer").focus();
  }

  stopReplying() {
    this.replyingTo = null;
    this.element("replying").hidden = true;
  }

  sendText() {
    const box = this.element("composer");
    const text = box.value.trim();
    const room = this.room();
    if (!text || !this.rooms.canSend(room) || !this.fits(text)) return;
    this.post(room, { text, ...(this.replyingTo ? { reply: { id: this.replyingTo } } : {}) });
    this.stopReplying();
    box.value = "";
  }

  // The file goes out (or is said not to, beside the picker, which is cleared either way so the
  // same file can be picked again).
  async sendFile() {
    const input = this.element("attach");
    const file = input.files[0];
    input.value = "";
    if (file) await this.upload(file, this.room());
  }

  // Each file has its own line under the picker, so one finishing never wipes out what another
  // says. A file that could not go out because of the connection or a busy server keeps a "Try
  // again" that sends the same file, so nobody has to find it again.
  async upload(file, room, line = null) {
    const status = line ?? this.element("attach-status").appendChild(this.element("attach-status").ownerDocument.createElement("p"));
    status.textContent = t("attachmentSending", { name: file.name });
    let outcome;
    if (!this.rooms.canSend(room)) {
      // Offline, or the room's key is changing hands: said, with "Try again", never a dead click.
      outcome = { problem: t("attachmentConnectionLost", { name: file.name }), retry: true };
    } else {
      try {
        outcome = await this.attachments.upload(file);
      } catch {
        outcome = { problem: t("attachmentUploadFailed", { name: file.name }), retry: true };
      }
    }
    if (outcome.attachment) {
      status.remove();
      this.post(room, { attachment: outcome.attachment });
      return;
    }
    const close = Object.assign(status.ownerDocument.createElement("button"), { type: "button", textContent: t("attachmentDismissButton") });
    close.addEventListener("click", () => status.remove());
    if (!outcome.retry) {
      status.replaceChildren(outcome.problem, " ", close);
      return;
    }
    const again = Object.assign(status.ownerDocument.createElement("button"), { type: "button", textContent: t("attachmentRetryButton") });
    again.addEventListener("click", () => { this.upload(file, room, status); });
    status.replaceChildren(outcome.problem, " ", again, " ", close);
  }

  // The sender's name and clock go inside the encrypted body, signed with it.
  post(room, fields) {
    this.outbox.post(room, this.encoder.encode(JSON.stringify({ ...fields, name: this.name(), sentAt: Date.now() })));
    this.spoken();
  }
}
