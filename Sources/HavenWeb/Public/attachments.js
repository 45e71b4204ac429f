// Images and PDFs, end to end encrypted: encrypted here with secretstream under a fresh key before
// upload, fetched as ciphertext and decrypted here; the key travels inside the encrypted message.
// The file is padded to its bucket before it is encrypted (docs/crypto.md, "Padding"), so the
// stored blob's size does not single out a known image or PDF.
import { b64, unb64, paddedSize } from "./haven-protocol.js";
import { t } from "./strings.js";

const allowedTypes = ["image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"];
const chunkSize = 65536;
const largest = 10 * 1024 * 1024;
// Refusals the member can act on, in their words; anything else is "could not be uploaded". A
// token refused (401) is a browser resending an upload cut by a dropped connection.
const uploadProblems = {
  too_many_uploads: "attachmentTooMany", attachment_quota: "attachmentQuotaFull", attachments_full: "attachmentsFull",
  uploads_busy: "attachmentsBusy",
  unauthorized: "attachmentConnectionLost",
};

export class Attachments {
  /** `origin` is the Haven server's ("" for this page's), `send(frame)` asks the server for a token. */
  constructor({ sodium, protocol, document, window, origin, send }) {
    // `token`: the one downloads share until it nears its end; `fetching`: its request, while on
    // its way (so many attachments on screen ask once); `waiters`: requests in the order sent.
    Object.assign(this, { sodium, protocol, document, window, origin, send, token: null, fetching: null, waiters: [] });
  }

  /** The server's `uploadToken` frame: the answer to the oldest request. */
  tokenArrived(frame) { this.waiters.shift()?.(frame); }

  /** The server refused the oldest request for a token. */
  tokenRefused() { this.waiters.shift()?.(null); }

  /** The connection dropped: requests on it will not be answered. */
  connectionLost() {
    this.waiters.splice(0).forEach((resolve) => resolve(null));
    this.token = null;
    this.fetching = null;
  }

  /** A token, or null when there is none to be had now. */
  requestToken() {
    const answer = new Promise((resolve) => this.waiters.push(resolve));
    if (!this.send({ type: "requestUploadToken" })) this.waiters.pop()(null);
    return answer;
  }

  // For downloads: the shared token, asked for once however many attachments want it.
  async authorization() {
    if (!this.token || this.token.expires <= Date.now()) {
      this.fetching ??= this.requestToken().then((frame) => {
        this.token = frame && { value: frame.token, expires: Date.now() + (frame.expiresIn - 30) * 1000 };
        this.fetching = null;
      });
      await this.fetching;
    }
    if (!this.token) throw new Error("no attachment token");
    return { Authorization: `Bearer ${this.token.value}` };
  }

  /** Encrypts and uploads `file`; returns the descriptor for the message, or a reason it was not sent. */
  async upload(file) {
    if (!allowedTypes.includes(file.type)) return { problem: t("attachmentWrongKind", { name: file.name }) };
    if (file.size > largest) return { problem: t("attachmentTooLarge", { name: file.name, size: Math.ceil(file.size / 1048576) }) };
    const fileKey = this.sodium.randomBytes(32);
    const padded = this.protocol.pad(new Uint8Array(await file.arrayBuffer()));
    const { header, ciphertext } = this.sodium.streamEncrypt(padded, fileKey, chunkSize);
    // A token uploads once: each upload has its own, and downloads keep theirs.
    const granted = await this.requestToken();
    if (!granted) return { problem: t("attachmentConnectionLost", { name: file.name }), retry: true };
    const { token } = granted;
    let response;
    try {
      response = await fetch(`${this.origin}/v1/blobs`, { method: "POST", body: ciphertext, headers: { Authorization: `Bearer ${token}` } });
    } catch {
      return { problem: t("attachmentConnectionLost", { name: file.name }), retry: true };
    }
    if (!response.ok) {
      const code = await response.json().then((body) => body.error).catch(() => null);
      // A proxy in front answers a dropped upload itself, without Haven's words: the connection.
      const problem = uploadProblems[code] ?? (!code && [502, 503, 504].includes(response.status) ? "attachmentConnectionLost" : "attachmentUploadFailed");
      return { problem: t(problem, { name: file.name }), retry: code !== "attachment_quota" };
    }
    const { blob } = await response.json();
    return { attachment: { blob, key: b64(fileKey), header: b64(header), size: file.size, chunkSize, mediaType: file.type, name: file.name.slice(0, 200) } };
  }

  /** A box that fetches, decrypts and shows an attachment: images inline, PDFs on request. */
  view(descriptor) {
    const box = this.document.createElement("div");
    box.className = "attachment";
    const { name } = descriptor;
    box.textContent = t("attachmentLoading", { name });
    const load = async () => {
      box.textContent = t("attachmentLoading", { name });
      // A connection that drops, before the answer or in the middle of it, is said as such, with
      // a way to try again; "could not be decrypted" is kept for what does not decrypt.
      let ciphertext;
      try {
        const response = await fetch(`${this.origin}/v1/blobs/${descriptor.blob}`, { headers: await this.authorization() });
        if (!response.ok) { box.textContent = t("attachmentGone", { name }); return; }
        // The server's Content-Length is not believed past what the sender's (encrypted) size allows.
        const padded = paddedSize(descriptor.size + 1);
        const most = Math.min(2 * largest, padded + (Math.ceil(padded / descriptor.chunkSize) + 1) * 17);
        ciphertext = await readShowingProgress(response, most, (percent) => { box.textContent = t("attachmentLoadingPercent", { name, percent }); });
      } catch {
        const retry = Object.assign(this.document.createElement("button"), { textContent: t("attachmentRetryButton") });
        retry.addEventListener("click", () => { load(); });
        box.replaceChildren(t("attachmentNotLoaded", { name }), " ", retry);
        return;
      }
      const stream = this.sodium.streamDecrypt(ciphertext, unb64(descriptor.header), unb64(descriptor.key), descriptor.chunkSize);
      // A file sent before padding existed is exactly its size; any other is padded to its bucket.
      const bytes = stream.length === descriptor.size ? stream : this.protocol.unpad(stream);
      if (bytes.length !== descriptor.size || !allowedTypes.includes(descriptor.mediaType)) { box.textContent = t("attachmentRefused"); return; }
      const url = URL.createObjectURL(new Blob([bytes], { type: descriptor.mediaType }));
      if (descriptor.mediaType.startsWith("image/")) {
        box.replaceChildren(Object.assign(this.document.createElement("img"), { src: url, alt: descriptor.name }));
      } else {
        const open = Object.assign(this.document.createElement("button"), { textContent: t("openAttachmentButton", { name }) });
        open.addEventListener("click", () => this.window.open(url, "_blank", "noopener"));
        box.replaceChildren(open);
      }
    };
    load().catch(() => { box.textContent = t("attachmentUndecryptable", { name }); });
    return box;
  }
}

/** The body of `response`, refused past `most` bytes or past its stated length (a lying server
 *  cannot make the page hold more, with a length or without one), telling `progress(percent)` as
 *  it arrives when its length is known. */
export async function readShowingProgress(response, most, progress) {
  const stated = Number(response.headers.get("Content-Length")) || null;
  if (stated > most) throw new Error("more than the stated length");
  const limit = stated ?? most;
  if (!response.body) {
    const whole = new Uint8Array(await response.arrayBuffer());
    if (whole.length > limit) throw new Error("more than the stated length");
    return whole;
  }
  const parts = [];
  const reader = response.body.getReader();
  let received = 0;
  let shown = -1;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    received += value.length;
    if (received > limit) { reader.cancel(); throw new Error("more than the stated length"); }
    parts.push(value);
    const percent = stated && Math.floor((received * 100) / stated);
    if (stated && percent !== shown) { shown = percent; progress(percent); }
  }
  if (stated && received !== stated) throw new Error("cut short");
  const body = new Uint8Array(received);
  parts.reduce((offset, part) => { body.set(part, offset); return offset + part.length; }, 0);
  return body;
}
